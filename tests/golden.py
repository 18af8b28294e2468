"""The golden definition: what the factory emits for a fixed configuration, checked in for review.

Regenerate after a deliberate change (an SDK upgrade shows up as a reviewable diff): ``make golden``.
"""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN_PATH = Path(__file__).with_name("golden_definition.json")

# Fixed image tags keep the golden file about the factory, not about the content of the images.
GOLDEN_OVERRIDES = {
    "role_arn": "arn:aws:iam::123456789012:role/YoloPipelineExecution",
    "images.registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "images.tag": "golden",
    "git_sha": "0123456789abcdef0123456789abcdef01234567",
    "kms_key_id": "alias/yolo-pipelines",
    "tags": {"team": "vision"},
}


def build_golden() -> str:
    from pipelines.config import load_config
    from pipelines.factory import build_pipeline

    return build_pipeline(load_config(overrides=GOLDEN_OVERRIDES, environ={})).definition()


def pretty(definition: str) -> str:
    return json.dumps(json.loads(definition), indent=2) + "\n"


if __name__ == "__main__":
    GOLDEN_PATH.write_text(pretty(build_golden()))
    print(f"wrote {GOLDEN_PATH}")
