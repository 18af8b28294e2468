"""Metrics from job logs: the training image's epoch lines and the definition's MetricDefinitions."""

from __future__ import annotations

from pipelines.local.metrics import MetricScraper, parse_epoch_line
from tests.local.conftest import steps_by_name

LINE = "[metrics] epoch=3 precision=0.51000 recall=0.40000 mAP50=0.71000 mAP50-95=0.40000"


def test_epoch_lines_are_parsed_and_other_lines_are_not():
    assert parse_epoch_line(LINE) == {"epoch": 3.0, "precision": 0.51, "recall": 0.4, "mAP50": 0.71, "mAP50-95": 0.4}
    assert parse_epoch_line("      3/12   0.1G   1.2  2.3  1.1   12  128: 100%") is None
    assert parse_epoch_line("[metrics] precision=0.5") is None


def test_the_factory_metric_definitions_scrape_the_last_epoch(factory_definition):
    definitions = steps_by_name(factory_definition)["TrainYOLO"]["Arguments"]["AlgorithmSpecification"][
        "MetricDefinitions"]
    scraper = MetricScraper(definitions)
    for line in ("noise", LINE, LINE.replace("epoch=3", "epoch=4").replace("mAP50-95=0.40000", "mAP50-95=0.45000")):
        scraper.feed(line)
    assert {m["MetricName"]: m["Value"] for m in scraper.final()} == {"precision": 0.51, "recall": 0.4,
                                                                     "mAP50": 0.71, "mAP50-95": 0.45}
