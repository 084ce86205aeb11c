"""The output files of `python -m infer` stay byte-identical for the same input.

The bundled examples (authored by the project) and a file of odd inputs (errors,
skips, passed-through fields, earlier predictions) are tagged by the shipped model
into JSONL, CSV and Parquet; the files must equal the ones under tests/golden/,
key order and number formatting included. After an intended change of the output,
regenerate them with `python tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from salatag.corpus import REPO_ROOT

GOLDEN = Path(__file__).parent / "golden"
MODEL = REPO_ROOT / "models" / "default"
# relative paths: the ids (file names) in the output do not depend on the checkout
INPUTS = ["examples/", "examples/more-articles.jsonl", "tests/golden/odd-inputs.jsonl"]
INPUTS.append("tests/golden/missing.txt")  # an input path that does not exist


def tag(out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infer", *INPUTS, "--out", str(out), "--device", "cpu"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1, result.stderr  # the odd inputs hold failed records


def parquet_rows(path: Path) -> str:
    """A Parquet file as JSON text: its schema and rows (the bytes hold a writer version)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = [json.dumps(row, ensure_ascii=False) for row in table.to_pylist()]
    return "\n".join([json.dumps([str(f) for f in table.schema]), *rows]) + "\n"


@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_outputs_are_unchanged(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"tags.{fmt}"
    tag(out)
    if fmt == "parquet":
        assert parquet_rows(out) == (GOLDEN / "expected.parquet.txt").read_text(encoding="utf-8")
    else:
        assert out.read_bytes() == (GOLDEN / f"expected.{fmt}").read_bytes()


if __name__ == "__main__":  # regenerate the golden files (then review the diff)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("jsonl", "csv", "parquet"):
            out = Path(tmp) / f"tags.{fmt}"
            tag(out)
            if fmt == "parquet":
                (GOLDEN / "expected.parquet.txt").write_text(parquet_rows(out), encoding="utf-8")
            else:
                (GOLDEN / f"expected.{fmt}").write_bytes(out.read_bytes())
