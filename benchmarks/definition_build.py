"""How fast a definition is built: in process (after imports) and as the `yolo-pipeline definition` command.

Prints the median in-process build time (target <= 300 ms) and the wall time of the CLI as a ratio to a bare
`python -c "import sagemaker.mlops.workflow.pipeline"` measured alternately in the same run (target <= 1.3).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
ENV = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
       "AWS_EC2_METADATA_DISABLED": "true"}


def in_process_builds() -> list[float]:
    from pipelines.config import load_config
    from pipelines.factory import build_pipeline

    build_pipeline(load_config()).definition()  # imports and first-use caches
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        build_pipeline(load_config()).definition()
        times.append(time.perf_counter() - start)
    return times


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    builds = in_process_builds()
    print(f"in-process build: median {statistics.median(builds) * 1000:.0f} ms "
          f"(min {min(builds) * 1000:.0f}, max {max(builds) * 1000:.0f}, n={len(builds)}; target <= 300 ms)")
    cli = [sys.executable, "-m", "pipelines.cli.main", "definition"]
    bare = [sys.executable, "-c", "import sagemaker.mlops.workflow.pipeline"]
    wall(cli), wall(bare)  # warm the file cache
    cli_times, bare_times = [], []
    for _ in range(REPEATS):
        cli_times.append(wall(cli))
        bare_times.append(wall(bare))
    ratio = statistics.median(cli_times) / statistics.median(bare_times)
    print(f"`yolo-pipeline definition`: median {statistics.median(cli_times):.2f} s; "
          f"bare SDK import: median {statistics.median(bare_times):.2f} s; ratio {ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
