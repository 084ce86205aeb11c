"""Baselines the transformer must beat, on the same records and metrics.

- keyword rules: the guidelines' stems, matched at word starts of the Cyrillic view;
- TF-IDF (word and character n-grams) + one-vs-rest logistic regression, thresholds
  tuned on dev like the transformer's;
- a rule quote splitter: dash-opened lines, guillemets before a verb of saying, and
  first-person lines that end in `, – деді …`.
All return predictions in the record format, so `salatag.metrics` scores them.
"""

from __future__ import annotations

import re

import numpy as np

from salatag.article import Article
from salatag.labels import SECTORS
from salatag.metrics import tune_thresholds
from salatag.records import Paragraph, Quote, Record

# Stems from the guidelines' cue column, plus their obvious inflectional relatives.
KEYWORDS: dict[str, list[str]] = {
    "trade": [
        "сауда",
        "тауар айналым",
        "экспорт",
        "импорт",
        "инвестиц",
        "экономикалық байланыс",
        "экономикалық ынтымақтас",
        "бизнес",
        "кәсіпкер",
        "өнеркәсіптік кооперац",
        "кеден",
        "еркін сауда",
        "санкция",
    ],
    "transport": [
        "көлік",
        "транзит",
        "логистик",
        "теміржол",
        "темір жол",
        "автожол",
        "әуе қатынас",
        "әуе рейс",
        "рейс",
        "порт",
        "жүк тасымал",
        "дәліз",
        "әуежай",
        "паром",
    ],
    "security": [
        "қауіпсіздік",
        "терроризм",
        "террорис",
        "экстремизм",
        "ядролық қару",
        "әскери",
        "қорғаныс",
        "шекара",
        "бейбітшілік",
        "тұрақтылық",
        "қақтығыс",
        "есірткі",
        "соғыс",
        "киберқауіпсіздік",
        "адам саудасы",
    ],
    "water": [
        "су ресурс",
        "су шаруашылығ",
        "трансшекаралық өзен",
        "суар",
        "арал",
        "су бөл",
        "су қойма",
        "ауыз су",
        "су тасқын",
        "өзен",
    ],
    "energy": [
        "энергетика",
        "энергия",
        "мұнай",
        "газ",
        "көмір",
        "электр",
        "аэс",
        "атом электр",
        "жаңартылатын энергия",
        "гэс",
        "құбыр",
        "уран",
        "жылу",
    ],
}
_NEGATIVE = ["қауіпсіздік жастығ", "азық-түлік қауіпсіздіг", "валюта сауда"]


def keyword_sectors(view_text: str) -> list[str]:
    low = view_text.lower()
    for phrase in _NEGATIVE:
        low = low.replace(phrase, " ")
    out = []
    for label in SECTORS:
        if any(re.search(r"(?<!\w)" + re.escape(stem), low) for stem in KEYWORDS[label]):
            out.append(label)
    return out


def _predicted(
    article: Article, sectors: list[list[str]], scores: list[dict[str, float]] | None = None
) -> Record:
    """A baseline's record: its sectors (none on chrome lines) and the rule quotes."""
    paragraphs = []
    for i, p in enumerate(article.paragraphs):
        labels = [] if p.chrome else sectors[i]
        score = scores[i] if scores else {lab: float(lab in labels) for lab in SECTORS}
        paragraphs.append(Paragraph(p.start, p.end, not p.chrome, labels, score))
    return Record(article.id, article.text, paragraphs, rule_quotes(article), source=None)


def keyword_predict(articles: list[Article]) -> list[Record]:
    return [
        _predicted(a, [keyword_sectors(a.paragraph_view(i)) for i in range(len(a.paragraphs))])
        for a in articles
    ]


class TfidfBaseline:
    """Word 1-2-grams and character 2-5-grams of the Cyrillic view, one-vs-rest LR."""

    def __init__(self, seed: int = 13) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import FeatureUnion, make_pipeline

        features = FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        min_df=2,
                        sublinear_tf=True,
                        max_features=200_000,
                    ),
                ),
            ]
        )
        clf = OneVsRestClassifier(
            LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=seed)
        )
        self.pipeline = make_pipeline(features, clf)
        self.thresholds = dict.fromkeys(SECTORS, 0.5)

    @staticmethod
    def _rows(records: list[Record], articles: list[Article]) -> tuple[list[str], np.ndarray]:
        texts, labels = [], []
        for r, a in zip(records, articles, strict=True):
            for i, p in enumerate(r.paragraphs):
                texts.append(a.paragraph_view(i))
                labels.append([label in p.sectors for label in SECTORS])
        return texts, np.array(labels, dtype=int)

    def fit(
        self,
        records: list[Record],
        articles: list[Article],
        dev: list[Record],
        dev_articles: list[Article],
    ) -> TfidfBaseline:
        texts, y = self._rows(records, articles)
        self.pipeline.fit(texts, y)
        self.thresholds = tune_thresholds(dev, self.predict(dev_articles))
        return self

    def predict(self, articles: list[Article]) -> list[Record]:
        preds = []
        for a in articles:
            views = [a.paragraph_view(i) for i in range(len(a.paragraphs))]
            probs = self.pipeline.predict_proba(views) if views else np.zeros((0, len(SECTORS)))
            scores = [{lab: float(row[j]) for j, lab in enumerate(SECTORS)} for row in probs]
            sectors = [[lab for lab in SECTORS if s[lab] >= self.thresholds[lab]] for s in scores]
            preds.append(_predicted(a, sectors, scores))
        return preds


_SAY = r"(?:деді|дейді|деп|делінген|мәлімдеді|атап өтті|айтты|түйіндеді|қосты|сендірді)"
_DASH_LINE = re.compile(r"^– (?P<q>.+?)(?:,? – " + _SAY + r"[^\n]*|)$")
_GUILLEMET = re.compile(r"«(?P<q>[^«»\n]{3,})»(?=[,.]?\s*(?:–\s*)?" + _SAY + r")")
_INTRO_GUILLEMET = re.compile(_SAY + r"[^:\n«]{0,40}:\s*«(?P<q>[^«»\n]{3,})»")
_FIRST_PERSON = re.compile(
    r"^(?P<q>(?:[^\n]*\b(?:біз|мен|біздің|менің|бізге|бізде)\b)[^\n]*?),? – " + _SAY
)


def rule_quotes(article: Article) -> list[Quote]:
    """Quotes by surface rules on the view; spans map back to the original text."""
    quotes: list[Quote] = []
    for i, p in enumerate(article.paragraphs):
        if p.chrome:
            continue
        line = article.paragraph_view(i)
        spans = []
        m = _DASH_LINE.match(line)
        if m and len(m.group("q")) > 10:
            spans.append(m.span("q"))
        else:
            m = _FIRST_PERSON.match(line)
            if m:
                spans.append(m.span("q"))
        for m in list(_GUILLEMET.finditer(line)) + list(_INTRO_GUILLEMET.finditer(line)):
            spans.append(m.span("q"))
        for a, b in sorted(set(spans)):
            start, end = article.to_source(p.view_start + a, p.view_start + b)
            while end > start and article.text[end - 1] in " ,–":
                end -= 1
            if end > start and not any(q.start < end and start < q.end for q in quotes):
                quotes.append(Quote(start, end))
    return quotes
