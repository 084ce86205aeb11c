"""KazNERD validation sentences as labelled records; the test split stays out."""

import json
from collections import Counter

import pytest

from salatag import kaznerd
from salatag.corpus import REPO_ROOT, CorpusError
from salatag.records import Record
from salatag.validate import check_record


def test_detokenize_reattaches_punctuation_and_drops_fillers() -> None:
    tokens = ["«", "Біз", "келдік", "»", ",", "—", "деді", "ол", "(", "ыыы", ")", "."]
    assert kaznerd.detokenize(tokens) == "«Біз келдік», — деді ол."
    assert kaznerd.detokenize(["өсім", "5", ",", "3", "%", "болды"]) == "өсім 5,3% болды"
    assert kaznerd.detokenize(["(", "ҚР", ")", "елі", ",", "тағы"]) == "(ҚР) елі, тағы"


def test_numbers_spelt_differently_are_one_sentence() -> None:
    a = kaznerd.dedupe_key("Жоба 2025-інші жылы бітеді.")
    b = kaznerd.dedupe_key("Жоба екі мың жиырма бесінші жылы бітеді.")
    assert a == b and a != kaznerd.dedupe_key("Жоба келесі жылы бітеді.")


def test_the_test_split_is_refused(corpus) -> None:
    with pytest.raises(CorpusError, match="reserved for blind evaluation"):
        kaznerd.read_tokens("test")


@pytest.fixture(scope="module")
def labelled(corpus) -> list[Record]:
    return kaznerd.load_labels()


def test_labels_hydrate_into_valid_one_paragraph_records(labelled) -> None:
    assert len(labelled) >= 3000
    for r in labelled:
        assert check_record(r) == [], r.id
        assert len(r.paragraphs) == 1 and r.paragraphs[0].body and r.source == "kaznerd"
    positives = Counter(label for r in labelled for label in r.paragraphs[0].sectors)
    assert all(positives[label] >= 40 for label in ("trade", "transport", "water", "energy"))
    splits = Counter(kaznerd.split_of(r.extra["kaznerd_index"]) for r in labelled)
    assert 0.5 < splits["train"] / len(labelled) < 0.7 and splits["dev"] > 450


def test_every_cue_sentence_of_the_selection_is_labelled(labelled) -> None:
    ids = {r.extra["kaznerd_index"] for r in labelled}
    cued = [i for i, text in kaznerd.sentences().items() if kaznerd.has_cue(text)]
    assert len(set(cued) - ids) <= 0.1 * len(cued)


def test_no_sentence_of_the_reserved_test_split_is_in_our_data(labelled) -> None:
    reserved = kaznerd.reserved_keys()
    assert reserved, "the test split must be readable for this check"
    assert not [r.id for r in labelled if kaznerd.dedupe_key(r.text) in reserved]
    stored = (REPO_ROOT / "data" / "annotations" / "kaznerd" / "valid.jsonl").read_text()
    assert all(
        set(json.loads(line)) <= {"index", "text_sha1", "sectors", "quotes"}
        for line in stored.splitlines()
    )


def test_a_changed_sentence_stops_hydration(corpus, tmp_path) -> None:
    line = (REPO_ROOT / "data" / "annotations" / "kaznerd" / "valid.jsonl").open().readline()
    label = json.loads(line) | {"text_sha1": "0" * 40}
    bad = tmp_path / "valid.jsonl"
    bad.write_text(json.dumps(label) + "\n")
    with pytest.raises(Exception, match="changed since it was labelled"):
        kaznerd.load_labels(bad)
