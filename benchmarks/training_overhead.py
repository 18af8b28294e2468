"""Does the TrainYOLO entrypoint slow training down? It against bare ultralytics CLI runs, same data and settings.

Each repeat runs, in alternating order so that drift on a shared machine hits both sides alike:
  ours  python -m containers.training.train train   (a fresh /opt/ml: checks, training, best.pt + ONNX + model.json)
  bare  yolo train ...   (the same training arguments), then the same ONNX export timed inside its process
Both run with the same offline ultralytics environment. Printed: every time, the medians, and the ratios bare/ours
for `yolo train` + the export (the same work; target >= 0.97) and for `yolo train` alone, CPU seconds (less
sensitive than wall time to other load on a shared machine), and training images/s on both sides: over all epochs
and over epochs 2+ (each epoch's finished progress bar; the first epoch holds the warm-up), and with validation
(results.csv). One untimed 1-epoch run goes first (--no-warmup skips it).

    python benchmarks/training_overhead.py [--epochs 12] [--repeats 3] [--imgsz 128] [--batch 4] [--images 48]

On a GPU, from pretrained weights (both sides start from the same checkpoint, at the precision ours picks):

    python benchmarks/training_overhead.py --device 0 --weights yolo11n.pt --imgsz 640 --batch 32 --workers 8 \
        --images 5000 --epochs 5
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
from containers.training.devices import place  # noqa: E402
from pipelines.sample_data import generate  # noqa: E402

MEASURES = ("training", "training, epochs 2+", "with validation")  # the images/s figures printed
YOLO = "import sys; from ultralytics.cfg import entrypoint; sys.exit(entrypoint())"  # what the `yolo` script runs

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
    if code:  # the log goes with the temporary folder: show its end
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        sys.exit(f"{tail}\n{' '.join(command)} failed ({code}); the end of its log is above")
    return seconds


def prepare(work: Path, images: int, env: dict[str, str]) -> Path:
    """Sample data through PrepareData, as the pipeline feeds TrainYOLO; returns the split folders' parent."""
    opt_ml = work / "prepare"
    generate(opt_ml / "processing" / "input" / "raw", n_images=images)
    run([sys.executable, "-m", "containers.processing.prepare_data"], {**env, "OPT_ML_ROOT": str(opt_ml)},
        work / "prepare.log")
    return opt_ml / "processing" / "output"


EPOCH_BAR = re.compile(r"^\s*(\d+)/\d+\s+\S+G\s.*\s100%\S*\s+\S+\s+\d+/\d+\s+\S+\s+([0-9.]+)s\s*$")


def epoch_images_per_second(results_csv: Path, train_images: int) -> float:
    """Throughput by ultralytics' own clock: results.csv's ``time`` is the seconds since training began at the end
    of each epoch, its validation included."""
    lines = results_csv.read_text().splitlines()
    header = [name.strip() for name in lines[0].split(",")]
    last = dict(zip(header, (value.strip() for value in lines[-1].split(",")), strict=True))
    return train_images * int(float(last["epoch"])) / float(last["time"])


def epoch_seconds(log: Path) -> list[float]:
    """The training pass of each epoch alone: the elapsed time of its finished progress bar (to 0.1 s), as
    ultralytics prints it on both sides. Validation, whose NMS time depends on what the model predicts, is left out."""
    seconds: dict[str, float] = {}
    for segment in re.split(r"\x1b\[K|\r|\n", log.read_text(errors="replace")):
        found = EPOCH_BAR.match(segment)
        if found:
            seconds[found[1]] = float(found[2])  # a bar can print its finished state more than once
    if not seconds:
        sys.exit(f"no finished epoch progress bar (elapsed under a minute) in {log}")
    return [seconds[epoch] for epoch in sorted(seconds, key=int)]


def ours(splits: Path, hyperparameters: dict[str, str], weights: Path | None, work: Path,
         env: dict[str, str]) -> float:
    opt_ml = work / "ours"
    shutil.rmtree(opt_ml, ignore_errors=True)
    for channel in ("train", "val"):
        shutil.copytree(splits / channel, opt_ml / "input" / "data" / channel)
    if weights:
        (opt_ml / "input" / "data" / "weights").mkdir()
        shutil.copy(weights, opt_ml / "input" / "data" / "weights" / weights.name)
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


def bare(splits: Path, hyperparameters: dict[str, str], weights: Path | None, amp: bool | str, work: Path,
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
    h = hyperparameters
    model = weights or f"{h['model_variant']}.yaml"
    train = run([sys.executable, "-c", YOLO, "train", f"model={model}", f"data={data_dir / 'data.yaml'}",
                 f"epochs={h['epochs']}", f"imgsz={h['imgsz']}", f"batch={h['batch']}", f"nbs={h['batch']}",
                 f"optimizer={h['optimizer']}", f"lr0={h['lr0']}", f"warmup_epochs={h['warmup_epochs']}",
                 f"patience={h['patience']}", f"workers={h['workers']}", f"seed={h['seed']}", f"device={h['device']}",
                 f"amp={amp}", "plots=False", f"project={runs}", "name=run", "exist_ok=True"],
                env, work / "bare-train.log")
    log = work / "bare-export.log"
    run([sys.executable, "-c", EXPORT, str(runs / "run" / "weights" / "best.pt"), h["imgsz"]], env, log)
    found = re.search(r"export_seconds=([0-9.]+) export_cpu=([0-9.]+)", log.read_text())
    if not found:
        sys.exit(f"the export printed no timing; see {log}")
    return train, float(found[1]), float(found[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--images", type=int, default=48, help="sample images before the split")
    parser.add_argument("--device", default="cpu", help="as the device hyperparameter: cpu, 0, 0,1, ...")
    parser.add_argument("--workers", type=int, default=0, help="dataloader workers")
    parser.add_argument("--weights", type=Path, help="a YOLO11n checkpoint to start from (default: the YAML)")
    parser.add_argument("--logs", type=Path, help="keep each training run's log in this folder")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip the untimed 1-epoch training run before the timed ones")
    args = parser.parse_args()
    weights = args.weights.resolve() if args.weights else None
    hyperparameters = {"model_variant": "yolo11n", "epochs": str(args.epochs), "imgsz": str(args.imgsz),
                       "batch": str(args.batch), "optimizer": "AdamW", "lr0": "0.004", "warmup_epochs": "1",
                       "patience": "50", "workers": str(args.workers), "seed": "0", "device": args.device,
                       "plots": "false"}  # as bare's plots=False (their cost: benchmarks/plots_cost.py)
    placement = place(args.device, args.batch)  # bare trains at the precision ours picks (bf16 on Ampere and later)
    with tempfile.TemporaryDirectory(prefix="training-overhead-") as tmp:
        work = Path(tmp)
        configure_offline(work / "ultralytics")  # the same offline set-up for both sides (and for PrepareData)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
        splits = prepare(work, args.images, env)
        train_images = sum(1 for _ in (splits / "train" / "images").iterdir())
        timings: dict[str, list[float]] = {"ours": [], "bare train": [], "bare export (in-process)": []}
        cpu: dict[str, list[float]] = {"ours": [], "bare train + export": []}
        throughput: dict[str, list[float]] = {f"{side} {what}": [] for what in MEASURES for side in ("ours", "bare")}
        if args.warmup:  # untimed: the first training on a machine pays its cold start (CUDA libraries read from disk)
            bare(splits, {**hyperparameters, "epochs": "1"}, weights, placement.amp, work, env)
        for repeat in range(args.repeats):
            order = ("ours", "bare") if repeat % 2 == 0 else ("bare", "ours")
            for side in order:
                if side == "ours":
                    timings["ours"].append(ours(splits, hyperparameters, weights, work, env))
                    cpu["ours"].append(CPU_SECONDS[-1])
                    results, log = work / "ours" / "checkpoints" / "local" / "run" / "results.csv", work / "ours.log"
                else:
                    train, export, export_cpu = bare(splits, hyperparameters, weights, placement.amp, work, env)
                    timings["bare train"].append(train)
                    timings["bare export (in-process)"].append(export)
                    cpu["bare train + export"].append(CPU_SECONDS[-2] + export_cpu)
                    results, log = work / "bare-runs" / "run" / "results.csv", work / "bare-train.log"
                epochs = epoch_seconds(log)
                throughput[f"{side} training"].append(train_images * len(epochs) / sum(epochs))
                if len(epochs) > 1:  # the first epoch holds the warm-up (cuDNN's algorithm search, workers' start)
                    throughput[f"{side} training, epochs 2+"].append(train_images * (len(epochs) - 1) / sum(epochs[1:]))
                throughput[f"{side} with validation"].append(epoch_images_per_second(results, train_images))
                if args.logs:
                    args.logs.mkdir(parents=True, exist_ok=True)
                    shutil.copy(log, args.logs / f"{side}-{repeat + 1}.log")
            print(f"repeat {repeat + 1}/{args.repeats} ({' then '.join(order)}): "
                  + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in timings.items())
                  + ", images/s "
                  + ", ".join(f"{side} {values[-1]:.1f}" for side, values in throughput.items() if values),
                  flush=True)
    median = {name: statistics.median(values) for name, values in timings.items()}
    bare_total = [t + e for t, e in zip(timings["bare train"], timings["bare export (in-process)"], strict=True)]
    where = "CPU" if placement.device == "cpu" else f"GPU {placement.device}, amp={placement.amp}"
    start = f"from {weights.name}" if weights else "from the YAML"
    print(f"\n{args.repeats} repeats, {args.epochs} epochs of {train_images} images, imgsz {args.imgsz}, "
          f"batch {args.batch}, workers {args.workers}, {where}, {start}")
    for name, value in median.items():
        print(f"median {name:26s} {value:7.2f} s")
    print(f"ratio bare/ours, train + export (same work): {statistics.median(bare_total) / median['ours']:.3f}"
          "   (target >= 0.97)")
    print(f"ratio bare/ours, `yolo train` alone:          {median['bare train'] / median['ours']:.3f}")
    rate = {name: statistics.median(values) for name, values in throughput.items() if values}
    for what in MEASURES:
        if f"ours {what}" in rate:
            ours_rate, bare_rate = rate[f"ours {what}"], rate[f"bare {what}"]
            print(f"images/s {what + ',':26s} median: ours {ours_rate:.1f}, bare {bare_rate:.1f}, "
                  f"ratio ours/bare {ours_rate / bare_rate:.3f}   (target >= 0.98)")
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"CPU seconds (user + system), median: ours {cpu_median['ours']:.2f}, "
          f"bare train + export {cpu_median['bare train + export']:.2f}, "
          f"ratio {cpu_median['bare train + export'] / cpu_median['ours']:.3f}")


if __name__ == "__main__":
    main()
