"""Make ultralytics run with no network access at all; call before ultralytics is first imported.

Left alone, ultralytics probes DNS on import, fetches Arial.ttf from GitHub on every train/val when the font is not in
its config dir, pip-installs missing packages, sends usage analytics, streams to its Platform when an API key is
around, and switches on every integration logger (MLflow, Comet, ClearML, DVC...) whose package is installed. A
SageMaker job (often network-isolated) and a test must do none of that. The images run this at build time, so the
font and the settings are baked in, and every entrypoint runs it again at start (idempotent, cheap).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["INTEGRATIONS", "configure_offline"]

# Ultralytics settings that switch an integration logger on; ours logs to MLflow itself when asked to.
INTEGRATIONS = ("clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")


def configure_offline(default_config_dir: Path | None = None) -> Path:
    """Set ultralytics' environment and settings for offline use and return its config dir (``YOLO_CONFIG_DIR``).

    An existing ``YOLO_CONFIG_DIR`` is kept (the images bake one); otherwise ``default_config_dir`` is used, or a new
    temporary directory, removed at exit. ``ULTRALYTICS_API_KEY`` is dropped from this process's environment (no
    Platform streaming).

    Raises:
        RuntimeError: ultralytics was already imported without ``YOLO_OFFLINE`` (its online check has already run).
    """
    if "ultralytics" in sys.modules and os.environ.get("YOLO_OFFLINE") != "1":
        raise RuntimeError("configure_offline() must run before ultralytics is imported")
    os.environ["YOLO_OFFLINE"] = "1"  # no DNS probes; downloads fail at once
    os.environ["YOLO_AUTOINSTALL"] = "0"  # never pip install at run time
    os.environ.pop("ULTRALYTICS_API_KEY", None)
    config_dir = Path(os.environ.get("YOLO_CONFIG_DIR") or default_config_dir or _temporary_dir())
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    _install_font(config_dir / "Ultralytics")

    from ultralytics.utils import SETTINGS  # reads $YOLO_CONFIG_DIR/Ultralytics/settings.json

    wanted = {"sync": False, "api_key": "", **{name: False for name in INTEGRATIONS}}
    if any(SETTINGS.get(key) != value for key, value in wanted.items()):  # write only on change: may be read-only
        SETTINGS.update(wanted)
    return config_dir


def _temporary_dir() -> Path:
    """A fresh config dir, removed when this process exits (each server worker makes its own)."""
    path = tempfile.mkdtemp(prefix="yolo-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return Path(path)


def _install_font(user_dir: Path) -> None:
    """Give ultralytics its Arial.ttf (matplotlib's DejaVuSans under that name), else it HEADs GitHub on each run."""
    font = user_dir / "Arial.ttf"
    if font.exists():
        return
    import matplotlib

    user_dir.mkdir(parents=True, exist_ok=True)
    partial = font.with_suffix(f".{os.getpid()}.part")  # concurrent jobs sharing a dir never see half a font
    shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", partial)
    partial.replace(font)
