"""PrepareData: validate, de-duplicate and split a raw detection dataset into YOLO train/val/test folders.

Contract (containers/README.md): reads /opt/ml/processing/input/raw/ (YOLO folder, Ground Truth manifest or COCO
JSON; never modified) and writes /opt/ml/processing/output/{train,val,test}/ (images/, labels/, data.yaml) and
report/ (data_report.json, data.yaml). Data not fit to train on fails the job with its reason in
/opt/ml/output/failure, after the report is written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import yaml

from containers.common import contract
from containers.common.contract import JobFailure
from containers.processing import readers
from containers.processing.dataset import RawDataset, load
from containers.processing.decoding import available_cores
from containers.processing.labels import check_class_names
from containers.processing.placement import SplitFolders
from containers.processing.report import build_report
from containers.processing.safepath import shown
from containers.processing.splitting import MIN_IMAGES, SPLITS, assign, deduplicate, output_names

MAX_REASONS_IN_MESSAGE = 3


class _Parser(argparse.ArgumentParser):
    """Bad arguments fail the job like bad data: with a reason SageMaker shows, not only an exit status."""

    def error(self, message: str) -> NoReturn:
        raise JobFailure(f"invalid arguments: {message}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="prepare_data", description=__doc__.splitlines()[0])
    parser.add_argument("--input-format", choices=("auto", *readers.FORMATS), default="auto")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--val-ratio", type=float, default=0.15, help="test gets 1 - train - val")
    parser.add_argument("--max-invalid-fraction", type=float, default=0.05,
                        help="fail when more than this fraction of the items is rejected")
    parser.add_argument("--label-attribute", default=None,
                        help="Ground Truth label attribute (default: the newest by creation-date)")
    parser.add_argument("--resplit", choices=("true", "false"), default="false",
                        help="true: split by content even when the export has its own splits")
    parser.add_argument("--workers", type=int, default=0, help="decoding processes (0: every core of the job)")
    parser.add_argument("--class-names", default=None,
                        help="comma-separated class list that fixes the class ids (default: the dataset's own)")
    args = parser.parse_args(argv)
    args.resplit = args.resplit == "true"
    args.label_attribute = args.label_attribute or None
    if args.workers < 0:
        raise JobFailure(f"--workers must be 0 (every core) or more, got {args.workers}")
    args.workers = args.workers or available_cores()
    _check_ratios(args.train_ratio, args.val_ratio, args.max_invalid_fraction)
    if args.class_names is not None:
        args.class_names = check_class_names([n.strip() for n in args.class_names.split(",")], "--class-names")
    return args


def main(argv: list[str]) -> None:
    """Run PrepareData on the job's /opt/ml tree.

    Raises:
        JobFailure: bad arguments, an unreadable or empty dataset, an unknown class name, too many rejected items,
            a class with no examples or an empty split.
    """
    args = parse_args(argv)
    raw, out = contract.processing_dir("input", "raw"), contract.processing_dir("output")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".prepare-data-", dir=out) as work:
        _prepare(args, raw, out, Path(work))


def _prepare(args: argparse.Namespace, raw: Path, out: Path, work: Path) -> None:
    started = time.perf_counter()
    dataset = readers.read(raw, args.input_format, args.label_attribute, work)
    class_names = _class_list(dataset, args.class_names)
    read_at = time.perf_counter()
    candidates = [item for item in dataset.items if item.problem is None]
    with SplitFolders(out, candidates, args.train_ratio, args.val_ratio, args.resplit) as folders:
        load(dataset.items, args.workers, work / "staged", {name: index for index, name in enumerate(class_names)},
             folders.place)
        decoded_at = time.perf_counter()
        kept, duplicates = deduplicate([item for item in dataset.items if item.problem is None])
        assignment = assign(kept, args.train_ratio, args.val_ratio, args.resplit)
        arguments = {"train_ratio": args.train_ratio, "val_ratio": args.val_ratio,
                     "test_ratio": round(1 - args.train_ratio - args.val_ratio, 6),
                     "max_invalid_fraction": args.max_invalid_fraction, "resplit": args.resplit}
        report = build_report(dataset=dataset, class_names=class_names, arguments=arguments, kept=kept,
                              assignment=assignment, duplicates=duplicates)
        shutil.rmtree(out / "report", ignore_errors=True)
        report_path = out / "report" / "data_report.json"
        _write_data_yaml(report_path.parent, class_names)
        report_path.write_text(json.dumps(report, indent=2) + "\n")
        _check_quality(dataset, report, args, report_path)
        folders.settle(kept, assignment.splits, output_names(kept))
        for split in SPLITS:
            _write_data_yaml(out / split, class_names)
    counts = " / ".join(f"{split} {report['splits'][split]['images']}" for split in SPLITS)
    totals = report["totals"]
    print(f"PrepareData: {dataset.input_format} dataset, {totals['items']} items, {totals['rejected']} rejected, "
          f"{totals['unlabeled']} unlabeled, {totals['duplicates_dropped']} duplicates dropped -> {counts} images "
          f"(splits: {report['split_source']}); report: {report_path}")
    # Where the time went: decoding runs on every worker (the parent places results meanwhile), the rest on one core
    # (benchmarks/prepare_data.py reads it).
    print(f"PrepareData: done in {time.perf_counter() - started:.3f} s (reading {read_at - started:.3f} s, decoding "
          f"{decoded_at - read_at:.3f} s, the rest {time.perf_counter() - decoded_at:.3f} s)")


def _check_ratios(train: float, val: float, max_invalid: float) -> None:
    if not 0 < train < 1:
        raise JobFailure(f"data.train_ratio must be between 0 and 1 (exclusive), got {train}: "
                         "--set data.train_ratio=0.8")
    if not 0 < val < 1:
        raise JobFailure(f"data.val_ratio must be between 0 and 1 (exclusive), got {val}: --set data.val_ratio=0.1")
    if train + val >= 1:
        raise JobFailure(f"data.train_ratio {train} + data.val_ratio {val} leave nothing for the test split: "
                         "their sum must be below 1 (--set data.train_ratio=... data.val_ratio=...)")
    if not 0 <= max_invalid <= 1:
        raise JobFailure(f"data.max_invalid_fraction must be between 0 and 1, got {max_invalid}")


def _class_list(dataset: RawDataset, wanted: list[str] | None) -> list[str]:
    """The output's class list: --class-names when given (every class the dataset names must be in it)."""
    if wanted is None:
        return dataset.class_names
    unknown = [name for name in dataset.class_names if name not in wanted]
    if unknown:
        raise JobFailure(f"unknown class name(s) {', '.join(map(shown, unknown[:5]))} in {dataset.source}: "
                         f"--class-names allows {', '.join(wanted)}; fix the class map or extend --class-names")
    return wanted


def _check_quality(dataset: RawDataset, report: dict, args: argparse.Namespace, report_path: Path) -> None:
    """Fail when the data is not fit to train on; the report is already written."""
    totals = report["totals"]
    if not totals["items"]:
        raise JobFailure(f"empty dataset: the {dataset.input_format} dataset has no images")
    if totals["invalid_fraction"] > args.max_invalid_fraction:
        first = "; ".join(f"{r['item']}: {_shorten(r['reason'])}" for r in report["rejected"][:MAX_REASONS_IN_MESSAGE])
        raise JobFailure(f"{totals['rejected']} of {totals['items']} items rejected ({totals['invalid_fraction']:.1%} "
                         f"> data.max_invalid_fraction {args.max_invalid_fraction:.1%}); first: {first}; "
                         f"every rejected item with its reason: {report_path}")
    if not totals["images"]:
        raise JobFailure(f"empty dataset: none of the {totals['items']} items is usable; see {report_path}")
    missing = [name for name, counts in report["per_class"].items() if not counts["total"]]
    if missing:
        raise JobFailure(f"class(es) {', '.join(map(repr, missing))} have no examples in the {totals['images']} "
                         f"usable images: label some, or remove them from {dataset.source}"
                         f"{' and --class-names' if args.class_names else ''}")
    if totals["images"] < MIN_IMAGES:
        raise JobFailure(f"too few images to split: {totals['images']} usable image(s), PrepareData needs at least "
                         f"{MIN_IMAGES} (one each for train, val and test); add images")


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _write_data_yaml(folder: Path, class_names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.yaml").write_text(yaml.safe_dump({"nc": len(class_names), "names": class_names},
                                                     sort_keys=False))


if __name__ == "__main__":
    sys.exit(contract.run_job(main))
