"""Model deploy build: the newest Approved model package of the group, as CloudFormation template configurations.

Writes, for each stage, ``<stage>-config-export.json`` ({"Parameters", "Tags"}: the CodePipeline CloudFormation
action's TemplateConfiguration format) from ``<stage>-config.json``, plus ``model.json`` (the class names the smoke
test checks, read from the package's model.tar.gz). "Newest" is by CreationTime over every page of
ListModelPackages (AWS page: "ListModelPackages", SageMaker API Reference). When nothing is approved it exits 1 and
says so: there is nothing to deploy.

    python build.py --model-package-group-name G --sagemaker-project-name P --sagemaker-project-id ID \
        --model-execution-role ARN --artifact-bucket B [--kms-key-arn ARN] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
STAGES = ("staging", "prod")
MAX_MODEL_JSON_BYTES = 1 << 20
PAGE_SIZE = 100  # ListModelPackages' maximum


class NothingToDeploy(RuntimeError):
    """No Approved version in the group."""


def newest_approved(sagemaker, group: str) -> dict:
    """The summary of the newest Approved package of ``group``, whatever page it is on.

    Every page is read and the maximum CreationTime kept: a filtered List call may return empty or partial pages
    before the last one, so the first item of the first page is not a safe answer.

    Raises:
        NothingToDeploy: the group has no Approved version.
    """
    newest = None
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending",
        PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for package in page["ModelPackageSummaryList"]:
            if newest is None or package["CreationTime"] > newest["CreationTime"]:
                newest = package
    if newest is None:
        raise NothingToDeploy(f"model package group {group!r} has no Approved version: approve one "
                              "(yolo-pipeline registry approve VERSION, or SageMaker Studio) to deploy it")
    return newest


def model_json(sagemaker, s3, package_arn: str) -> dict:
    """model.json from the package's model.tar.gz."""
    described = sagemaker.describe_model_package(ModelPackageName=package_arn)
    container = described["InferenceSpecification"]["Containers"][0]
    url = urlparse(container["ModelDataUrl"])
    body = s3.get_object(Bucket=url.netloc, Key=url.path.lstrip("/"))["Body"].read()
    return model_json_from_archive(body, container["ModelDataUrl"])


def model_json_from_archive(body: bytes, source: str) -> dict:
    """model.json from a model.tar.gz's bytes (only that member is read; nothing is extracted to disk).

    Raises:
        NothingToDeploy: the archive holds no model.json.
    """
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
        for member in archive.getmembers():
            if member.isfile() and Path(member.name).name == "model.json" and member.size <= MAX_MODEL_JSON_BYTES:
                source_file = archive.extractfile(member)
                if source_file is not None:
                    return json.load(source_file)
    raise NothingToDeploy(f"{source} holds no model.json: not a TrainYOLO model")


def template_configuration(stage_config: dict, *, stage: str, package_arn: str, args: argparse.Namespace) -> dict:
    """The stage's CloudFormation TemplateConfiguration: its own parameters plus what this build resolved."""
    parameters = {
        **stage_config.get("Parameters", {}),
        "SageMakerProjectName": args.sagemaker_project_name,
        "ModelExecutionRoleArn": args.model_execution_role,
        "ModelPackageName": package_arn,
        "StageName": stage,
        "DataCaptureUploadPath": f"s3://{args.artifact_bucket}/{args.sagemaker_project_name}/datacapture/{stage}",
    }
    if args.kms_key_arn:
        parameters["KmsKeyArn"] = args.kms_key_arn
    tags = {**stage_config.get("Tags", {}), "sagemaker:project-name": args.sagemaker_project_name,
            "sagemaker:project-id": args.sagemaker_project_id}
    return {"Parameters": {k: str(v) for k, v in parameters.items()}, "Tags": tags}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--sagemaker-project-name", required=True)
    parser.add_argument("--sagemaker-project-id", required=True)
    parser.add_argument("--model-execution-role", required=True)
    parser.add_argument("--artifact-bucket", required=True, help="bucket of the data capture")
    parser.add_argument("--kms-key-arn", help="KMS key of the endpoint volume and the data capture")
    parser.add_argument("--config-dir", default=str(HERE), help="where <stage>-config.json are (default: here)")
    parser.add_argument("--output-dir", default=".", help="where the exports go (default: the current directory)")
    parser.add_argument("--region")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session=None) -> int:
    args = parse_args(argv)
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)
    sagemaker = session.client("sagemaker")
    try:
        package = newest_approved(sagemaker, args.model_package_group_name)
        card = model_json(sagemaker, session.client("s3"), package["ModelPackageArn"])
    except NothingToDeploy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stage in STAGES:
        stage_config = json.loads((Path(args.config_dir) / f"{stage}-config.json").read_text())
        exported = template_configuration(stage_config, stage=stage, package_arn=package["ModelPackageArn"],
                                          args=args)
        (out / f"{stage}-config-export.json").write_text(json.dumps(exported, indent=2) + "\n")
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"deploying {package['ModelPackageArn']} (created {package['CreationTime']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
