"""What Ultralytics' plots cost: TrainYOLO with plots=true against plots=false, EvaluateYOLO --plots against
--no-plots, on the sample data with the local run's settings (12 epochs at 128 px; what `make run` trains).

Runs alternate (on, off, off, on, ...) so that drift on a shared machine hits both sides alike. Printed: each run,
the medians of wall and CPU seconds (user + system, less sensitive to other load) and the extra fraction plots add.

    python benchmarks/plots_cost.py [--repeats 3] [--epochs 12]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path

from training_overhead import CPU_SECONDS, REPO, ours, prepare, run

from containers.common.ultralytics_env import configure_offline


def evaluate(splits: Path, model_dir: Path, plots: bool, work: Path, env: dict[str, str]) -> float:
    opt_ml = work / "evaluate"
    shutil.rmtree(opt_ml, ignore_errors=True)
    (opt_ml / "processing" / "model").mkdir(parents=True)
    with tarfile.open(opt_ml / "processing" / "model" / "model.tar.gz", "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    shutil.copytree(splits / "test", opt_ml / "processing" / "test")
    return run([sys.executable, "-m", "containers.training.evaluate", "--plots" if plots else "--no-plots"],
               {**env, "OPT_ML_ROOT": str(opt_ml)}, work / "evaluate.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    hyperparameters = {"model_variant": "yolo11n", "epochs": str(args.epochs), "imgsz": "128", "batch": "4",
                       "optimizer": "AdamW", "lr0": "0.004", "warmup_epochs": "1", "patience": "50", "workers": "0",
                       "seed": "0", "device": "cpu"}
    names = [f"{job} plots {side}" for job in ("train", "evaluate") for side in ("on", "off")]
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="plots-cost-") as tmp:
        work = Path(tmp)
        configure_offline(work / "ultralytics")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        splits = prepare(work, 48, env)
        for repeat in range(args.repeats):
            for plots in ((True, False) if repeat % 2 == 0 else (False, True)):
                side = "on" if plots else "off"
                wall[f"train plots {side}"].append(
                    ours(splits, {**hyperparameters, "plots": str(plots).lower()}, work, env))
                cpu[f"train plots {side}"].append(CPU_SECONDS[-1])
                wall[f"evaluate plots {side}"].append(evaluate(splits, work / "ours" / "model", plots, work, env))
                cpu[f"evaluate plots {side}"].append(CPU_SECONDS[-1])
            print(f"repeat {repeat + 1}/{args.repeats}: "
                  + ", ".join(f"{name} {values[-1]:.1f}s" for name, values in wall.items()), flush=True)
    print(f"\n{args.repeats} repeats, {args.epochs} epochs at 128 px, CPU; medians")
    for job in ("train", "evaluate"):
        on, off = (statistics.median(wall[f"{job} plots {side}"]) for side in ("on", "off"))
        cpu_on, cpu_off = (statistics.median(cpu[f"{job} plots {side}"]) for side in ("on", "off"))
        print(f"{job:<9} wall: plots on {on:6.2f} s, off {off:6.2f} s, +{on - off:5.2f} s ({(on - off) / off:+.1%});"
              f"  CPU: on {cpu_on:6.2f} s, off {cpu_off:6.2f} s, +{cpu_on - cpu_off:5.2f} s "
              f"({(cpu_on - cpu_off) / cpu_off:+.1%})")


if __name__ == "__main__":
    main()
