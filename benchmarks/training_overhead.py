"""Does the TrainYOLO entrypoint slow training down? It against bare ultralytics CLI runs, same data and settings.

Each repeat runs, in alternating order so that drift on a shared machine hits both sides alike:
  ours  python -m containers.training.train train   (a fresh /opt/ml: checks, training, best.pt + ONNX + model.json)
  bare  yolo train ...   (the same training arguments), then the same ONNX export timed inside its process
Both run with the same offline ultralytics environment. Printed: every time, the medians, and the ratios bare/ours
for `yolo train` + the export (the same work; target >= 0.97) and for `yolo train` alone, and CPU seconds (less
sensitive than wall time to other load on a shared machine).

    python benchmarks/training_overhead.py [--epochs 12] [--repeats 3] [--imgsz 128] [--batch 4] [--images 48]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from containers.common.ultralytics_env import configure_offline  # noqa: E402
from pipelines.sample_data import generate  # noqa: E402

CPU_SECONDS: list[float] = []  # CPU time (user + system) of each run() call, in order: less noisy than wall time


def run(command: list[str], env: dict[str, str], log: Path) -> float:
    """Wall seconds of one command (its output to ``log``; its CPU seconds to CPU_SECONDS); failures stop here."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.call(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if code:
        sys.exit(f"{' '.join(command)} failed ({code}); see {log}")
    return seconds


def prepare(work: Path, images: int, env: dict[str, str]) -> Path:
    """Sample data through PrepareData, as the pipeline feeds TrainYOLO; returns the split folders' parent."""
    opt_ml = work / "prepare"
    generate(opt_ml / "processing" / "input" / "raw", n_images=images)
    run([sys.executable, "-m", "containers.processing.prepare_data"], {**env, "OPT_ML_ROOT": str(opt_ml)},
        work / "prepare.log")
    return opt_ml / "processing" / "output"


def ours(splits: Path, hyperparameters: dict[str, str], work: Path, env: dict[str, str]) -> float:
    opt_ml = work / "ours"
    shutil.rmtree(opt_ml, ignore_errors=True)
    for channel in ("train", "val"):
        shutil.copytree(splits / channel, opt_ml / "input" / "data" / channel)
    (opt_ml / "input" / "config").mkdir(parents=True)
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    return run([sys.executable, "-m", "containers.training.train", "train"], {**env, "OPT_ML_ROOT": str(opt_ml)},
               work / "ours.log")


EXPORT = """
import sys, time
from ultralytics import YOLO
start, cpu = time.perf_counter(), time.process_time()
YOLO(sys.argv[1]).export(format="onnx", opset=18, dynamic=False, simplify=True, imgsz=int(sys.argv[2]), device="cpu")
print(f"export_seconds={time.perf_counter() - start} export_cpu={time.process_time() - cpu}")
"""


def bare(splits: Path, hyperparameters: dict[str, str], work: Path,
         env: dict[str, str]) -> tuple[float, float, float]:
    """``yolo train`` on copies of the splits (fresh label caches, as ours builds them), then the same ONNX export as
    ours timed inside its process (loading best.pt included, interpreter start-up not): wall, export wall and CPU."""
    data_dir, runs = work / "bare-data", work / "bare-runs"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(runs, ignore_errors=True)
    for split in ("train", "val"):
        shutil.copytree(splits / split, data_dir / split)
    names = (splits / "train" / "data.yaml").read_text()
    (data_dir / "data.yaml").write_text(f"path: {data_dir}\ntrain: train/images\nval: val/images\n{names}")
    yolo = str(Path(sys.executable).parent / "yolo")
    h = hyperparameters
    train = run([yolo, "train", f"model={h['model_variant']}.yaml", f"data={data_dir / 'data.yaml'}",
                 f"epochs={h['epochs']}", f"imgsz={h['imgsz']}", f"batch={h['batch']}", f"nbs={h['batch']}",
                 f"optimizer={h['optimizer']}", f"lr0={h['lr0']}", f"warmup_epochs={h['warmup_epochs']}",
                 f"patience={h['patience']}", f"workers={h['workers']}", f"seed={h['seed']}", "device=cpu",
                 "plots=False", f"project={runs}", "name=run", "exist_ok=True"], env, work / "bare-train.log")
    log = work / "bare-export.log"
    run([sys.executable, "-c", EXPORT, str(runs / "run" / "weights" / "best.pt"), h["imgsz"]], env, log)
    found = re.search(r"export_seconds=([0-9.]+) export_cpu=([0-9.]+)", log.read_text())
    return train, float(found[1]), float(found[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--images", type=int, default=48, help="sample images before the split")
    args = parser.parse_args()
    hyperparameters = {"model_variant": "yolo11n", "epochs": str(args.epochs), "imgsz": str(args.imgsz),
                       "batch": str(args.batch), "optimizer": "AdamW", "lr0": "0.004", "warmup_epochs": "1",
                       "patience": "50", "workers": "0", "seed": "0", "device": "cpu",
                       "plots": "false"}  # as bare's plots=False (their cost: benchmarks/plots_cost.py)
    with tempfile.TemporaryDirectory(prefix="training-overhead-") as tmp:
        work = Path(tmp)
        configure_offline(work / "ultralytics")  # the same offline set-up for both sides (and for PrepareData)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        splits = prepare(work, args.images, env)
        timings: dict[str, list[float]] = {"ours": [], "bare train": [], "bare export (in-process)": []}
        cpu: dict[str, list[float]] = {"ours": [], "bare train + export": []}
        for repeat in range(args.repeats):
            order = ("ours", "bare") if repeat % 2 == 0 else ("bare", "ours")
            for side in order:
                if side == "ours":
                    timings["ours"].append(ours(splits, hyperparameters, work, env))
                    cpu["ours"].append(CPU_SECONDS[-1])
                else:
                    train, export, export_cpu = bare(splits, hyperparameters, work, env)
                    timings["bare train"].append(train)
                    timings["bare export (in-process)"].append(export)
                    cpu["bare train + export"].append(CPU_SECONDS[-2] + export_cpu)
            print(f"repeat {repeat + 1}/{args.repeats} ({' then '.join(order)}): "
                  + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in timings.items()), flush=True)
    median = {name: statistics.median(values) for name, values in timings.items()}
    bare_total = [t + e for t, e in zip(timings["bare train"], timings["bare export (in-process)"], strict=True)]
    print(f"\n{args.repeats} repeats, {args.epochs} epochs, imgsz {args.imgsz}, batch {args.batch}, CPU")
    for name, value in median.items():
        print(f"median {name:26s} {value:7.2f} s")
    print(f"ratio bare/ours, train + export (same work): {statistics.median(bare_total) / median['ours']:.3f}"
          "   (target >= 0.97)")
    print(f"ratio bare/ours, `yolo train` alone:          {median['bare train'] / median['ours']:.3f}")
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"CPU seconds (user + system), median: ours {cpu_median['ours']:.2f}, "
          f"bare train + export {cpu_median['bare train + export']:.2f}, "
          f"ratio {cpu_median['bare train + export'] / cpu_median['ours']:.3f}")


if __name__ == "__main__":
    main()
