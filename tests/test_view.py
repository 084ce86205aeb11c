"""The HTML view in a real headless browser (Debian's chromium, driven by selenium).

The page is built by the real CLI from the examples as tagged by the shipped model,
plus hand-written records: one whose text and fields are HTML/script injections,
one with an emoji before its quote (JS strings count UTF-16 units), and 10 000
small synthetic articles for the lazy rendering. Set SALATAG_VIEW_SCREENSHOT=PATH to
keep the examples' screenshot (docs/view.png is made that way).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salatag.article import paragraph_spans
from salatag.corpus import REPO_ROOT
from salatag.labels import SECTORS

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]
FIND = "const a = [...document.querySelectorAll('.art')].find(x => x.dataset.id === arguments[0]);"
ARTICLE_DOM = (
    FIND
    + """return {
  marks: [...a.querySelectorAll('mark.quote')].map(m => [+m.dataset.q, m.textContent]),
  speakers: [...a.querySelectorAll('.speaker')].map(s => [+s.dataset.q, s.textContent]),
  rows: [...a.querySelectorAll('.para')].map(p => [
    p.classList.contains('chrome'),
    [...p.querySelectorAll('.chip')].map(c => [c.dataset.sector, c.querySelector('b').textContent]),
  ]),
  texts: ['h2', '.meta', 'mark.quote', '.speaker', '.ptext']
    .map(k => a.querySelector(k)?.textContent),
};"""
)
COLORS = "return [...document.querySelectorAll(arguments[0])].map(e => getComputedStyle(e).color)"
IMG_OR_TAGS = "return document.querySelectorAll('img, i, :not(.chip) > b').length"
ATTR = "return [...document.querySelectorAll(arguments[0])].map(e => e.dataset[arguments[1]])"
PAYLOAD = '</script><img src=x onerror="window.__pwned=1"><!--'
XSS_TEXT = (
    f"Қазақстан мен Қытай сауда келісімін талқылады {PAYLOAD}\n"
    "– Біз <b>бірге</b> жұмыс істейміз, – деді <script>window.__pwned=2</script> министр."
)
EMOJI_TEXT = "Қазақстан 🇰🇿 мен Өзбекстан су бөлуді талқылады 💧\n– Су ортақ игілік, – деді министр."


def hand_record(rid: str, text: str, quote: str, speaker: str | None, **extra) -> dict:
    """A record in the tagger's format, written by hand around one quote."""
    paragraphs = [
        {
            "start": s.start,
            "end": s.end,
            "body": True,
            "sectors": ["trade"],
            "scores": {label: (0.91 if label == "trade" else 0.02) for label in SECTORS},
        }
        for s in paragraph_spans(text)
    ]
    start = text.index(quote)
    q = {"start": start, "end": start + len(quote), "speaker": speaker, "score": 0.9}
    return {"id": rid, "text": text, "lang": "kk", "script": "cyrl", **extra} | {
        "paragraphs": paragraphs,
        "quotes": [q],
    }


def build_view(records: list[dict], tmp: Path, name: str) -> Path:
    src, out = tmp / f"{name}.jsonl", tmp / f"{name}.html"
    with open(src, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    cmd = [sys.executable, "-m", "salatag.view", str(src), "--out", str(out), "--title", name]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def records(example_tags: Path) -> list[dict]:
    tagged = [json.loads(x) for x in example_tags.read_text(encoding="utf-8").splitlines()]
    xss = hand_record(
        "xss-<img src=x onerror=window.__pwned=3>",
        XSS_TEXT,
        "Біз <b>бірге</b> жұмыс істейміз",
        "<i>министр</i>",
        source=PAYLOAD,
    )
    emoji = hand_record("emoji", EMOJI_TEXT, "Су ортақ игілік", "министр")
    return [*tagged, xss, emoji]


@pytest.fixture(scope="module")
def page(records: list[dict], tmp_path_factory) -> Path:
    return build_view(records, tmp_path_factory.mktemp("view"), "examples")


@pytest.fixture(scope="module")
def driver() -> Iterator:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            "chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver): "
            "apt-get install -y chromium chromium-driver (.ci/run does it)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="salatag-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(path.as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.body.dataset.ready")
    )


def shown_ids(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.art')].map(a => a.dataset.id)"
    )


def wait_for(driver, check, what: str) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 10).until(lambda d: check())
    except TimeoutException:
        pytest.fail(f"the page never showed {what}")


def test_the_file_is_self_contained_and_the_data_cannot_close_its_script(page: Path) -> None:
    template = (REPO_ROOT / "salatag" / "assets" / "view.html").read_text(encoding="utf-8")
    for fetching in ("http:", "https:", "src=", "href=", "@import", "url("):
        assert fetching not in template
    assert "default-src 'none'" in template  # the CSP forbids every fetch
    html = page.read_text(encoding="utf-8")
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "<img" not in html and "<!--" not in html


def test_quotes_speakers_chips_and_chrome_in_the_dom(driver, page, records, tmp_path) -> None:
    open_page(driver, page)
    tagged = [r for r in records if "paragraphs" in r]
    assert shown_ids(driver) == [r["id"] for r in records]
    for r in tagged:
        art = driver.execute_script(ARTICLE_DOM, r["id"])
        quotes = sorted(r["quotes"], key=lambda q: q["start"])
        text = r["text"]
        for k, q in enumerate(quotes):
            got = "".join(t for i, t in art["marks"] if i == k)
            inside = [
                text[max(q["start"], p["start"]) : min(q["end"], p["end"])] for p in r["paragraphs"]
            ]
            assert got == "".join(inside) and got.strip()
        assert art["speakers"] == [
            [k, "— " + (q["speaker"] or "speaker unknown")] for k, q in enumerate(quotes)
        ]
        assert art["rows"] == [
            [not p["body"], [[s, f"{p['scores'][s]:.2f}"] for s in p["sectors"]]]
            for p in r["paragraphs"]
        ]
    grey = driver.execute_script(COLORS, ".para.chrome .ptext")
    ink = driver.execute_script(COLORS, ".para.body .ptext")
    assert grey and set(grey).isdisjoint(ink), "chrome is greyed"
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    shot = tmp_path / "view.png"
    assert driver.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SALATAG_VIEW_SCREENSHOT"):
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(os.environ["SALATAG_VIEW_SCREENSHOT"])


def test_sector_and_speaker_filters_and_search(driver, page, records) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, page)
    sector, speaker = (
        Select(driver.find_element(By.ID, "sector")),
        Select(driver.find_element(By.ID, "speaker")),
    )
    for label in SECTORS:
        want = [
            r["id"] for r in records if any(label in p["sectors"] for p in r.get("paragraphs", []))
        ]
        if not want:
            continue
        sector.select_by_value(label)
        wait_for(driver, lambda w=want: shown_ids(driver) == w, f"the {label} articles")
        rows = driver.execute_script(
            "return [...document.querySelectorAll('.para.hit')].map(p => p.dataset.sectors)"
        )
        assert rows and all(label in r.split() for r in rows)
    sector.select_by_value("")
    who = max(
        {q["speaker"] for r in records for q in r.get("quotes", []) if q["speaker"]},
        key=lambda s: sum(q["speaker"] == s for r in records for q in r.get("quotes", [])),
    )
    speaker.select_by_value(who)
    want = [r["id"] for r in records if any(q["speaker"] == who for q in r.get("quotes", []))]
    wait_for(driver, lambda: shown_ids(driver) == want, f"the articles quoting {who}")
    focus = driver.execute_script(
        "return [...document.querySelectorAll('mark.focus')].map(m => m.dataset.speaker)"
    )
    assert focus and set(focus) == {who}
    speaker.select_by_value("")
    box = driver.find_element(By.ID, "search")
    word = "Бакуде"
    want = [
        r["id"] for r in records if word.lower() in (r["id"] + "\n" + r.get("text", "")).lower()
    ]
    assert 0 < len(want) < len(records)
    box.send_keys(word)
    wait_for(driver, lambda: shown_ids(driver) == want, f"the articles with {word!r}")
    box.clear()
    box.send_keys("no such word anywhere")
    wait_for(driver, lambda: shown_ids(driver) == [], "no article for a missing word")
    assert driver.find_element(By.ID, "empty").is_displayed()


def test_untrusted_text_stays_text(driver, page) -> None:
    open_page(driver, page)
    assert driver.execute_script("return window.__pwned") is None
    assert driver.execute_script(IMG_OR_TAGS) == 0
    assert driver.execute_script("return document.scripts.length") == 2
    rid = "xss-<img src=x onerror=window.__pwned=3>"
    art = driver.execute_script(ARTICLE_DOM, rid)["texts"]
    assert art[0] == rid
    assert PAYLOAD in art[1] and PAYLOAD in art[4]
    assert art[2] == "Біз <b>бірге</b> жұмыс істейміз" and art[3] == "— <i>министр</i>"
    emoji = driver.execute_script(ARTICLE_DOM, "emoji")["texts"][2]
    assert emoji == "Су ортақ игілік"  # not shifted by the emoji's two UTF-16 units


def test_ten_thousand_articles_render_a_page_at_a_time(driver, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    text = "Екі ел көлік дәлізін талқылады\n– Жүк тасымалы артады, – деді министр."
    base = hand_record("x", text, "Жүк тасымалы артады", "министр")
    records = []
    for i in range(10_000):
        r = json.loads(json.dumps(base)) | {"id": f"copy-{i:05d}"}
        r["paragraphs"][0]["sectors"] = ["transport"] if i % 4 == 0 else []
        records.append(r)
    open_page(driver, build_view(records, tmp_path, "big"))
    first = len(shown_ids(driver))
    assert 25 <= first <= 200, "a few pages rendered, not 10 000 articles"
    assert driver.find_element(By.ID, "count").text.endswith("of 10000 matching · 10000 articles")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    wait_for(driver, lambda: len(shown_ids(driver)) > first, "more articles on scrolling")
    assert len(shown_ids(driver)) < 10_000
    Select(driver.find_element(By.ID, "sector")).select_by_value("transport")
    wait_for(
        driver,
        lambda: "of 2500 matching" in driver.find_element(By.ID, "count").text,
        "2500 transport articles",
    )
    driver.find_element(By.ID, "search").send_keys("copy-09996")
    wait_for(driver, lambda: shown_ids(driver) == ["copy-09996"], "the one article searched for")
