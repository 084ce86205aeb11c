"""From tag probabilities to quotes as a reader sees them.

The tagger scores subword tokens; readers want whole quotes on word boundaries with
the speaker the attribution names. Decoding therefore works on words (the subword
probabilities of a word are pooled), finds the likeliest valid BIO path, and then
applies what the guidelines say about quote forms: one speech is one span, across
lines too (NOTES Q1, Q5); a stretch with no quote form is narration (Q3); names in
guillemets and emoji are not quotes (Q8). Speakers are found by
`salatag.speakers`. Settings live in `DecoderSettings`, saved in the model's meta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from salatag.quote_forms import ADDRESS, ATTRIBUTION_AFTER, DASH, SAY, UPPER, Span, line_bounds
from salatag.speakers import (
    interview_speakers,
    is_pronoun,
    reported_speaker,
    resolve_pronoun,
    speaker_of,
    speech_speaker,
)

TAGS = ("O", "B-QUOTE", "I-QUOTE", "B-SPEAKER", "I-SPEAKER")
QUOTE, SPEAKER = 1, 3  # the B tag of each span type; I is B + 1

EDGE = " \t\n,–—-:;«»\"“”'„"
_WORD = re.compile(r"\w+|[^\w\s]")


class DecoderSettings(BaseModel):
    """How spans are decoded; stored in the model's meta so a model decodes the same
    everywhere (chosen on dev with scripts/decoding.py)."""

    model_config = ConfigDict(extra="forbid")

    method: str = "bio"  # bio | argmax | smooth
    switch_penalty: float = 2.0  # nats to change kind in "smooth"
    pooling: str = "mean"  # how subword probabilities make a word's: mean | first
    merge_lines: bool = True  # one speech over consecutive lines is one span
    require_form: bool = True  # drop stretches with no quote form (NOTES Q3, Q8)
    # a « left open runs to its », an address or lead-in opens a speech that goes on until
    # the reporter speaks again (NOTES Q1, Q5)
    speeches: bool = True
    # where speakers come from: the tagger's speaker spans, the attribution text, or
    # one with the other as fallback
    speaker: str = "rule_then_model"  # model | rule | rule_then_model | model_then_rule


# --- BIO paths -------------------------------------------------------------------


def _allowed_transitions() -> np.ndarray:
    """BIO: an I tag follows only a B or I of its own type; anything else is free."""
    allowed = np.ones((len(TAGS), len(TAGS)), dtype=bool)
    for j, tag in enumerate(TAGS):
        if tag.startswith("I-"):
            allowed[:, j] = False
            allowed[TAGS.index("B-" + tag[2:]), j] = allowed[j, j] = True
    return allowed


ALLOWED = _allowed_transitions()


def viterbi(logp: np.ndarray, transition: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The best path through per-step log-probabilities (T, K) and transitions (K, K)."""
    score = start + logp[0]
    back = np.zeros(logp.shape, dtype=np.int64)
    for t in range(1, len(logp)):
        candidates = score[:, None] + transition  # (previous, current)
        back[t] = candidates.argmax(0)
        score = candidates.max(0) + logp[t]
    path = np.empty(len(logp), dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(len(logp) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def decode_tags(probs: np.ndarray, method: str = "bio", switch_penalty: float = 2.0) -> np.ndarray:
    """Tag ids per step from the tag probabilities.

    argmax: per step; a long quote breaks wherever one step dips below 0.5.
    bio: the likeliest valid BIO sequence (an I follows a B or I of its type).
    smooth: runs of the likeliest kind (outside, quote, speaker), with a cost for every
    change of kind; a run is split again where a B is the likeliest tag.
    """
    if not len(probs):
        return np.zeros(0, dtype=np.int64)
    if method == "argmax":
        return probs.argmax(-1)
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    if method == "bio":
        transition = np.where(ALLOWED, 0.0, -np.inf)
        start = np.array([0.0 if not t.startswith("I-") else -np.inf for t in TAGS])
        return viterbi(logp, transition, start)
    if method != "smooth":
        raise ValueError(f"decoding {method!r}: argmax, bio or smooth")
    kinds = np.stack([probs[:, 0], probs[:, 1] + probs[:, 2], probs[:, 3] + probs[:, 4]], 1)
    transition = -switch_penalty * (1 - np.eye(3))
    kind = viterbi(np.log(np.clip(kinds, 1e-9, 1.0)), transition, np.zeros(3))
    labels = np.zeros(len(probs), dtype=np.int64)
    for t, k in enumerate(kind):
        if k == 0:
            continue
        b, i = 2 * k - 1, 2 * k
        new_run = t == 0 or kind[t - 1] != k
        labels[t] = b if new_run or probs[t, b] > probs[t, i] else i
    return labels


def bio_spans(labels: np.ndarray, probs: np.ndarray, begin: int) -> list[tuple[int, int, float]]:
    """BIO spans (first step, last step, mean probability) of one type. Lenient: an I
    after O starts a span too, as the tagger sometimes misses the B."""
    spans, start = [], None
    for t, label in enumerate([*list(labels), 0]):
        inside = label in (begin, begin + 1)
        if start is not None and (not inside or label == begin):
            conf = float(probs[start:t, begin : begin + 2].sum(-1).mean())
            spans.append((start, t - 1, conf))
            start = None
        if inside and start is None:
            start = t
    return spans


# --- words -------------------------------------------------------------------------


@dataclass
class Words:
    """Word units of the article's view (letters/digits runs, single punctuation marks)
    with the pooled tag probabilities of the tokens that cover them."""

    starts: np.ndarray  # view offsets
    ends: np.ndarray
    probs: np.ndarray  # (words, tags)


def pool_words(
    view_text: str,
    paragraphs: list[tuple[int, int]],
    tag_probs: np.ndarray,
    starts: list[int],
    ends: list[int],
    pooling: str = "mean",
) -> Words:
    """Tag probabilities per word, so a span can only start or end between words."""
    owner = np.full(len(view_text) + 1, -1, dtype=np.int64)
    for t, (s, e) in enumerate(zip(starts, ends, strict=True)):
        owner[s:e] = t
    w_start, w_end, rows = [], [], []
    for a, b in paragraphs:
        for m in _WORD.finditer(view_text, a, b):
            tokens = [t for t in dict.fromkeys(owner[m.start() : m.end()].tolist()) if t >= 0]
            if not tokens:
                continue
            w_start.append(m.start())
            w_end.append(m.end())
            chosen = tokens[:1] if pooling == "first" else tokens
            rows.append(tag_probs[chosen].mean(0))
    probs = np.array(rows, dtype=np.float32).reshape(-1, len(TAGS))
    return Words(np.array(w_start, dtype=np.int64), np.array(w_end, dtype=np.int64), probs)


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip the marks the guidelines keep outside a span: dashes, guillemets, commas."""
    while start < end and text[start] in EDGE:
        start += 1
    while end > start and text[end - 1] in EDGE:
        end -= 1
    return start, end


def _partner(text: str, at: int, start: int, end: int) -> int | None:
    """Where the guillemet at `at` is closed (or opened), inside text[start:end]."""
    step, here, there = (1, "«", "»") if text[at] == "«" else (-1, "»", "«")
    depth, i = 0, at
    while start <= i < end:
        depth += (text[i] == here) - (text[i] == there)
        if depth == 0:
            return i
        i += step
    return None


def keep_names(text: str, q: Span) -> tuple[int, int]:
    """Put back a guillemet `trim` took from the tagger's span when it belongs to a name
    inside the quote (`«Этнография» залына …`, `… «Алтын адам»`): its partner is in
    the span with words beyond it. Done last, so the rules before it see the quote
    marks outside; only where the tagger took the mark in (Kazinform's labels keep
    it, KazNERD's leave it out, and the tagger learnt both)."""
    start, end = trim(text, q.start, q.end)
    if q.tagged[0] and start > 0 and text[start - 1] == "«":
        other = _partner(text, start - 1, start - 1, end)
        if other is not None and re.search(r"\w", text[other + 1 : end]):
            start -= 1
    if q.tagged[1] and end < len(text) and text[end] == "»":
        other = _partner(text, end, start, end + 1)
        if other is not None and re.search(r"\w", text[start:other]):
            end += 1
    return start, end


def sentence_end(text: str, start: int, end: int) -> int:
    """The mark that ends the spoken sentence stays inside the span (NOTES Q16): `.`,
    `?`, `!`, `…` right after it, and a `)` whose `(` the span opened."""
    while end < len(text):
        opened = text.count("(", start, end) > text.count(")", start, end)
        if not (text[end] in ".!?…" or (text[end] == ")" and opened)):
            return end
        end += 1
    return end


# --- quotes ------------------------------------------------------------------------


def merge_spans(text: str, spans: list[Span], merge_lines: bool) -> list[Span]:
    """One speech, one span: join spans of one line that only whitespace or inner
    punctuation separates, and (with `merge_lines`) a span that runs to the end of
    its line with one that opens the next line, when no attribution stands between."""
    out: list[Span] = []
    for span in spans:
        if out and _continues(text, out[-1], span, merge_lines):
            prev = out[-1]
            weight = prev.end - prev.start, span.end - span.start
            score = (prev.score * weight[0] + span.score * weight[1]) / max(sum(weight), 1)
            out[-1] = Span(prev.start, span.end, score, tagged=(prev.tagged[0], span.tagged[1]))
        else:
            out.append(span)
    return out


def _continues(text: str, prev: Span, span: Span, merge_lines: bool) -> bool:
    gap = text[prev.end : span.start]
    if "\n" not in gap:
        return not re.search(r"\w", gap) and "«" not in gap and "»" not in gap
    if not merge_lines or _question_turn(text, prev, span):
        return False
    if re.search(r"\S", gap[gap.find("\n") : gap.rfind("\n")]):
        return _open_speech(text, prev, span, gap)
    rest_of_line, next_line_head = gap.split("\n", 1)[0], gap.rsplit("\n", 1)[-1]
    attributed = ATTRIBUTION_AFTER.match(rest_of_line) or "»" in rest_of_line
    # a new « opens a new quote; one that goes on over lines is closed_guillemets' work
    opens_line = re.fullmatch(r"\s*(?:" + DASH + r"\s*)?", next_line_head)
    return not attributed and opens_line is not None


def _question_turn(text: str, prev: Span, span: Span) -> bool:
    """In an interview a question is a turn of its own (NOTES Q4): a span that ends in
    `?` is not continued on the next line, and a line that ends in `?` does not continue
    the one before. No multi-line quote in train or dev has a line ending in `?`; every
    interview question has one."""
    next_line = text[slice(*line_bounds(text, span.start))]
    return text[prev.start : prev.end].rstrip().endswith("?") or next_line.rstrip().endswith("?")


# `X-тың айтуынша, …` and the like: reported speech, the reporter's voice (Q17), or a
# sentence that ends in a past verb of saying (`… екенін атап өтті.`)
_ACCORDING = re.compile(
    r"(?<=\w)(?:ның|нің|дың|дің|тың|тің)\s+(?:айтуынша|сөзінше|пікірінше|мәліметінше|дерегінше)"
    r"|(?:атап өтті|мәлімдеді|айтты|тоқталды|жеткізді|хабарлады)\.\s*$"
)


def _open_speech(text: str, prev: Span, span: Span, gap: str) -> bool:
    """A dash-opened speech with no attribution yet goes on until the attribution: lines
    the tagger missed between it and an attributed quote are part of it (NOTES Q1)."""
    first_line = text[line_bounds(text, prev.start)[0] : prev.start]
    opened = re.fullmatch(r"\s*(?:" + DASH + r"|[«“\"])\s*", first_line) is not None
    end_of_span_line = line_bounds(text, max(span.end - 1, span.start))[1]
    closes = ATTRIBUTION_AFTER.match(text, span.end, end_of_span_line) is not None
    middle = gap[gap.find("\n") : gap.rfind("\n")]
    said = re.search(r"(?:^|[,.!?»]\s*)" + DASH + r"?\s*" + SAY + r"\s", middle, re.M)
    missed = [line for line in middle.split("\n") if line.strip()]
    if any(_ACCORDING.search(line) or _REPORTED.search(line) for line in missed):
        return False  # `Тоқаевтың айтуынша, … атап өтті`: the reporter between two speeches
    first_person = (
        all(_FIRST_PERSON.search(line) and not _REPORTED.search(line) for line in missed)
        and re.match(r"\s*(?:" + DASH + r"\s*)?$", gap.rsplit("\n", 1)[-1]) is not None
    )
    return (
        opened
        and (closes or first_person)
        and gap.count("\n") <= 3
        and not re.search(r"\w", gap.split("\n", 1)[0])
        and not said
        and middle.count("»") <= middle.count("«")  # names in guillemets, not a quote's end
    )


def has_quote_form(text: str, span: Span) -> bool:
    """Direct speech is marked: a dash opening the line, a quotation mark, a lead-in
    ending in a colon, an address to the audience, a headline `… – X`, or an
    attribution with a verb of saying (NOTES Q3, Q5, Q9). Emoji are never quotes."""
    inner = text[span.start : span.end]
    if len(re.findall(r"[^\W\d_]", inner)) < 2:  # emoji runs, numbers, lone marks
        return False
    line_start = line_bounds(text, span.start)[0]
    before = text[line_start : span.start]
    after = text[span.end : line_bounds(text, max(span.end - 1, span.start))[1]]
    attributed = bool(ATTRIBUTION_AFTER.match(after)) or bool(
        re.match(r"^\W*\n\s*" + DASH + r"?\s*" + SAY, text[span.end : span.end + 80])
    )
    lead_in = re.search(r":\s*[«“\"]?\s*$", before) is not None
    if not before.strip() and line_start >= 2:
        lead_in = lead_in or text[: line_start - 1].rstrip().endswith(":")
    if re.fullmatch(r"\s*" + DASH + r"\s*", before):
        return not re.search(r";\s*$", inner) or attributed  # a dash-line list item: Q4
    if not before.strip() and (ADDRESS.match(inner) or _headline_attribution(after)):
        return True
    if re.search(r"[«“\"„]\s*$", before):
        sentence_rest = re.split(r"[.!?]\s", after, maxsplit=1)[0]
        said = re.search(r"(?<!\w)" + SAY, sentence_rest) is not None
        return attributed or said or lead_in or len(inner.split()) >= 5
    return attributed or lead_in


_FIRST_PERSON = re.compile(
    r"(?<!\w)(?:біз|мен|біздің|менің|бізге|бізде|бізді|маған|өзім|өзіміз)(?!\w)"
    r"|\w(?:мын|мін|мыз|міз|пын|пін|пыз|піз|бын|бін|быз|біз|мыздың|міздің)(?!\w)",
    re.IGNORECASE,
)


def keep_marked(text: str, quotes: list[Span]) -> list[Span]:
    """Spans with a quote form, and first-person paragraphs that continue a speech
    within two lines of a kept quote (a long address, NOTES Q5)."""
    kept: list[Span] = []
    for q in quotes:
        speech_goes_on = (
            bool(kept)
            and text.count("\n", kept[-1].end, q.start) <= 2
            and _FIRST_PERSON.search(text, q.start, q.end) is not None
        )
        if _REPORTED.match(text, q.start) and not _PRONOUN_START.match(text, q.start):
            continue  # `Президент … атап өтіп, … жеткізді`: the reporter, not the speaker
        if has_quote_form(text, q) or speech_goes_on:
            kept.append(q)
    return kept


# `«…» деп баға берді`, `«…» деген пікірді`: a short phrase a person is reported to
# have said (NOTES Q8), not a title, a name or a headline (`деген тақырыптағы`, `деп аталатын`)
_REPORTED_PHRASE = re.compile(
    r"«(?P<said>[^«»\n]+)»\s*,?\s*(?:"
    r"деп(?:\s+(?:де|да|та|те))?\s+(?:баға|сипатта|бағала|атады|айт|мәлімде|жазды|түйінде|ескерт)"
    r"|деген(?:\s+(?:де|да|та|те))?\s+(?:сөз(?!дер)|пікір|жауап|байлам|мәлімдеме|уәж)"
    r"|дегені(?!\w))"
)


def reported_phrases(text: str, quotes: list[Span]) -> list[Span]:
    """The quotes plus every reported phrase in guillemets that no quote covers yet,
    each marked as reported so that its speaker is read from its own sentence."""
    found = list(quotes)
    for m in _REPORTED_PHRASE.finditer(text):
        start, end = trim(text, m.start("said"), m.end("said"))
        if len(re.findall(r"[^\W\d_]", text[start:end])) < 2:
            continue
        same = [q for q in found if (q.start, q.end) == (start, end)]
        for q in same:
            q.reported = True
        if not same and not any(q.start < end and q.end > start for q in found):
            found.append(Span(start, end, 0.5, reported=True))
    return sorted(found, key=lambda q: q.start)


# `— Fox News (@FoxNews) January 12, 2026`: the credit line under an embedded post (N4)
_CREDIT = re.compile(
    r"^[–—-][ \t]*(?P<who>[^()\n]+?)[ \t]*\(@\w+\)[ \t]+\S+[ \t]+\d{1,2},[ \t]*\d{4}[ \t]*$", re.M
)
_POST_START = re.compile(r"[\w.@#\"“«]")  # a post's text starts after its emoji
_POST_LINK = re.compile(r"\S*(?:twitter\.com/|https?://|t\.co/)\S*", re.IGNORECASE)


def _foreign(line: str) -> bool:
    """A line in a language other than Kazakh, as written in the source (English posts)."""
    letters = re.findall(r"[^\W\d_]", line)
    latin = [c for c in letters if c.isascii()]
    kazakh = re.findall(r"[áǵıńóúýÁǴŃÓÚÝİ]", line)  # Kazakh Latin script (Kazinform)
    return len(letters) >= 3 and len(latin) >= 0.95 * len(letters) and not kazakh


def _post_lines(article: Any, first: int, last: int, step: int) -> tuple[int, int]:
    """The run of lines from the line at `first` on (step -1: upwards, +1: downwards)
    that are written in another language, never past a blank or a credit line."""
    view = article.view.text
    a, b = line_bounds(view, first)
    while True:
        nxt = a - 2 if step < 0 else b + 1
        if not 0 <= nxt < len(view) or (nxt >= last if step > 0 else nxt < last):
            return a, b
        c, d = line_bounds(view, nxt)
        line = article.text[slice(*article.to_source(c, d))]
        if not line.strip() or _CREDIT.match(view, c) or not _foreign(line):
            return a, b
        a, b = (c, b) if step < 0 else (a, d)


def _post_span(article: Any, a: int, b: int) -> tuple[int, int] | None:
    view = article.view.text
    start = _POST_START.search(view, a, b)
    if start is None:
        return None
    words = _POST_LINK.sub("", article.text[slice(*article.to_source(start.start(), b))])
    if len(re.findall(r"[^\W\d_]", words)) < 2:
        return None  # a link-only line is chrome (Q13); a link after the text stays
    a, b = trim(view, start.start(), b)
    return (a, b) if b > a else None


def embedded_posts(article: Any, quotes: list[Span]) -> list[Span]:
    """An embedded post is a quote of its account holder (NOTES Q6): the run of text
    lines right above its credit line, back over lines written in another language,
    and a run in another language right below it (Q13); a link-only line is none. A post
    replaces what the tagger found there."""
    view = article.view.text
    found = list(quotes)
    credits = list(_CREDIT.finditer(view))
    for k, credit in enumerate(credits):
        runs = []
        if credit.start() >= 2:  # the line above is the post, whatever its language
            runs.append(_post_lines(article, credit.start() - 2, 0, -1))
        below = credit.end() + 1
        following = credits[k + 1].start() if k + 1 < len(credits) else len(view)
        if below < len(view):
            line = article.text[slice(*article.to_source(*line_bounds(view, below)))]
            if _foreign(line) and not _CREDIT.match(view, below):
                runs.append(_post_lines(article, below, following, +1))
        for a, b in runs:
            span = _post_span(article, a, b)
            if span is None:
                continue
            found = [q for q in found if not (q.start < span[1] and q.end > span[0])]
            found.append(Span(*span, 1.0, credited=credit.span("who")))
    return sorted(found, key=lambda q: q.start)


# --- speeches over several lines ------------------------------------------------------

_MAX_SPEECH_LINES = 40  # a guillemet left open longer than this is a typo, not a speech
_ADDRESS_LINE = re.compile(
    r"(?:Құрметті|Қымбатты|Қадірлі|Ардақты|Аса құрметті)(?!\w)[^\n.?]{0,80}!\s*"
)
_NARRATION_OPENER = re.compile(
    r"(?:Айта кетейік|Еске салайық|Айта кету керек|Еске сала кетейік)(?!\w)"
)
# the speaker named in the third person with a past verb of saying or doing: the
# reporter is talking again (`Мемлекет басшысы … атап өтті`)
_SPEAKER_NOUN = (
    r"(?:Мемлекет басшысы|Президент\w*|Премьер-министр\w*|Үкімет басшысы|Тоқаев|Ол|ол)(?!\w)"
)
_REPORTED = re.compile(
    _SPEAKER_NOUN
    + r"[^.!?«»\n]{0,200}?(?<!\w)(?:деді|айтты|атап өтті|атап көрсетті|мәлімдеді|тоқталды|"
    r"жеткізді|білдірді|атады|шақырды|тапсырды|ұсынды|қосты|түсіндірді|сөйледі|таныстырды)(?!\w)"
)
_PRONOUN_START = re.compile(r"(?:Ол|ол)(?!\w)")  # `Ол … , – деді X` is speech about him
_CLOSING_ATTRIBUTION = re.compile(r"[,.!?…»]?\s*" + DASH + r"\s*" + SAY + r"(?!\w)")


def closing_guillemet(text: str, start: int) -> int | None:
    """Where the » that closes a « opened just before `start` stands, counting nested
    pairs; a « opening a continuation line of the same speech does not nest."""
    depth, limit = 1, start
    for _ in range(_MAX_SPEECH_LINES):
        limit = text.find("\n", limit + 1)
        if limit < 0:
            limit = len(text)
            break
    for i in range(start, limit):
        ch = text[i]
        if ch == "«" and not (depth == 1 and text[i - 1] == "\n"):
            depth += 1
        elif ch == "»":
            depth -= 1
            if depth == 0:
                return i
    return None


def close_guillemets(text: str, quotes: list[Span]) -> list[Span]:
    """A quote opened by a « that its line leaves open runs to the » that closes it, over
    however many lines (NOTES Q1); the spans the tagger found inside become part of it."""
    out: list[Span] = []
    for q in quotes:
        if out and q.start < out[-1].end:
            continue  # inside the speech already taken whole
        before = text[line_bounds(text, q.start)[0] : q.start]
        if re.search(r"«\s*$", before):
            close = closing_guillemet(text, q.start)
            if close is not None and "\n" in text[q.start : close]:
                end = trim(text, q.start, close)[1]
                q = Span(q.start, end, q.score, tagged=(q.tagged[0], False))
        out.append(q)
    return out


def _paragraph_of(paragraphs: list[tuple[int, int]], pos: int) -> int:
    return next((i for i, (a, b) in enumerate(paragraphs) if a <= pos < b), -1)


def opens_speech(text: str, q: Span, paragraphs: list[tuple[int, int]]) -> bool:
    """An address to the audience on a line of its own (`Құрметті қауым!`), or a first
    line after a lead-in that ends in a colon (`Мемлекет басшысы былай деді:`)."""
    i = _paragraph_of(paragraphs, q.start)
    if i < 0 or text[paragraphs[i][0] : q.start].strip(" –—-«"):
        return False
    if _ADDRESS_LINE.fullmatch(text, *paragraphs[i]):
        return True
    # after a lead-in, a dash line or a guillemet is a quote of its own form, not an address
    bare = text[paragraphs[i][0]] not in "–—-«"
    return bare and i > 0 and text[: paragraphs[i - 1][1]].rstrip().endswith(":")


def speech_end(text: str, q: Span, paragraphs: list[tuple[int, int]], quotes: list[Span]) -> int:
    """Where a long address ends (NOTES Q5): at the attribution that closes it, else at
    the last paragraph that sounds like the speech (the tagger found a quote in it, or
    it speaks in the first person) before the reporter speaks again."""
    i = _paragraph_of(paragraphs, max(q.end - 1, q.start))
    end = q.end
    for a, b in paragraphs[i + 1 :]:
        line = text[a:b]
        if _NARRATION_OPENER.match(line) or _REPORTED.search(line):
            break
        closing = _CLOSING_ATTRIBUTION.search(line)
        if closing is not None:
            return max(end, trim(text, a, a + closing.start())[1]) if closing.start() else end
        if "»" in line and "«" not in line:
            break  # an unmatched closing mark: another speaker's quote
        tagged = any(p.start < b and a < p.end for p in quotes)
        if tagged or _FIRST_PERSON.search(line) or _ADDRESS_LINE.fullmatch(line):
            end = trim(text, a, b)[1]
    return end


def continue_speeches(
    text: str, quotes: list[Span], paragraphs: list[tuple[int, int]]
) -> list[Span]:
    """A speech opened by an address or a lead-in goes on paragraph after paragraph, also
    over paragraphs the tagger called narration, until the reporter speaks again: the
    tagger sees one paragraph at a time and cannot know it is inside a speech (Q5)."""
    out: list[Span] = []
    for q in quotes:
        if out and q.start < out[-1].end:
            continue
        if opens_speech(text, q, paragraphs):
            end = max(q.end, speech_end(text, q, paragraphs, quotes))
            q = Span(q.start, end, q.score, tagged=(q.tagged[0], q.tagged[1] and end == q.end))
        out.append(q)
    return out


# a new turn inside one line: `– Берді ме? – Берілді. – Аа, дұрыс.` (no gold quote in
# train or dev runs on past a sentence end, a dash and a capital on the same line)
_TURN = re.compile(r"(?<=[.?!…])[ \t]+" + DASH + r"[ \t]+(?=" + UPPER + ")")


def split_turns(text: str, q: Span) -> list[Span]:
    """One span per dash turn of a dialogue written on one line (NOTES Q4)."""
    pieces, start, first = [], q.start, q.tagged[0]
    for m in _TURN.finditer(text, q.start, q.end):
        pieces.append(Span(start, m.start(), q.score, tagged=(first, False)))
        start, first = m.end(), False
    pieces.append(Span(start, q.end, q.score, tagged=(first, q.tagged[1])))
    return [p for p in pieces if p.end > p.start]


def _headline_attribution(after: str) -> bool:
    """`Title words – Speaker` at the end of a line (Q9)."""
    m = re.fullmatch(r"\s*" + DASH + r"\s*(?P<who>[^\n.!?]{1,40})", after)
    return m is not None and len(m.group("who").split()) <= 4


def decode_quotes(
    article: Any,
    tag_probs: np.ndarray,
    starts: list[int],
    ends: list[int],
    settings: DecoderSettings,
) -> list[dict[str, Any]]:
    """Quote records (start, end, speaker, attribution, score) for one article.

    All rules read the article's normalised view (Cyrillic, unified quote marks and
    dashes), so they hold for Latin-script input too; offsets and the speaker's words
    are reported in the caller's original text."""
    view = article.view.text
    paragraphs = [(p.view_start, p.view_end) for p in article.paragraphs]
    words = pool_words(view, paragraphs, tag_probs, starts, ends, settings.pooling)
    labels = decode_tags(words.probs, settings.method, settings.switch_penalty)

    def spans(begin: int) -> list[Span]:
        found = []
        for a, b, conf in bio_spans(labels, words.probs, begin):
            raw = int(words.starts[a]), int(words.ends[b])
            s, e = trim(view, *raw)
            if e > s:
                found.append(Span(s, e, conf, tagged=(raw[0] < s, raw[1] > e)))
        return found

    worded = [q for q in spans(QUOTE) if len(re.findall(r"[^\W\d_]", view[q.start : q.end])) >= 2]
    for q in worded:
        q.end = sentence_end(view, q.start, q.end)
    quotes = merge_spans(view, worded, settings.merge_lines)
    if settings.require_form:
        quotes = keep_marked(view, quotes)
    if settings.speeches:
        quotes = continue_speeches(view, close_guillemets(view, quotes), paragraphs)
    quotes = [piece for q in quotes for piece in split_turns(view, q)]
    if settings.require_form:
        quotes = embedded_posts(article, reported_phrases(view, quotes))
    speakers = spans(SPEAKER)
    out: list[dict[str, Any]] = []
    in_view: list[Span] = []
    for q in quotes:
        start, end = article.to_source(*keep_names(view, q))
        if end <= start:
            continue
        in_view.append(q)
        record: dict[str, Any] = {"start": start, "end": end, "speaker": None}
        record["attribution"] = None
        found = q.credited or (reported_speaker(view, q) if q.reported else None)
        found = found or speaker_of(view, speakers, q, settings.speaker)
        if found is not None:
            a, b = article.to_source(*found)
            record["speaker"] = article.text[a:b]
            lo, hi = (q.end, found[1]) if found[0] >= q.end else (found[0], q.start)
            while hi < len(view) and view[hi].isalnum() and view[hi - 1].isalnum():
                hi += 1  # a speaker put in the nominative (`хабарламада`): whole words
            while lo > 0 and view[lo].isalnum() and view[lo - 1].isalnum():
                lo -= 1
            record["attribution"] = list(trim(article.text, *article.to_source(lo, hi)))
            if is_pronoun(view[found[0] : found[1]]):  # null when nobody is named (Q7)
                record["speaker"] = resolve_pronoun(article, q.start, out)
        elif settings.speeches and opens_speech(view, q, paragraphs):
            record["speaker"] = speech_speaker(article, q.start)
        record["score"] = round(q.score, 4)
        out.append(record)
    if settings.speeches:
        interview_speakers(article, in_view, out)
    return out
