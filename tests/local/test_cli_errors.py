"""Bad input to the CLI ends in one line naming what is wrong (exit 2 for usage, 1 otherwise), never a traceback,
and a bad parameter is refused before any step runs."""

from __future__ import annotations

import io
import tarfile

import pytest

from pipelines.cli.main import main
from tests.local.conftest import precompile


def one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(("assignment", "message"), [
    ("MapThreshold=nan", "parameter MapThreshold: nan is not allowed: must be a finite number"),
    ("MapThreshold=inf", "parameter MapThreshold: inf is not allowed: must be a finite number"),
    ("MapThreshold=-5", "parameter MapThreshold: -5.0 is not allowed: Input should be greater than or equal to 0"),
    ("Epochs=0", "parameter Epochs: 0 is not allowed: Input should be greater than or equal to 1"),
    ("ImageSize=33", "parameter ImageSize: 33 is not allowed: Input should be a multiple of 32"),
    ("BatchSize=0", "parameter BatchSize: 0 is not allowed: Input should be greater than or equal to 1"),
])
def test_out_of_bounds_parameters_are_refused_before_any_step(factory_definition, state_dir, capsys, assignment,
                                                              message):
    precompile(state_dir, factory_definition)
    assert main(["run", "--local", "--state-dir", str(state_dir), "--param", assignment]) == 2
    assert one_line(capsys) == f"error: {message}"
    assert not (state_dir / "executions").exists() and not (state_dir / "store").exists()


def test_start_checks_the_same_bounds_before_calling_aws(factory_definition, capsys, monkeypatch):
    from pipelines import aws

    monkeypatch.setattr(aws, "client", lambda *a, **k: pytest.fail("no AWS call for a bad parameter"))
    assert main(["start", "--param", "ImageSize=33"]) == 2
    assert one_line(capsys) == "error: parameter ImageSize: 33 is not allowed: Input should be a multiple of 32"


@pytest.mark.parametrize(("value", "message"), [
    ("yes", "parameters.epochs: True is not allowed: Input should be a valid integer"),
    ("!!python/object/apply:os.system [echo]", "--set 'parameters.epochs=!!python/object/apply:os.system [echo]': "
                                               "the value is not a plain YAML scalar (ConstructorError)"),
])
def test_set_does_not_turn_a_boolean_or_a_yaml_tag_into_a_value(capsys, value, message):
    assert main(["definition", "--set", f"parameters.epochs={value}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_s3_uri_that_climbs_out_of_its_bucket_is_one_line(factory_definition, state_dir, capsys):
    precompile(state_dir, factory_definition)
    assert main(["run", "--local", "--state-dir", str(state_dir), "--param",
                 "InputDataUri=s3://bucket/../../etc/"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and [line for line in err.splitlines() if line.startswith("error")] == [
        "error: 's3://bucket/../../etc/' is not an S3 URI local mode can map (s3://bucket/key)"]


def test_an_archive_that_cannot_be_extracted_is_one_line(tmp_path, capsys):
    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as archive:
        member = tarfile.TarInfo("../outside.txt")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(escaping.read_bytes()[:40])
    assert main(["serve", "--model", str(escaping)]) == 2
    assert "would be extracted to" in one_line(capsys)
    assert main(["serve", "--model", str(truncated)]) == 2
    assert "not a model archive that can be extracted safely" in one_line(capsys)


def test_a_failed_file_operation_is_one_line(capsys):
    assert main(["sample-data", "--out", "/dev/null/data"]) == 1
    assert one_line(capsys) == "error: Not a directory: /dev/null/data/images"
