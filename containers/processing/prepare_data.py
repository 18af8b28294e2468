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
from pathlib import Path
from typing import NoReturn

import yaml

from containers.common import contract
from containers.common.contract import JobFailure
from containers.processing import readers
from containers.processing.dataset import Item, RawDataset
from containers.processing.labels import check_class_names
from containers.processing.report import build_report
from containers.processing.splitting import SPLITS, deduplicate, output_names, split_of

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
    parser.add_argument("--label-attribute", default=None, help="Ground Truth label attribute (default: detected)")
    parser.add_argument("--class-names", default=None,
                        help="comma-separated class list that fixes the class ids (default: the dataset's own)")
    args = parser.parse_args(argv)
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
    dataset = readers.read(raw, args.input_format, args.label_attribute)
    class_names = _class_list(dataset, args.class_names)
    kept, duplicates = deduplicate([item for item in dataset.items if item.problem is None])
    splits = {item.name: split_of(item.image.sha256, args.train_ratio, args.val_ratio) for item in kept}
    arguments = {"train_ratio": args.train_ratio, "val_ratio": args.val_ratio,
                 "test_ratio": round(1 - args.train_ratio - args.val_ratio, 6),
                 "max_invalid_fraction": args.max_invalid_fraction}
    report = build_report(input_format=dataset.input_format, class_names=class_names, arguments=arguments,
                          items=dataset.items, kept=kept, splits=splits, duplicates=duplicates)
    for folder in (*SPLITS, "report"):
        shutil.rmtree(out / folder, ignore_errors=True)
    report_path = out / "report" / "data_report.json"
    _write_data_yaml(report_path.parent, class_names)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    _check_quality(dataset, report, args, report_path)
    stems = output_names(kept)
    for item in kept:
        _write_item(out / splits[item.name], item, stems[item.name], class_names)
    for split in SPLITS:
        _write_data_yaml(out / split, class_names)
    counts = " / ".join(f"{split} {report['splits'][split]['images']}" for split in SPLITS)
    totals = report["totals"]
    print(f"PrepareData: {dataset.input_format} dataset, {totals['items']} items, {totals['rejected']} rejected, "
          f"{totals['duplicates_dropped']} duplicates dropped -> {counts} images; report: {report_path}")


def _check_ratios(train: float, val: float, max_invalid: float) -> None:
    if not 0 < train < 1:
        raise JobFailure(f"--train-ratio must be between 0 and 1 (exclusive), got {train}")
    if not 0 < val < 1:
        raise JobFailure(f"--val-ratio must be between 0 and 1 (exclusive), got {val}")
    if train + val >= 1:
        raise JobFailure(f"--train-ratio {train} + --val-ratio {val} leave nothing for the test split: "
                         "their sum must be below 1")
    if not 0 <= max_invalid <= 1:
        raise JobFailure(f"--max-invalid-fraction must be between 0 and 1, got {max_invalid}")


def _class_list(dataset: RawDataset, wanted: list[str] | None) -> list[str]:
    """The output's class list: --class-names when given (every class the dataset names must be in it)."""
    if wanted is None:
        return dataset.class_names
    unknown = [name for name in dataset.class_names if name not in wanted]
    if unknown:
        raise JobFailure(f"unknown class name(s) {', '.join(map(repr, unknown))} in {dataset.source}: "
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
                         f"> --max-invalid-fraction {args.max_invalid_fraction:.1%}); first: {first}; "
                         f"every rejected item with its reason: {report_path}")
    if not totals["images"]:
        raise JobFailure(f"empty dataset: none of the {totals['items']} items is usable; see {report_path}")
    missing = [name for name, counts in report["per_class"].items() if not counts["total"]]
    if missing:
        raise JobFailure(f"class(es) {', '.join(map(repr, missing))} have no examples in the {totals['images']} "
                         f"usable images: label some, or remove them from {dataset.source}"
                         f"{' and --class-names' if args.class_names else ''}")
    empty = [split for split in SPLITS if not report["splits"][split]["images"]]
    if empty:
        counts = ", ".join(f"{split} {report['splits'][split]['images']}" for split in SPLITS)
        raise JobFailure(f"empty split(s) {', '.join(empty)}: {totals['images']} images split {counts} with "
                         f"--train-ratio {args.train_ratio} --val-ratio {args.val_ratio}; "
                         "add images or change the ratios")


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _write_item(split_dir: Path, item: Item, stem: str, class_names: list[str]) -> None:
    """Copy the image (bytes unchanged) and write its YOLO label file."""
    ids = {name: index for index, name in enumerate(class_names)}
    for sub in ("images", "labels"):
        (split_dir / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(item.image_path, split_dir / "images" / f"{stem}{item.image.suffix}")
    lines = [box.yolo_line(ids[box.class_name]) + "\n" for box in item.boxes]
    (split_dir / "labels" / f"{stem}.txt").write_text("".join(lines))


def _write_data_yaml(folder: Path, class_names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.yaml").write_text(yaml.safe_dump({"nc": len(class_names), "names": class_names},
                                                     sort_keys=False))


if __name__ == "__main__":
    sys.exit(contract.run_job(main))
