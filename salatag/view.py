"""A browsable HTML view of tagged articles: one self-contained file.

    python -m salatag.view tags.jsonl --out tags.html

Each article with its paragraphs, sector chips with scores, quotes highlighted with
their speaker, page chrome greyed; filters by sector and speaker, and text search.
The records are embedded as JSON (inside a `<script type="application/json">`, with
`<`, `>` and `&` escaped, so no text can close it) and rendered by the page's own
script with `textContent` only, a page at a time, so 10 000 articles stay responsive
and no article text is ever parsed as HTML. CSS and JS are inline and a Content
Security Policy forbids every fetch: the file opens offline, from anywhere.
"""

from __future__ import annotations

import html
import json
import sys
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any, TextIO

from salatag.labels import SECTORS
from salatag.records import json_lines_parser, read_json_lines
from salatag.utf16 import to_utf16

META_FIELDS = ("source", "date", "datetime", "url", "title")  # shown in each header
MAX_SPEAKERS = 2000  # options in the speaker filter (the most quoted)
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_json(obj: Any) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE)


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of one record, in short arrays (the file stays small)."""
    out: dict[str, Any] = {"id": str(record.get("id", "?"))}
    meta = {k: str(record[k]) for k in META_FIELDS if record.get(k) not in (None, "")}
    if meta:
        out["meta"] = meta
    out.update(lang=record.get("lang"), script=record.get("script"))
    if "paragraphs" not in record:
        if record.get("error"):
            out["status"] = f"failed: {record['error']}"
        else:
            out["status"] = f"skipped: {record['skipped']}" if record.get("skipped") else "no tags"
        return out
    out["text"] = text = record.get("text", "")
    js = to_utf16(text)  # the page slices JS strings: UTF-16 offsets
    out["p"] = [
        [
            js(p["start"]),
            js(p["end"]),
            1 if p.get("body", True) else 0,
            list(p.get("sectors", [])),
            {s: p["scores"][s] for s in p.get("sectors", []) if s in p.get("scores", {})},
        ]
        for p in record["paragraphs"]
    ]
    out["q"] = [
        [js(q["start"]), js(q["end"]), q.get("speaker"), q.get("score")]
        for q in sorted(record.get("quotes", []), key=lambda q: q["start"])
    ]
    return out


def write_view(records: Iterable[dict[str, Any]], out: TextIO, title: str = "salatag") -> int:
    """Stream the records into the page; returns how many articles it holds."""
    template = resources.files("salatag").joinpath("assets/view.html").read_text("utf-8")
    template = template.replace("{{TITLE}}", html.escape(title))
    head, tail = template.split("{{DATA}}")
    sectors: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    out.write(head + '{"articles":[')
    n = 0
    for record in records:
        item = compact(record)
        sectors.update({s for p in item.get("p", []) for s in p[3]})
        speakers.update({q[2] for q in item.get("q", []) if q[2]})
        out.write(("," if n else "") + script_json(item))
        n += 1
    facets = {
        "sectors": [[s, sectors[s]] for s in SECTORS if sectors[s]],
        "speakers": [list(kv) for kv in speakers.most_common(MAX_SPEAKERS)],
    }
    out.write('],"facets":' + script_json(facets) + "}" + tail)
    return n


def main(argv: list[str] | None = None) -> int:
    parser = json_lines_parser("python -m salatag.view", __doc__, "the HTML file to write")
    parser.add_argument("--title", default=None, help="page title (default: the input name)")
    args = parser.parse_args(argv)
    title = args.title or ", ".join(p.name for p in args.inputs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            n = write_view(read_json_lines(args.inputs), fh, title)
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        tmp.unlink(missing_ok=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    tmp.replace(args.out)
    print(f"wrote {args.out} ({n} articles)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
