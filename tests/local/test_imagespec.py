"""Which local code an image URI means, read from the images' Dockerfiles."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.images import containers_dir
from pipelines.local import UnsupportedConstruct
from pipelines.local.imagespec import image_spec, image_spec_for_uri, infer_repository_prefix, parse_dockerfile

REPO = containers_dir().parent


def test_the_processing_image_runs_its_module_with_the_repository_as_program_dir(tmp_path):
    spec = image_spec_for_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/yolo-pipelines-processing:abc",
                              "yolo-pipelines")
    assert spec.entrypoint == ("python3", "-m", "containers.processing.prepare_data")
    assert spec.command() == [sys.executable, "-m", "containers.processing.prepare_data"]
    assert spec.command(["python3", "-m", "x"], ["--a", "1"]) == [sys.executable, "-m", "x", "--a", "1"]
    assert spec.environment(tmp_path)["PYTHONPATH"] == str(REPO)
    assert spec.workdir == REPO


def test_image_paths_the_build_bakes_move_under_the_image_root(tmp_path):
    environment = image_spec("training").environment(tmp_path / "images" / "training")
    assert environment["YOLO_CONFIG_DIR"] == str(tmp_path / "images" / "training" / "opt" / "ultralytics")
    assert environment["PYTHONPATH"] == str(REPO)
    assert environment["YOLO_OFFLINE"] == "1"


def test_parse_takes_the_last_stage_joins_continuations_and_maps_copies(tmp_path):
    text = """
    FROM builder AS build
    ENTRYPOINT ["/bin/false"]
    ENV IGNORED=1
    FROM python:3.11-slim
    # a comment
    ENV A=1 \\
        B="two words" \\
        PYTHONPATH=/app/src:/usr/lib/extra
    ENV LEGACY value with spaces
    COPY --chown=root src/ /app/src/
    WORKDIR /app/src
    ENTRYPOINT ["python3", "-m", "tool"]
    """
    (tmp_path / "src").mkdir()
    spec = parse_dockerfile(text, "x", tmp_path)
    assert spec.entrypoint == ("python3", "-m", "tool")
    environment = spec.environment(Path("/root-of-x"))
    assert environment == {"A": "1", "B": "two words", "LEGACY": "value with spaces",
                           "PYTHONPATH": f"{tmp_path}/src:/root-of-x/usr/lib/extra"}
    assert spec.workdir == tmp_path / "src"


def test_a_shell_form_entrypoint_cannot_run_locally(tmp_path):
    with pytest.raises(UnsupportedConstruct, match="ENTRYPOINT python3 serve.py is not in exec form"):
        parse_dockerfile("FROM x\nENTRYPOINT python3 serve.py\n", "x", tmp_path)


def test_foreign_images_are_refused_and_the_prefix_is_read_off_the_definition(factory_definition):
    with pytest.raises(UnsupportedConstruct, match="local mode runs only the pipeline's own images"):
        image_spec_for_uri("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5", "yolo-pipelines")
    assert infer_repository_prefix(factory_definition) == "yolo-pipelines"
    assert infer_repository_prefix({"Steps": []}) == ""
