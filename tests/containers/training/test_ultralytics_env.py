"""containers.common.ultralytics_env, each case in a fresh interpreter (it acts before ultralytics is imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.containers.conftest import REPO

PROBE = """
import json, os, sys
from pathlib import Path
sys.modules["ultralytics"] = object()  # as if imported before the set-up: too late for YOLO_OFFLINE
try:
    from containers.common.ultralytics_env import configure_offline
    configure_offline()
except RuntimeError as exc:
    refused = str(exc)
del sys.modules["ultralytics"]
config = configure_offline(Path(sys.argv[1]))
from ultralytics.utils import ONLINE, SETTINGS, USER_CONFIG_DIR
print(json.dumps({"refused": refused, "config": str(config), "user_dir": str(USER_CONFIG_DIR), "online": ONLINE,
                  "settings": dict(SETTINGS), "env": {k: os.environ.get(k) for k in ("YOLO_OFFLINE",
                  "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR", "ULTRALYTICS_API_KEY")}}))
"""


def probe(default_dir, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("YOLO_", "ULTRALYTICS_"))}
    result = subprocess.run([sys.executable, "-c", PROBE, str(default_dir)], cwd=REPO, capture_output=True,
                            text=True, env={**clean, "PYTHONPATH": str(REPO), **env}, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_offline_set_up_uses_the_default_dir_and_switches_everything_off(tmp_path):
    state = probe(tmp_path / "config", ULTRALYTICS_API_KEY="secret")
    assert state["refused"] == "configure_offline() must run before ultralytics is imported"
    assert state["config"] == str(tmp_path / "config")
    assert state["user_dir"] == str(tmp_path / "config" / "Ultralytics")
    assert (tmp_path / "config" / "Ultralytics" / "Arial.ttf").stat().st_size > 100_000  # a real TTF
    assert state["online"] is False
    assert state["env"] == {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_CONFIG_DIR": str(tmp_path / "config"),
                            "ULTRALYTICS_API_KEY": None}
    settings = state["settings"]
    assert settings["sync"] is False and settings["api_key"] == ""
    assert not any(settings[name] for name in ("clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb"))
    on_disk = json.loads((tmp_path / "config" / "Ultralytics" / "settings.json").read_text())
    assert on_disk["mlflow"] is False and on_disk["sync"] is False


def test_an_existing_config_dir_is_kept(tmp_path):
    state = probe(tmp_path / "unused", YOLO_CONFIG_DIR=str(tmp_path / "baked"))
    assert state["config"] == str(tmp_path / "baked")
    assert (tmp_path / "baked" / "Ultralytics" / "Arial.ttf").is_file()
    assert not (tmp_path / "unused").exists()
