"""Command-line entry points: ``yolo-pipeline`` and the seed-compatible ``get-pipeline-definition``/``run-pipeline``."""
