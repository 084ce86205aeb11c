"""Summarise a tagged archive: summary.md plus PNG charts.

    python -m salatag.summary tags.jsonl [more.jsonl ...] --out summary/

Sector counts over time (when the records carry a `date` or `datetime` field, passed
through by `python -m infer`), by source (the `source` field, else the domain of
`url`), the most quoted speakers with the sectors of what they said, and the share of
quoted text. Records are read one at a time into counters, so the memory used does
not grow with the archive (speakers are the one open-ended key: the rarest are
dropped when there are very many).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from salatag.records import json_lines_parser, read_json_lines

SHARE_BINS = 20  # histogram of per-article quoted share
MAX_SPEAKERS, KEEP_SPEAKERS = 50_000, 20_000  # bound on the speaker counters


def record_day(record: dict[str, Any]) -> date | None:
    """The day of `date` / `datetime`: ISO text (date or date-time) or a Unix time."""
    value = record.get("date", record.get("datetime"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).date()
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def record_source(record: dict[str, Any]) -> str:
    if record.get("source"):
        return str(record["source"])
    host = urlparse(str(record.get("url") or "")).hostname or ""
    return host.removeprefix("www.") or "unknown"


def _prune(counter: Counter, keep: int) -> None:
    for key, _ in counter.most_common()[keep:]:
        del counter[key]


@dataclass
class ArchiveSummary:
    """Counters only: one `add` per record, nothing kept of the record itself."""

    status: Counter[str] = field(default_factory=Counter)
    paragraphs: Counter[str] = field(default_factory=Counter)  # all, body
    sector_paragraphs: Counter[str] = field(default_factory=Counter)
    sector_articles: Counter[str] = field(default_factory=Counter)
    day_articles: Counter[date] = field(default_factory=Counter)
    day_sectors: Counter[tuple[date, str]] = field(default_factory=Counter)
    source_articles: Counter[str] = field(default_factory=Counter)
    source_sectors: Counter[tuple[str, str]] = field(default_factory=Counter)
    source_chars: Counter[tuple[str, str]] = field(default_factory=Counter)  # body, quoted
    speakers: Counter[str] = field(default_factory=Counter)
    speaker_sectors: Counter[tuple[str, str]] = field(default_factory=Counter)
    share_hist: list[int] = field(default_factory=lambda: [0] * SHARE_BINS)
    quotes: int = 0
    unattributed: int = 0
    undated: int = 0

    def add(self, record: dict[str, Any]) -> None:
        if "error" in record or "skipped" in record or "paragraphs" not in record:
            self.status["failed" if "error" in record else "skipped"] += 1
            return
        self.status["tagged"] += 1
        paragraphs, quotes = record["paragraphs"], record.get("quotes", [])
        sectors = {s for p in paragraphs for s in p["sectors"]}
        self.paragraphs.update(all=len(paragraphs), body=sum(p["body"] for p in paragraphs))
        self.sector_paragraphs.update(s for p in paragraphs for s in p["sectors"])
        self.sector_articles.update(sectors)
        day, source = record_day(record), record_source(record)
        if day is None:
            self.undated += 1
        else:
            self.day_articles[day] += 1
            self.day_sectors.update((day, s) for s in sectors)
        self.source_articles[source] += 1
        self.source_sectors.update((source, s) for s in sectors)
        self._add_quotes(paragraphs, quotes, source)

    def _add_quotes(self, paragraphs: list[dict], quotes: list[dict], source: str) -> None:
        body = sum(p["end"] - p["start"] for p in paragraphs if p["body"])
        quoted = sum(q["end"] - q["start"] for q in quotes)
        self.source_chars.update({(source, "body"): body, (source, "quoted"): quoted})
        share = min(quoted / body, 1.0) if body else 0.0
        self.share_hist[min(int(share * SHARE_BINS), SHARE_BINS - 1)] += 1
        self.quotes += len(quotes)
        for q in quotes:
            speaker = " ".join((q.get("speaker") or "").split())
            if not speaker:
                self.unattributed += 1
                continue
            self.speakers[speaker] += 1
            about = {
                s
                for p in paragraphs
                if p["start"] < q["end"] and q["start"] < p["end"]
                for s in p["sectors"]
            }
            self.speaker_sectors.update((speaker, s) for s in about or {"none"})
        if len(self.speakers) > MAX_SPEAKERS:
            _prune(self.speakers, KEEP_SPEAKERS)
            kept = set(self.speakers)
            for key in [k for k in self.speaker_sectors if k[0] not in kept]:
                del self.speaker_sectors[key]

    def quoted_share(self, source: str | None = None) -> float:
        keys = [source] if source else list(self.source_articles)
        body = sum(self.source_chars[(s, "body")] for s in keys)
        return sum(self.source_chars[(s, "quoted")] for s in keys) / body if body else 0.0


def summarize_records(records: Iterable[dict[str, Any]]) -> ArchiveSummary:
    summary = ArchiveSummary()
    for record in records:
        summary.add(record)
    return summary


def period_of(days: list[date]) -> tuple[str, Any]:
    """Days, ISO weeks or months, whichever gives a readable number of points."""
    span = (max(days) - min(days)).days if days else 0
    if span <= 62:
        return "day", lambda d: d.isoformat()
    if span <= 366:
        return "week", lambda d: "{}-W{:02d}".format(*d.isocalendar()[:2])
    return "month", lambda d: d.strftime("%Y-%m")


def by_period(summary: ArchiveSummary) -> tuple[str, list[str], dict[str, Counter[str]]]:
    """(period name, periods in order, sector counts per period); articles under "all"."""
    name, key = period_of(list(summary.day_articles))
    table: dict[str, Counter[str]] = {}
    for day, n in summary.day_articles.items():
        table.setdefault(key(day), Counter())["all"] += n
    for (day, sector), n in summary.day_sectors.items():
        table[key(day)][sector] += n
    return name, sorted(table), table


def main(argv: list[str] | None = None) -> int:
    from salatag.summary_report import write_charts, write_markdown

    parser = json_lines_parser("python -m salatag.summary", __doc__, "folder for summary.md + PNGs")
    parser.add_argument("--top", type=int, default=15, help="sources and speakers charted")
    args = parser.parse_args(argv)
    try:
        summary = summarize_records(read_json_lines(args.inputs))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    charts = write_charts(summary, args.out, args.top)
    write_markdown(summary, args.out / "summary.md", charts, [p.name for p in args.inputs])
    print(f"wrote {args.out / 'summary.md'} and {len(charts)} charts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
