"""Time to first output: `python -m infer` on one small article, from process start to
the output file being complete, as a new user would run it (a fresh process each time).

    python scripts/first_output.py            # 3 runs, 2 torch threads
    python scripts/first_output.py --runs 5 --threads 1

Prints each run's wall time, the median, and the import time of the modules the run
needs (`python -X importtime`), so a slow start can be told from a slow model load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "examples" / "02-minister-baku.txt"
IMPORTS = "import salatag.batch, salatag.tagger, salatag.article, salatag.lang"


def one_run(env: dict[str, str], out: Path) -> float:
    out.unlink(missing_ok=True)
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "infer", str(ARTICLE), "--out", str(out), "--device", "cpu"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0 or not out.exists():
        sys.exit(f"the run failed:\n{result.stderr[-2000:]}")
    return seconds


def import_seconds(env: dict[str, str]) -> float:
    code = f"import time; t = time.perf_counter(); {IMPORTS}; print(time.perf_counter() - t)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        one_run(env, Path(tmp) / "warm.jsonl")  # fills the OS file cache and encoder cache
        times = [one_run(env, Path(tmp) / "tags.jsonl") for _ in range(args.runs)]
    imports = import_seconds(env)
    print(
        f"article: {ARTICLE.relative_to(REPO)} ({len(ARTICLE.read_text(encoding='utf-8'))} chars)"
    )
    print("runs (s): " + ", ".join(f"{t:.2f}" for t in times))
    print(f"median time to first output: {statistics.median(times):.2f} s")
    print(f"of which importing the tagging modules: {imports:.2f} s")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
