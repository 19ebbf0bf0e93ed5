"""Forced alignment and phone-loop decoding with pocketsphinx (blendtalk.speech.align)."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed")

from blendtalk.speech.align import align, transcript_words  # noqa: E402
from blendtalk.speech.phones import PHONES, SIL, validate_phone_table  # noqa: E402
from blendtalk.speech.tts import BackendUnavailable, get_voice  # noqa: E402

try:
    get_voice("espeak:en-us")
    HAVE_ESPEAK = True
except BackendUnavailable:
    HAVE_ESPEAK = False
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="libespeak-ng.so.1 is missing")

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def synth():
    if not HAVE_ESPEAK:
        pytest.skip("libespeak-ng.so.1 is missing")
    return get_voice("espeak:en-us").synthesize(SENTENCE)


def test_transcript_words():
    assert transcript_words("Hello, World!! I can’t 1234 😀") == ["hello", "world", "i",
                                                                  "can't", "1234"]
    assert transcript_words("") == [] and transcript_words("!!! 🎉") == []


@needs_espeak
def test_forced_alignment_recovers_synth_boundaries(synth):
    t0 = time.perf_counter()
    table = align(synth.audio, SENTENCE)
    rtf = (time.perf_counter() - t0) / synth.duration_s
    print(f"\nforced alignment RTF {rtf:.3f} ({synth.duration_s:.2f} s)")
    validate_phone_table(table, synth.duration_s, tol_s=1e-6)
    ref = synth.phones[synth.phones["phone"] != SIL].reset_index(drop=True)
    hyp = table[table["phone"] != SIL].reset_index(drop=True)
    assert len(ref) == len(hyp)
    same = np.mean(ref["phone"].to_numpy() == hyp["phone"].to_numpy())
    assert same > 0.9
    err = np.abs(ref["start_s"].to_numpy() - hyp["start_s"].to_numpy())
    print(f"median boundary error {1000 * np.median(err):.1f} ms")
    assert np.median(err) < 0.05
    assert set(hyp["word"]) == set(transcript_words(SENTENCE))


@needs_espeak
def test_phone_loop_without_transcript(synth):
    t0 = time.perf_counter()
    table = align(synth.audio)
    rtf = (time.perf_counter() - t0) / synth.duration_s
    print(f"\nphone-loop RTF {rtf:.3f}")
    validate_phone_table(table, synth.duration_s)
    speech = table[table["phone"] != SIL]
    assert len(speech) >= 10 and set(table["phone"]) <= set(PHONES)
    assert (speech["word"] == "").all()
    again = align(synth.audio)
    assert again.equals(table)  # fresh decoders: no state carried between calls


@needs_espeak
@pytest.mark.parametrize("transcript", ["", "1234", "xqzt blorf!!", "😀🎉", "Hello 😀 world",
                                        "the quick brown fox 42 times!!!"])
def test_hostile_transcripts_warn_not_crash(synth, transcript, caplog):
    with caplog.at_level(logging.WARNING, logger="blendtalk.speech.align"):
        table = align(synth.audio, transcript)
    validate_phone_table(table, synth.duration_s)
    assert (table["phone"] != SIL).sum() > 0
    assert any(r.levelno == logging.WARNING for r in caplog.records)


@needs_espeak
def test_oov_word_gets_espeak_pronunciation(caplog):
    syn = get_voice("espeak:en-us").synthesize("Blorfington waved.")
    with caplog.at_level(logging.WARNING, logger="blendtalk.speech.align"):
        table = align(syn.audio, "Blorfington waved.")
    assert "blorfington" in set(table["word"])
    assert any("not in the dictionary" in r.getMessage() for r in caplog.records)


@needs_espeak
def test_align_reads_files(tmp_path, synth):
    from blendtalk.speech.audio import write_wav
    path = write_wav(tmp_path / "x.wav", synth.audio)
    table = align(path, SENTENCE)
    validate_phone_table(table, synth.duration_s, tol_s=1e-3)
