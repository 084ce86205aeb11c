"""summary.md and the matplotlib charts for `python -m salatag.summary`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salatag.labels import SECTORS
from salatag.summary import SHARE_BINS, ArchiveSummary, by_period

COLORS = {
    "trade": "#3b82f6",
    "transport": "#22c55e",
    "security": "#ef4444",
    "water": "#06b6d4",
    "energy": "#f59e0b",
    "none": "#c4c9cf",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _stacked_bars(ax: Any, names: list[str], counts: Any, keys: list[str]) -> None:
    """Horizontal bars, one per name (first on top), one segment per key."""
    left = [0.0] * len(names)
    ys = list(range(len(names)))[::-1]
    for key in keys:
        widths = [counts.get((n, key), 0) for n in names]
        if any(widths):
            ax.barh(ys, widths, left=left, color=COLORS[key], label=key)
            left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, [n if len(n) <= 32 else n[:31] + "…" for n in names])
    ax.legend(loc="lower right", fontsize=8)


def chart_over_time(summary: ArchiveSummary, path: Path) -> bool:
    if not summary.day_articles:
        return False
    plt = _pyplot()
    name, periods, table = by_period(summary)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(periods))
    for s in SECTORS:
        ax.plot(xs, [table[p][s] for p in periods], color=COLORS[s], label=s, marker=".")
    step = max(1, len(periods) // 12)
    ax.set_xticks(list(xs)[::step], periods[::step], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"articles per {name}")
    ax.set_title(f"Articles with each sector, by {name}")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


# the bar charts of the most frequent names: chart -> the summary's name counts and
# (name, key) counts, the keys (stacked segments), the x label and the title ({n}: how
# many names are drawn)
RANKED_CHARTS = {
    "sectors_by_source": ("source_articles", "source_sectors", list(SECTORS),
                          "articles with the sector (an article counts once per sector)",
                          "Sectors by source (top {n} sources)"),
    "top_speakers": ("speakers", "speaker_sectors", [*SECTORS, "none"],
                     "quotes, by the sectors of the paragraphs they are in",
                     "Top {n} speakers and what they spoke about"),
}  # fmt: skip


def chart_ranked(summary: ArchiveSummary, path: Path, top: int, chart: str) -> bool:
    """Stacked horizontal bars for the `top` names of one of `RANKED_CHARTS`; no file
    (False) when there are no names."""
    ranking, counts, keys, xlabel, title = RANKED_CHARTS[chart]
    names = [n for n, _ in getattr(summary, ranking).most_common(top)]
    if not names:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * len(names)))
    _stacked_bars(ax, names, getattr(summary, counts), keys)
    ax.set_xlabel(xlabel)
    ax.set_title(title.format(n=len(names)))
    return _save(plt, fig, path)


def chart_quoted_share(summary: ArchiveSummary, path: Path, top: int) -> bool:
    if not summary.status["tagged"]:
        return False
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 100 / SHARE_BINS
    left.bar([i * width for i in range(SHARE_BINS)], summary.share_hist, width=width, align="edge")
    left.set_xlabel("quoted share of the article's body text (%)")
    left.set_ylabel("articles")
    left.set_title("Quoted text per article")
    sources = [s for s, _ in summary.source_articles.most_common(top)]
    right.barh(range(len(sources))[::-1], [100 * summary.quoted_share(s) for s in sources])
    right.set_yticks(range(len(sources))[::-1], sources)
    right.set_xlabel("quoted share of body text (%)")
    right.set_title("Quoted text by source")
    return _save(plt, fig, path)


def write_charts(summary: ArchiveSummary, out: Path, top: int = 15) -> dict[str, str]:
    """Chart name -> PNG file name, for the charts the data allows."""
    made = {}
    for name, draw in (
        ("sectors_over_time", lambda p: chart_over_time(summary, p)),
        ("sectors_by_source", lambda p: chart_ranked(summary, p, top, "sectors_by_source")),
        ("top_speakers", lambda p: chart_ranked(summary, p, top, "top_speakers")),
        ("quoted_share", lambda p: chart_quoted_share(summary, p, top)),
    ):
        if draw(out / f"{name}.png"):
            made[name] = f"{name}.png"
    return made


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _overview(s: ArchiveSummary, inputs: list[str]) -> list[str]:
    tagged = s.status["tagged"]
    lines = [
        "# Archive summary",
        "",
        f"Input: {', '.join(inputs)}. **{sum(s.status.values())} records**: {tagged} tagged, "
        f"{s.status['skipped']} skipped, {s.status['failed']} failed; "
        f"{s.paragraphs['all']} paragraphs ({s.paragraphs['body']} body), {s.quotes} quotes "
        f"({s.unattributed} without a speaker); quoted share of body text "
        f"{_pct(s.quoted_share())}.",
        "",
        "## Sectors",
        "",
    ]
    rows = [
        [x, s.sector_paragraphs[x], s.sector_articles[x], _pct(s.sector_articles[x] / tagged)]
        for x in SECTORS
        if tagged
    ]
    return lines + _table(["sector", "paragraphs", "articles", "of tagged articles"], rows)


def _over_time(s: ArchiveSummary, charts: dict[str, str]) -> list[str]:
    lines = ["", "## Over time", ""]
    if "sectors_over_time" not in charts:
        return [*lines, "The records carry no `date` or `datetime` field."]
    name, periods, table = by_period(s)
    lines += [f"![sectors over time]({charts['sectors_over_time']})", ""]
    if s.undated:
        lines += [f"{s.undated} tagged records had no readable date.", ""]
    rows = [[p, table[p]["all"], *(table[p][x] for x in SECTORS)] for p in periods]
    return lines + _table([name, "articles", *SECTORS], rows)


def _sources_and_speakers(s: ArchiveSummary, charts: dict[str, str], top: int) -> list[str]:
    lines = ["", "## By source", ""]
    if "sectors_by_source" in charts:
        lines += [f"![sectors by source]({charts['sectors_by_source']})", ""]
    rows = [
        [src, n, *(s.source_sectors[(src, x)] for x in SECTORS), _pct(s.quoted_share(src))]
        for src, n in s.source_articles.most_common(top)
    ]
    lines += _table(["source", "articles", *SECTORS, "quoted"], rows)
    lines += ["", "## Top speakers", ""]
    if "top_speakers" in charts:
        lines += [f"![top speakers]({charts['top_speakers']})", ""]
    rows = []
    for who, n in s.speakers.most_common(top):
        about = sorted(
            ((x, s.speaker_sectors[(who, x)]) for x in [*SECTORS, "none"]), key=lambda kv: -kv[1]
        )
        rows.append([who, n, ", ".join(f"{x} {k}" for x, k in about if k)])
    lines += _table(["speaker", "quotes", "sectors of the quoted paragraphs"], rows)
    lines += ["", "## Quoted text", ""]
    if "quoted_share" in charts:
        lines += [f"![quoted share]({charts['quoted_share']})", ""]
    return lines


def write_markdown(
    summary: ArchiveSummary, path: Path, charts: dict[str, str], inputs: list[str], top: int = 20
) -> None:
    lines = _overview(summary, inputs) + _over_time(summary, charts)
    lines += _sources_and_speakers(summary, charts, top)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
