"""Finding and reading the model in /opt/ml/model: model.json variants, model.tar.gz extraction, clear errors."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from containers.inference.model_files import ModelError, extract, read_spec, resolve


def write_model(directory: Path, card: object, weights: tuple[str, ...] = ("best.onnx",)) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.json").write_text(json.dumps(card))
    for name in weights:
        (directory / name).write_bytes(b"weights of " + name.encode())
    return directory


def add(tar: tarfile.TarFile, name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.type = (len(data), kind) if kind == tarfile.REGTYPE else (0, kind)
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(("card", "names", "imgsz"), [
    ({"class_names": ["car", "person"], "imgsz": 640}, ("car", "person"), (640, 640)),
    ({"names": {"1": "person", "0": "car"}, "imgsz": [480, 640]}, ("car", "person"), (480, 640)),
    ({"names": ["ignored"], "class_names": ["kept"], "imgsz": 32}, ("kept",), (32, 32)),
])
def test_model_json_forms(tmp_path, card, names, imgsz):
    spec = resolve(write_model(tmp_path, card))
    assert (spec.names, spec.imgsz, spec.directory) == (names, imgsz, tmp_path)


@pytest.mark.parametrize(("card", "words"), [
    ([1, 2], "must hold a JSON object"),
    ({"imgsz": 640}, "'class_names' (or 'names') must be a non-empty list"),
    ({"names": [], "imgsz": 640}, "'class_names' (or 'names') must be a non-empty list"),
    ({"names": {"a": "car"}, "imgsz": 640}, "class name keys must be class ids (0, 1, ...)"),
    ({"names": {"0": "car", "2": "bus"}, "imgsz": 640}, "class names must cover class ids 0..1, got [0, 2]"),
    ({"names": ["car"]}, "'imgsz' must be a positive integer or [height, width], got None"),
    ({"names": ["car"], "imgsz": [640]}, "'imgsz' must be a positive integer or [height, width], got [640]"),
    ({"names": ["car"], "imgsz": True}, "got True"),
    ({"names": ["car"], "imgsz": 0}, "got [0, 0]"),
])
def test_malformed_model_json_is_named(tmp_path, card, words):
    with pytest.raises(ModelError) as caught:
        read_spec(write_model(tmp_path, card))
    assert str(caught.value).startswith(f"{tmp_path / 'model.json'}") and words in str(caught.value)


def test_not_json_at_all(tmp_path):
    (tmp_path / "model.json").write_text("{oops")
    with pytest.raises(ModelError, match="cannot read .*model.json: Expecting property name"):
        read_spec(tmp_path)


def test_missing_model_and_missing_weights(tmp_path):
    with pytest.raises(ModelError, match=f"no model in {tmp_path}: expected model.json"):
        resolve(tmp_path)
    write_model(tmp_path, {"names": ["car"], "imgsz": 64}, weights=())
    with pytest.raises(ModelError, match="has model.json but neither best.onnx nor best.pt"):
        resolve(tmp_path)


def test_an_archive_is_extracted_elsewhere_and_left_as_it_was(tmp_path):
    source = write_model(tmp_path / "src", {"names": ["car"], "imgsz": 64}, weights=("best.onnx", "best.pt"))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:
        for name in ("model.json", "best.onnx", "best.pt"):
            tar.add(source / name, arcname=f"run/{name}")  # files in a sub-folder are found by name
    before = (model_dir / "model.tar.gz").read_bytes()
    spec = resolve(model_dir)
    assert spec.directory != model_dir and spec.names == ("car",)
    assert spec.onnx_path.read_bytes() == b"weights of best.onnx"
    assert spec.torch_path.read_bytes() == b"weights of best.pt"
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.tar.gz"]
    assert (model_dir / "model.tar.gz").read_bytes() == before


def test_extraction_writes_only_model_files_inside_the_target(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "../../escaped.json")
        add(tar, "/abs/model.json", b"{}")
        add(tar, "best.pt", kind=tarfile.SYMTYPE)
        add(tar, "notes/readme.txt")
    target = tmp_path / "target"
    target.mkdir()
    extract(archive, target)
    assert sorted(p.name for p in target.iterdir()) == ["model.json"]
    assert (target / "model.json").read_bytes() == b"{}"
    assert not (tmp_path / "escaped.json").exists() and not Path("/abs").exists()


def test_extraction_errors(tmp_path):
    twice = tmp_path / "twice.tar"
    with tarfile.open(twice, "w") as tar:
        add(tar, "a/model.json")
        add(tar, "b/model.json")
    with pytest.raises(ModelError, match="holds model.json more than once"):
        extract(twice, tmp_path)
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(ModelError, match="cannot read .*broken.tar.gz"):
        extract(tmp_path / "broken.tar.gz", tmp_path)
