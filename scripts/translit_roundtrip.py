"""Measure Latin -> Cyrillic transliteration by round trips on real KazNERD sentences.

Cyrillic -> Latin by the official table, then back with salatag's transliterator.
The stem exceptions were chosen on the `valid` split; `test` is the honest figure.
"""

import argparse
import sys

from salatag.corpus import CorpusError, kaznerd_sentences
from salatag.text import round_trip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="test", choices=["valid", "test"])
    parser.add_argument("--errors", type=int, default=0, help="show the N commonest errors")
    args = parser.parse_args(argv)
    try:
        sentences = kaznerd_sentences(args.split)
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rt = round_trip(sentences)
    print(f"KazNERD {args.split}: {len(sentences)} sentences, {rt.words} Cyrillic words")
    print(f"character accuracy {rt.char_accuracy:.4%}   word accuracy {rt.word_accuracy:.4%}")
    for (word, back), n in sorted(rt.errors.items(), key=lambda x: -x[1])[: args.errors]:
        print(f"{n:5d}  {word} -> {back}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
