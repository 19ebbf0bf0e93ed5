"""The minilm encoder's precisions (text2expr.encoder.precision), and which strings the text2expr
stage sends to the encoder. Speed is measured by bench/encoder.py, never here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snakemake.exceptions import WorkflowError

from blendtalk.arkit import ARKIT_NAMES
from blendtalk.config import validate_config
from blendtalk.models.text2expr import ModelConfig, Text2Expr, load_with_encoder, save_model
from blendtalk.models.text2expr_run import build_pairs
from blendtalk.text import EmbeddingCache, make_encoder
from blendtalk.text.encoders import MINILM_KEY, MINILM_PRECISIONS

SENTENCES = [
    "I am so happy today",
    "the invoice is attached",
    "Honestly the way [NAME] handled that meeting was brilliant.",
    "Walking home through the forest at night, I heard someone following me 😱",
    "Brows lightly lowered and drawn together, eyes slightly widened, lip corners pulled down. " * 30,
    "anger, shame",
    "ok",
]
#: bench/encoder.py on 2,000 GoEmotions dev comments: cosine(bf16, fp32) mean 0.99998, min 0.99988
BF16_MIN_COSINE = 0.9995


@pytest.fixture(scope="module")
def encoders():
    return {p: make_encoder("minilm", batch_size=4, precision=p) for p in MINILM_PRECISIONS}


def test_bf16_embeddings_are_unit_float32_and_close_to_fp32(encoders):
    emb = {p: e.encode(SENTENCES) for p, e in encoders.items()}
    for p, x in emb.items():
        assert x.shape == (len(SENTENCES), 384) and x.dtype == np.float32, p
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    cos = (emb["fp32"] * emb["bf16"]).sum(1)
    assert cos.min() >= BF16_MIN_COSINE, cos
    assert not np.array_equal(emb["fp32"], emb["bf16"])  # a different embedding, not a copy
    # a string's bf16 embedding depends on that string only, not on its batch-mates
    alone = np.concatenate([encoders["bf16"].encode([s]) for s in SENTENCES])
    assert (alone * emb["bf16"]).sum(1).min() >= BF16_MIN_COSINE


def test_each_precision_has_its_own_key_and_cache(encoders, tmp_path):
    assert encoders["fp32"].key == MINILM_KEY  # the key caches were written under before
    assert encoders["bf16"].key == f"{MINILM_KEY}:bf16"
    paths = {EmbeddingCache(tmp_path, e).path for e in encoders.values()}
    assert len(paths) == 2


def test_precision_setting_validates_and_a_wrong_value_is_named():
    cfg = validate_config({"text2expr": {"encoder": {"precision": "bf16"}}})
    assert cfg["text2expr"]["encoder"]["precision"] == "bf16"
    assert validate_config({})["text2expr"]["encoder"]["precision"] == "fp32"
    with pytest.raises(WorkflowError, match="config key") as err:
        validate_config({"text2expr": {"encoder": {"precision": "int8"}}})
    assert "'text2expr.encoder.precision'" in str(err.value) and "fp32" in str(err.value)


def test_make_encoder_rejects_unknown_or_unsupported_precisions(tmp_path):
    with pytest.raises(ValueError, match="unknown minilm precision 'fp16'"):
        make_encoder("minilm", precision="fp16")
    with pytest.raises(ValueError, match="minilm only"):
        make_encoder("hf-clip", str(tmp_path / "clip"), precision="bf16")


def test_saved_model_reloads_the_encoder_of_its_precision(tmp_path):
    model = Text2Expr(ModelConfig.from_preset(384, "small"))
    save_model(model, tmp_path, extra={"encoder": {"kind": "minilm", "model": None,
                                                   "pretrained": None, "precision": "bf16"}})
    assert load_with_encoder(tmp_path)[1].key == f"{MINILM_KEY}:bf16"
    save_model(model, tmp_path, extra={"encoder": {"kind": "minilm"}})  # written before precisions
    assert load_with_encoder(tmp_path)[1].key == MINILM_KEY


class RecordingEncoder:
    key, dim = "recording:v1", 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        return np.ones((len(texts), 2), np.float32)


def test_stage_encodes_each_needed_string_once_and_nothing_else(tmp_path):
    """Training rows: every configured view with its augmented variants; val/test rows: the
    eval view only, never augmented; a view outside `views` is never encoded."""
    n = 30
    df = pd.DataFrame({
        "text_id": [f"t{i}" for i in range(n)],
        "split": ["train"] * 20 + ["val"] * 5 + ["test"] * 5,
        "text": [f"sentence number {i} is about a rather happy day" for i in range(n)],
        "emotions": [["joy"]] * n,
        "description": [f"FACS description {i} of lip corners pulled up" for i in range(n)],
        **{name: np.zeros(n, np.float32) for name in ARKIT_NAMES},
    })
    enc = RecordingEncoder()
    augment = {"variants": 2, "p_synonym": 0.0, "p_swap": 0.5, "p_delete": 0.3}
    pairs, stats = build_pairs(df, EmbeddingCache(tmp_path, enc), ["sentence", "description"],
                               "sentence", augment, seed=0)
    assert len(enc.seen) == len(set(enc.seen))  # each unique string once
    assert not any("joy" in s for s in enc.seen)  # the emotions view is not in `views`
    held_out = set(df.loc[df["split"] != "train", "text"])
    train_texts = set(df.loc[df["split"] == "train", "text"])
    train_desc = set(df.loc[df["split"] == "train", "description"])
    for s in set(enc.seen) - held_out:
        # everything else is a training row's sentence or description, or a variant of one
        assert any(set(s.split()) <= set(t.split()) for t in train_texts | train_desc), s
    assert held_out <= set(enc.seen)
    assert stats["val_strings"] == 5 and stats["test_strings"] == 5  # no variants, no other view
    assert stats["train_strings"] > 2 * 20  # both views plus augmented variants
    assert len(enc.seen) == stats["train_strings"] + 10
