"""The inference image: a SageMaker-compatible HTTP model server for YOLO11 detectors.

``python3 -m containers.inference.serve serve`` starts gunicorn + Flask on port 8080 (``GET /ping``,
``POST /invocations``); ONNX Runtime on CPU by default, Ultralytics/torch when CUDA is present.
"""
