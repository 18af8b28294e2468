"""Server settings from the environment, and the backend choice."""

from __future__ import annotations

import json

import pytest

from containers.inference.backends import choose_backend
from containers.inference.model_files import ModelError, resolve
from containers.inference.settings import ServerSettings, SettingsError, usable_cores


def test_defaults_follow_sagemaker():
    settings = ServerSettings.from_env({})
    assert (settings.host, settings.port, settings.timeout, settings.backend) == ("0.0.0.0", 8080, 60, "auto")
    assert settings.workers == usable_cores() and settings.max_payload_bytes == 6 * 2**20


def test_values_from_the_environment():
    settings = ServerSettings.from_env({"SAGEMAKER_BIND_TO_PORT": "9000", "MODEL_SERVER_WORKERS": "3",
                                        "MODEL_SERVER_TIMEOUT": "120", "INFERENCE_BACKEND": " ONNX ",
                                        "MAX_PAYLOAD_MB": "0.5", "MODEL_SERVER_HOST": "127.0.0.1",
                                        "MODEL_SERVER_READ_TIMEOUT": "2.5"})
    assert settings == ServerSettings("127.0.0.1", 9000, 3, 120, "onnx", 0.5, 2.5)
    assert settings.max_payload_bytes == 2**19
    assert settings.threads_per_worker == max(1, usable_cores() // 3)


@pytest.mark.parametrize(("name", "value"), [("SAGEMAKER_BIND_TO_PORT", "0"), ("MODEL_SERVER_WORKERS", "1.5"),
                                             ("MODEL_SERVER_TIMEOUT", "x"), ("MAX_PAYLOAD_MB", "nan"),
                                             ("MODEL_SERVER_READ_TIMEOUT", "0")])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"^{name}='{value}' must be"):
        ServerSettings.from_env({name: value})


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({"names": ["car"], "imgsz": 64}))
    (tmp_path / "best.onnx").write_bytes(b"onnx")
    return resolve(tmp_path)


def test_auto_is_onnx_without_a_gpu_or_best_pt(spec):
    assert choose_backend("auto", spec) == "onnx"
    assert choose_backend("onnx", spec) == "onnx"


def test_torch_needs_best_pt(spec):
    with pytest.raises(ModelError, match="the torch backend needs .*best.pt, which does not exist"):
        choose_backend("torch", spec)
    spec.torch_path.write_bytes(b"pt")
    assert choose_backend("torch", spec) == "torch"
