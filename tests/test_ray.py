"""The Ray engine on a real local Ray cluster, checked against the local engine.

One Ray run over every kind of input (good and bad records, several shards per file)
is compared record by record with `python -m infer`'s local path; then a killed job
is simulated (a shard missing, its temporary file left behind) and rerun.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from infer.__main__ import main as infer_main
from salatag import ray_engine
from salatag.batch import read_inputs
from salatag.corpus import REPO_ROOT

CYRILLIC = (
    "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады\n"
    "– Біз суды бірге пайдаланамыз, – деді министр."
)
LATIN = (
    "Qazaqstan men Qytaı saýda baılanystaryn talqylady\n– Biz birge jumys isteımiz, – dedi mınıstr."
)
ENGLISH = "The ministers of Kazakhstan and Kyrgyzstan discussed sharing the rivers' water today."
ROWS_PER_SHARD = 3  # so that one JSONL file is cut into several shards


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(fixture_data: Path, tmp_path_factory) -> dict:
    """JSONL with good and bad lines, a folder of .txt files, Parquet, a missing path."""
    root = tmp_path_factory.mktemp("ray-in")
    authored = [json.loads(line)["text"] for line in (fixture_data / "dev.jsonl").open()]
    lines = [
        json.dumps({"id": f"a{i}", "text": t, "source": "wire"}) for i, t in enumerate(authored)
    ]
    lines += [
        json.dumps({"text": LATIN}),  # no id: named by its line
        "",  # blank lines are not articles, but count as lines
        json.dumps({"id": "empty", "text": ""}),
        json.dumps({"id": "english", "text": ENGLISH}),
        json.dumps({"id": "number", "text": 5}),
        "{not json",
        json.dumps({"id": "blank", "text": "  \n "}),
        json.dumps({"id": "c1", "text": CYRILLIC, "paragraphs": "old predictions"}),
    ]
    feed = root / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = root / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "x.txt").write_text(CYRILLIC, encoding="utf-8")
    (folder / "y.txt").write_text("", encoding="utf-8")
    (folder / "sub" / "z.txt").write_bytes(("\ufeff" + LATIN).encode())

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ["p0", None, "p2"], "text": [authored[0], LATIN, None], "n": [1, 2, 3]})
    parquet = root / "t.parquet"
    pq.write_table(table, parquet, row_group_size=2)
    common = [str(feed), str(folder), str(root / "missing.jsonl")]
    return {"common": common, "parquet": str(parquet), "authored": authored}


def read_dir(out: Path) -> dict[str, dict]:
    records = {}
    for path in sorted(out.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert record["id"] not in records, record["id"]
            records[record["id"]] = record
    return records


@pytest.fixture(scope="module")
def ray_out(ray_cluster, tiny_model: Path, inputs: dict, tmp_path_factory) -> tuple[Path, int]:
    """One run of `python -m infer --engine ray` (in this process, on the cluster above)."""
    out = tmp_path_factory.mktemp("ray-out") / "tags"
    args = [*inputs["common"], inputs["parquet"], "--engine", "ray", "--out", str(out)]
    args += ["--model", str(tiny_model / "model"), "--device", "cpu", "--num-workers", "2"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ray_engine, "ROWS_PER_SHARD", ROWS_PER_SHARD)
        code = infer_main(args)
    return out, code


@pytest.fixture(scope="module")
def local_records(tiny_model: Path, inputs: dict, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("local-out") / "tags.jsonl"
    model = str(tiny_model / "model")
    code = infer_main([*inputs["common"], "--out", str(out), "--model", model, "--device", "cpu"])
    assert code == 1  # the bad records count as failed
    return {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def assert_same_record(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys(), ours.get("id")
    for key in ours:
        if key != "paragraphs":
            assert ours[key] == theirs[key], (ours["id"], key)
            continue
        assert len(ours[key]) == len(theirs[key])
        for a, b in zip(ours[key], theirs[key], strict=True):
            assert {k: v for k, v in a.items() if k != "scores"} == {
                k: v for k, v in b.items() if k != "scores"
            }
            assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)


@pytest.mark.slow  # a Ray cluster, and the overfit model trained first
def test_ray_engine_gives_the_local_engines_records(
    ray_out: tuple[Path, int], local_records: dict, inputs: dict
) -> None:
    out, code = ray_out
    assert code == 1  # as locally: some records failed, the job did not
    records = read_dir(out)
    parquet_ids = {"p0", f"{inputs['parquet']}:2", "p2"}
    assert set(records) == set(local_records) | parquet_ids
    tagged = [rid for rid, r in local_records.items() if "paragraphs" in r]
    assert len(tagged) == 7 and any(local_records[rid]["quotes"] for rid in tagged)
    for rid, record in local_records.items():
        assert_same_record(records[rid], record)

    # Parquet (read by the Ray engine only) gives the same records as the same text in JSONL
    a0 = {k: v for k, v in local_records["a0"].items() if k not in ("id", "source")}
    assert_same_record({k: v for k, v in records["p0"].items() if k not in ("id", "n")}, a0)
    assert records["p0"]["n"] == 1 and records[f"{inputs['parquet']}:2"]["n"] == 2
    # as for a bad JSONL line, a row without text keeps its id but passes nothing through
    assert records["p2"] == {"id": "p2", "error": "a Parquet input row needs a string field 'text'"}
    shards = sorted(p.name for p in out.iterdir())
    assert len([s for s in shards if s.startswith("feed.jsonl-")]) == 4  # 11 lines, 3 per shard
    assert len([s for s in shards if s.startswith("t.parquet-")]) == 1  # 3 rows, in 2 parts
    assert not [s for s in shards if not s.endswith(".jsonl")], shards
    feed = inputs["common"][0]
    order = [
        json.loads(line)["id"]
        for path in sorted(out.glob("feed.jsonl-*"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    expected = ["a0", "a1", "a2", f"{feed}:4", "empty", "english", "number", f"{feed}:9"]
    assert order == [*expected, "blank", "c1"]


@pytest.mark.slow  # a Ray cluster, and the overfit model trained first
def test_bad_records_are_the_local_engines(
    ray_out: tuple[Path, int], local_records: dict, inputs: dict
) -> None:
    records = read_dir(ray_out[0])
    expected = {
        "empty": {"skipped": "empty"},
        "blank": {"skipped": "empty"},
        "number": {"error": "a JSONL input line needs a string field 'text'"},
    }
    for rid, fields in expected.items():
        assert records[rid] == {"id": rid, **fields}
        assert records[rid] == local_records[rid]
    assert records["english"]["skipped"].startswith("not Kazakh")
    assert records["english"] == local_records["english"]
    bad_json = next(r for rid, r in records.items() if rid.endswith(":9"))
    assert bad_json["error"].startswith("not JSON") and bad_json == local_records[bad_json["id"]]
    missing = next(r for rid, r in records.items() if rid.endswith("missing.jsonl"))
    assert missing["error"] == "no such file or folder"
    empty_file = str(Path(inputs["common"][1]) / "y.txt")
    assert records[empty_file] == {"id": empty_file, "skipped": "empty"}
    assert isinstance(records["c1"]["paragraphs"], list)  # old predictions are replaced


@pytest.mark.slow  # a Ray cluster, and the overfit model trained first
def test_a_rerun_after_a_killed_job_redoes_only_the_missing_shard(
    ray_out: tuple[Path, int], tiny_model: Path, inputs: dict, tmp_path: Path
) -> None:
    first = read_dir(ray_out[0])
    out = tmp_path / "tags"
    shutil.copytree(ray_out[0], out)
    shards = sorted(out.glob("feed.jsonl-*"))
    killed = shards[2]  # as if the job died while writing it: half a temporary file
    killed.unlink()
    stale = killed.with_name(killed.name + ".tmp")
    stale.write_text('{"id": "a2", "text": "half a li', encoding="utf-8")
    kept = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".jsonl"}

    summary = ray_engine.run(
        [*inputs["common"], inputs["parquet"]],
        out,
        tiny_model / "model",
        num_workers=1,
        device="cpu",
        rows_per_shard=ROWS_PER_SHARD,
    )
    assert summary["shards"] == len(kept) + 1 and summary["done_before"] == len(kept)
    counts = summary["counts"]
    assert counts["tagged"] + counts["skipped"] + counts["failed"] == 3  # that shard's lines
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in kept} == kept
    assert killed.exists() and not stale.exists()
    assert not [p for p in out.iterdir() if p.suffix != ".jsonl"]
    second = read_dir(out)
    assert second.keys() == first.keys()
    for rid, record in first.items():
        assert_same_record(second[rid], record)


@pytest.mark.parametrize(("rows_per_shard", "rows_per_part"), [(1, 1), (3, 2), (5, 2), (1000, 16)])
def test_shards_hold_exactly_the_items_the_local_reader_reads(
    inputs: dict, tmp_path: Path, rows_per_shard: int, rows_per_part: int
) -> None:
    odd = tmp_path / "odd.jsonl"  # a BOM, a line that is not UTF-8, CRLF, no final newline
    odd.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps({"text": LATIN}).encode()
        + b"\r\n\n\xff\xfe\n"
        + json.dumps({"id": "u", "text": "a\u2028b"}, ensure_ascii=False).encode()
    )
    (tmp_path / "blank.jsonl").write_bytes(b"\n  \n")
    specs = [*inputs["common"], str(odd), str(tmp_path / "blank.jsonl"), str(tmp_path / "none")]
    local = [asdict(item) for item in read_inputs(specs)]
    parts = ray_engine.plan_parts(specs, rows_per_shard, rows_per_part)
    assert [asdict(item) for p in parts for item in ray_engine.part_items(p)] == local
    assert len({(p["shard"], p["part"]) for p in parts}) == len(parts)
    for p in parts:
        assert 0 <= p["part"] < p["parts"]
        if p["kind"] == "jsonl":
            assert p["stop"] - p["start"] >= 0 and p["first"] >= 1


def test_ray_is_imported_only_for_the_ray_engine() -> None:
    code = "import infer.__main__, sys; assert 'ray' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def test_without_ray_the_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    article = tmp_path / "a.txt"
    article.write_text(CYRILLIC, encoding="utf-8")
    code = infer_main([str(article), "--engine", "ray", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and 'pip install ".[ray]"' in err, err
