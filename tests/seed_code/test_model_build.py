"""The model build against moto: the push-or-skip step (an existing content-hash tag is skipped, a new one built and
pushed; the build command is the seam, here a script that records what it was asked to build) and an upsert that
starts no execution."""

from __future__ import annotations

import json
import sys

import boto3
import pytest
from moto import mock_aws

from pipelines.cli.main import main
from pipelines.images import content_hash

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
KMS = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def ecr():
    with mock_aws():
        from pipelines import aws

        aws.boto_session.cache_clear()
        yield boto3.client("ecr", region_name="us-east-1")
        aws.boto_session.cache_clear()


def test_existing_tags_are_skipped_and_new_ones_pushed(ecr, tmp_path, capsys):
    ecr.create_repository(repositoryName="yolo-pipelines-processing", imageTagMutability="IMMUTABLE")
    ecr.put_image(repositoryName="yolo-pipelines-processing", imageManifest=MANIFEST,
                  imageTag=content_hash("processing"))
    log = tmp_path / "built.txt"
    recorder = tmp_path / "build.py"
    recorder.write_text("import sys\nopen(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + '\\n')\n")
    build = f"{sys.executable} {recorder} {log} {{name}} {{tag}} {{registry}}"

    assert main(["publish-images", "--set", f"images.registry={REGISTRY}", "--set", f"kms_key_id={KMS}",
                 "--build-command", build]) == 0
    done = {row["name"]: row["action"] for row in json.loads(capsys.readouterr().out)}
    assert done == {"processing": "skipped", "training": "pushed", "inference": "pushed"}
    assert log.read_text().splitlines() == [f"training {content_hash('training')} {REGISTRY}",
                                            f"inference {content_hash('inference')} {REGISTRY}"]
    created = ecr.describe_repositories(repositoryNames=["yolo-pipelines-training"])["repositories"][0]
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS}


def test_a_failed_build_stops_with_the_command(ecr, capsys):
    assert main(["publish-images", "--set", f"images.registry={REGISTRY}", "--image", "training", "--kms-key", "",
                 "--build-command", f"{sys.executable} -c 'raise SystemExit(3)'"]) == 2
    err = capsys.readouterr().err
    assert "error: building image training:" in err and "failed (exit 3)" in err
    # An empty --kms-key (KMS_KEY_ARN unset in the buildspec) means ECR's AWS managed key, still KMS.
    created = ecr.describe_repositories(repositoryNames=["yolo-pipelines-training"])["repositories"][0]
    assert created["encryptionConfiguration"]["encryptionType"] == "KMS"


def test_a_registry_is_required(ecr, capsys):
    assert main(["publish-images"]) == 2
    assert "publish-images needs the ECR registry" in capsys.readouterr().err


def test_run_pipeline_no_start_only_upserts(ecr):
    from pipelines.cli import run_pipeline

    role = "arn:aws:iam::123456789012:role/R"
    kwargs = json.dumps({"region": "us-east-1", "pipeline_name": "p-yolo11", "images.registry": REGISTRY})
    assert run_pipeline.main(["-n", "pipelines.factory", "--role-arn", role, "--kwargs", kwargs, "--no-start"]) == 0
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    assert sagemaker.describe_pipeline(PipelineName="p-yolo11")["RoleArn"] == role
    assert sagemaker.list_pipeline_executions(PipelineName="p-yolo11")["PipelineExecutionSummaries"] == []
