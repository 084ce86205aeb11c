"""Build the labelled corpus: hydrate real annotations, compile authored ones, split.

    python -m salatag.data build    # -> data/build/{train,dev,test}.jsonl + manifest.json
    python -m salatag.data stats    # the counts that data/CARD.md shows
    python -m salatag.data card     # rewrite the generated part of data/CARD.md

Real articles are split by article (60/20/20), stratified by sub-category and rarest
label, and the assignment is frozen in data/splits.json so that later label fixes never
move an article between splits. The test split holds real articles only; authored
articles train.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from salatag import kaznerd
from salatag.annotation import ANNOTATIONS_DIR, AnnotationError, compile_authored, hydrate
from salatag.corpus import REPO_ROOT, CorpusError, holdout_urls, kazinform_articles
from salatag.errors import InputError, run_command
from salatag.labels import SECTORS
from salatag.records import Record, quote_tokens, read_records, write_records
from salatag.validate import check_record

AUTHORED_DIR = REPO_ROOT / "data" / "authored"
BUILD_DIR = REPO_ROOT / "data" / "build"
CARD = REPO_ROOT / "data" / "CARD.md"
SPLITS_FILE = REPO_ROOT / "data" / "splits.json"
SPLITS = ("train", "dev", "test")


class DataError(InputError, RuntimeError):
    """The annotations cannot be built into a corpus (names what and where)."""


def load_real(pass_name: str = "kazinform") -> list[Record]:
    """Hydrate every stored annotation of a pass with its text from ../shared."""
    articles = kazinform_articles()
    held = holdout_urls()
    records = []
    for path in sorted((ANNOTATIONS_DIR / pass_name).glob("*.json")):
        annotation = json.loads(path.read_text(encoding="utf-8"))
        url = annotation["url"]
        if url in held:
            raise DataError(f"{path}: {url} is a blind-holdout article and must not be annotated")
        if url not in articles:
            raise DataError(f"{path}: source article {url} is missing from the shared corpus")
        records.append(hydrate(annotation, articles[url], str(path)))
    return records


def load_authored(root: Path = AUTHORED_DIR) -> list[Record]:
    return [compile_authored(p) for p in sorted(root.rglob("*.ann"))]


def _order_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def assign_splits(real: list[Record]) -> dict[str, str]:
    """Url -> split, stratified by sub-category and by the rarest sector an article has.

    Within a sub-category, articles are ordered by their rarest label, then by a hash
    of the url, and dealt out test, dev, train, train, train: each label group is
    spread over the splits, so rare labels (water) reach dev and test at all.
    """
    totals = Counter(label for r in real for p in r.paragraphs for label in p.sectors)
    rank = {label: i for i, (label, _) in enumerate(sorted(totals.items(), key=lambda x: x[1]))}
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in real:
        groups[r.extra.get("subcategory", "")].append(r)
    split_of: dict[str, str] = {}
    deal = ("test", "dev", "train", "train", "train")
    for _, group in sorted(groups.items()):

        def key(r: Record) -> tuple[int, str]:
            labels = {label for p in r.paragraphs for label in p.sectors}
            return min((rank[label] for label in labels), default=len(rank)), _order_key(
                r.extra["url"]
            )

        for i, r in enumerate(sorted(group, key=key)):
            split_of[r.extra["url"]] = deal[i % len(deal)]
    return split_of


def frozen_splits(real: list[Record], path: Path = SPLITS_FILE) -> dict[str, str]:
    """The committed url -> split map; articles new to it are assigned and reported."""
    frozen = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    new = [r for r in real if r.extra["url"] not in frozen]
    if new:
        fresh = assign_splits(new)
        frozen.update(fresh)
        print(f"assigned {len(fresh)} new articles to splits in {path}", file=sys.stderr)
        path.write_text(json.dumps(dict(sorted(frozen.items())), indent=0) + "\n")
    return frozen


def build(out_dir: Path = BUILD_DIR) -> dict[str, list[Record]]:
    real = load_real()
    authored = load_authored()
    split_of = frozen_splits(real)
    splits: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for r in real:
        splits[split_of[r.extra["url"]]].append(r)
    for r in kaznerd.load_labels():  # real Cyrillic sentences, split by sentence
        splits[kaznerd.split_of(r.extra["kaznerd_index"])].append(r)
    splits["train"] += authored
    for name, records in splits.items():
        for r in records:
            problems = check_record(r)
            if problems:
                field, message = problems[0]
                raise DataError(f"{r.id}: {field}: {message}")
        write_records(records, out_dir / f"{name}.jsonl")
    manifest = {
        name: {
            "articles": len(records),
            "sha256": hashlib.sha256((out_dir / f"{name}.jsonl").read_bytes()).hexdigest(),
        }
        for name, records in splits.items()
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return splits


def quote_form(text: str, start: int, end: int) -> str:
    """How a quote is marked: multi-line, dash-opened, guillemets or no opening mark."""
    if "\n" in text[start:end]:
        return "multi-line"
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if re.fullmatch(r"\s*[–—-]\s*", before):
        return "dash-opened"
    if before.rstrip()[-1:] in "«\"“„'" and before:
        return "guillemets"
    return "no opening mark"


@dataclass
class Stats:
    articles: Counter
    paragraphs: Counter
    chrome: Counter
    sectors: dict[tuple[str, str], Counter]  # (split, source) -> label counts
    quotes: Counter  # (split, form)


def compute_stats(splits: dict[str, list[Record]]) -> Stats:
    stats = Stats(Counter(), Counter(), Counter(), defaultdict(Counter), Counter())
    for split, records in splits.items():
        for r in records:
            key = (split, r.source or "")
            stats.articles[key] += 1
            for p in r.paragraphs:
                stats.paragraphs[key] += 1
                stats.chrome[key] += not p.body
                stats.sectors[key].update(p.sectors)
            for q in r.quotes:
                stats.quotes[(split, quote_form(r.text, q.start, q.end))] += 1
    return stats


def stats_markdown(splits: dict[str, list[Record]]) -> str:
    s = compute_stats(splits)
    keys = [
        (sp, src)
        for sp in SPLITS
        for src in ("kazinform", "kaznerd", "authored")
        if s.articles[(sp, src)]
    ]
    head = "| split | source | articles | paragraphs | chrome | " + " | ".join(SECTORS) + " |"
    rows = [head, "|" + "---|" * (5 + len(SECTORS))]
    for key in keys:
        cells = [key[0], key[1], s.articles[key], s.paragraphs[key], s.chrome[key]]
        cells += [s.sectors[key][label] for label in SECTORS]
        rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    rows.append("")
    for src in ("kazinform", "kaznerd"):
        real_eval: Counter = Counter()
        for sp in ("dev", "test"):
            real_eval.update(s.sectors[(sp, src)])
        rows.append(
            f"Real positives in dev+test ({src}): "
            + ", ".join(f"{label} {real_eval[label]}" for label in SECTORS)
            + "."
        )
    forms = ["dash-opened", "guillemets", "no opening mark", "multi-line"]
    rows += ["", "| split | " + " | ".join(forms) + " | all |", "|" + "---|" * (len(forms) + 2)]
    for sp in SPLITS:
        counts = [s.quotes[(sp, f)] for f in forms]
        rows.append(f"| {sp} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    return "\n".join(rows)


def agreement_markdown(first: str = "kazinform", second: str = "kazinform-agreement") -> str:
    """Cohen's kappa per label between two passes over the same articles."""

    a = {r.extra["url"]: r for r in load_real(first)}
    b = {r.extra["url"]: r for r in load_real(second)}
    common = sorted(set(a) & set(b))
    if not common:
        raise DataError(f"no article is annotated in both {first!r} and {second!r}")
    paragraphs = sum(len(a[u].paragraphs) for u in common)
    return _kappa_table(
        [a[u] for u in common],
        [b[u] for u in common],
        f"{len(common)} articles ({paragraphs} paragraphs)",
    )


def _kappa_table(a: list[Record], b: list[Record], what: str) -> str:
    from sklearn.metrics import cohen_kappa_score, f1_score

    from salatag.metrics import quote_metrics

    rows = [
        f"{what} annotated twice, blind.",
        "",
        "| label | kappa | positives (1st / 2nd) |",
        "|---|---|---|",
    ]
    for label in (*SECTORS, "chrome"):
        x, y = [], []
        for ra, rb in zip(a, b, strict=True):
            for p, q in zip(ra.paragraphs, rb.paragraphs, strict=True):
                x.append(label in p.sectors if label != "chrome" else not p.body)
                y.append(label in q.sectors if label != "chrome" else not q.body)
        agree = any(x) or any(y)
        kappa = cohen_kappa_score(x, y) if agree and x != y else (1.0 if agree else float("nan"))
        rows.append(f"| {label} | {kappa:.3f} | {sum(x)} / {sum(y)} |")
    tx = [t for r in a for t in quote_tokens(r.text, r.quotes)]
    ty = [t for r in b for t in quote_tokens(r.text, r.quotes)]
    rows.append(
        f"| quote tokens | {cohen_kappa_score(tx, ty):.3f} | {sum(tx)} / {sum(ty)} "
        f"(token F1 {f1_score(tx, ty):.3f}) |"
    )
    spans = quote_metrics(a, b)
    rows += [
        "",
        f"Quote spans: {spans['gold_quotes']} / {spans['predicted_quotes']}; span F1 "
        f"{spans['span_exact']['f1']:.3f} exact, {spans['span_overlap']['f1']:.3f} at ≥ 50 % "
        f"overlap; the same speaker on {spans['speaker_accuracy']:.1%} of matched quotes "
        "(compared after case-folding).",
    ]
    return "\n".join(rows)


AGREEMENT_PASSES = [
    (
        "Sample 1, first pass vs blind second pass (before the rules were clarified)",
        "kazinform-firstpass",
        "kazinform-agreement",
    ),
    (
        "Sample 2, final labels vs a new blind pass (after the clarifications and re-pass)",
        "kazinform",
        "kazinform-agreement2",
    ),
]


KAZNERD_AGREEMENT = ANNOTATIONS_DIR / "kaznerd-agreement" / "valid.jsonl"


def kaznerd_agreement_markdown(second: Path = KAZNERD_AGREEMENT) -> str:
    """The KazNERD labels vs a blind second pass over a 10 % sample of the sentences."""
    first = {r.id: r for r in kaznerd.load_labels()}
    blind = {r.id: r for r in kaznerd.load_labels(second)}
    common = sorted(set(first) & set(blind))
    return _kappa_table(
        [first[i] for i in common], [blind[i] for i in common], f"{len(common)} sentences"
    )


def agreement_report() -> str:
    parts = []
    for title, first, second in AGREEMENT_PASSES:
        if (ANNOTATIONS_DIR / second).exists() and any((ANNOTATIONS_DIR / second).iterdir()):
            parts += [f"### {title}", "", agreement_markdown(first, second), ""]
    if KAZNERD_AGREEMENT.exists():
        title = (
            "KazNERD sentences, first pass vs blind second passes (a seeded 10 % sample, "
            "plus 142 security-cue sentences, since the sample held only 5 security positives)"
        )
        parts += [f"### {title}", "", kaznerd_agreement_markdown(), ""]
    return "\n".join(parts).rstrip()


BEGIN, END = "<!-- stats:begin (python -m salatag.data card) -->", "<!-- stats:end -->"
AGREE_BEGIN = "<!-- agreement:begin (python -m salatag.data card) -->"
AGREE_END = "<!-- agreement:end -->"


def load_build(build_dir: Path = BUILD_DIR) -> dict[str, list[Record]]:
    missing = [s for s in SPLITS if not (build_dir / f"{s}.jsonl").exists()]
    if missing:
        raise DataError(
            f"{build_dir} has no {missing[0]}.jsonl: run `python -m salatag.data build`"
        )
    return {s: list(read_records(build_dir / f"{s}.jsonl")) for s in SPLITS}


def replace_block(content: str, begin: str, end: str, body: str) -> str:
    if begin not in content or end not in content:
        raise DataError(f"the card lacks the markers {begin} … {end}")
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def write_card(table: str, agreement: str, card: Path = CARD) -> None:
    content = replace_block(card.read_text(encoding="utf-8"), BEGIN, END, table)
    content = replace_block(content, AGREE_BEGIN, AGREE_END, agreement)
    card.write_text(content, encoding="utf-8")


def _run(args: argparse.Namespace) -> None:
    if args.command == "build":
        splits = build(args.out)
        sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
        print(f"wrote {args.out}/{{train,dev,test}}.jsonl: {sizes} articles")
    elif args.command == "agreement":
        print(agreement_report())
    else:
        table = stats_markdown(build(args.out))
        if args.command == "card":
            write_card(table, agreement_report())
            print(f"updated {CARD}")
        else:
            print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salatag.data", description=__doc__)
    parser.add_argument("command", choices=["build", "stats", "agreement", "card"])
    parser.add_argument("--out", type=Path, default=BUILD_DIR)
    args = parser.parse_args(argv)
    return run_command(lambda: _run(args), (DataError, AnnotationError, CorpusError))


if __name__ == "__main__":
    sys.exit(main())
