"""Phone alignment of any speech recording with pocketsphinx 5 (en-us model inside the wheel).

- With a transcript: forced alignment (``Decoder.set_align_text`` for the word path, then
  ``set_alignment`` and a second pass for phone segments from ``get_alignment()``).
- Without one (or when forced alignment fails): phone-loop (allphone) decoding with the bundled
  phone language model; noisier, and the words are empty.

Input audio is 16 kHz mono float32 (or a file, read with `blendtalk.speech.audio.load_audio`);
times are seconds (pocketsphinx frames are 10 ms). The result is a phone table
``phone, start_s, end_s, word`` in the one phone set, covering the whole audio, ``sil`` in gaps.

Hostile transcripts never crash: words are normalised (case, punctuation, emoji removed), words
missing from the CMU dictionary (names, digits, made-up words) get a pronunciation from eSpeak
NG's IPA converted to ARPAbet and added to the decoder's dictionary, and an empty transcript
falls back to phone-loop decoding; each case logs a warning.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata

import numpy as np
import pandas as pd

from blendtalk.speech.audio import MAX_CHUNK_S, SAMPLE_RATE, check_audio, load_audio, split_chunks
from blendtalk.speech.phones import SIL, ipa_to_arpabet, make_phone_table, normalize_arpabet
from blendtalk.speech.tts import BackendUnavailable

log = logging.getLogger(__name__)

FRAME_RATE = 100  # pocketsphinx frames per second
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[noise]", "+NSN+", "+SPN+"}


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as exc:
        raise BackendUnavailable("alignment backend 'pocketsphinx' needs the 'pocketsphinx' "
                                 "package (pip install pocketsphinx==5.1.1)") from exc
    return pocketsphinx


def transcript_words(text: str) -> list[str]:
    """Words of a transcript as alignment tokens: NFKC, lowercase, apostrophes normalised,
    punctuation and symbols (emoji) dropped; digits are kept as tokens (``"1234"``)."""
    text = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    return [m.group() for m in _WORD.finditer(text)]


def espeak_pronunciation(word: str, voice: str = "en-us") -> list[str]:
    """ARPAbet phones (no ``sil``) of ``word`` from eSpeak NG's IPA; ``[]`` if espeak is
    missing or says nothing. Numbers are read out (``"12"`` → ``T W EH L V``)."""
    try:
        from blendtalk.speech.espeak import engine
        clauses = engine().phonemize(word, voice)
    except (BackendUnavailable, ValueError, RuntimeError) as exc:
        log.warning("no espeak pronunciation for %r: %s", word, exc)
        return []
    phones: list[str] = []
    for clause in clauses:
        for w in clause.words:
            for group in w:
                phones.extend(p for p in ipa_to_arpabet(group) if p != SIL)
    return phones


class Aligner:
    """A pocketsphinx aligner. Each `align` call decodes with fresh decoders (~0.1 s to
    build), so results do not depend on earlier calls (live cepstral mean normalisation and
    the dither generator carry state between utterances). Thread-safe."""

    def __init__(self, beam: float = 1e-60, seed: int = 1) -> None:
        self._ps = _pocketsphinx()
        self._kw = dict(loglevel="FATAL", dither=True, seed=seed)
        self._beam = beam
        self._align: object | None = None
        self._loop: object | None = None
        self._lock = threading.Lock()

    def _align_decoder(self):
        if self._align is None:
            self._align = self._ps.Decoder(lm=None, **self._kw)
        return self._align

    def _loop_decoder(self):
        if self._loop is None:
            self._loop = self._ps.Decoder(
                allphone=self._ps.get_model_path("en-us/en-us-phone.lm.bin"), lm=None,
                **self._kw)
        return self._loop

    def prepare_words(self, transcript: str) -> list[str]:
        """Dictionary words for ``transcript``: OOV words get an espeak pronunciation added to
        the dictionary (warning); words with no pronunciation are dropped (warning)."""
        decoder = self._align_decoder()
        out = []
        for word in transcript_words(transcript):
            if decoder.lookup_word(word) is not None:
                out.append(word)
                continue
            phones = espeak_pronunciation(word)
            if not phones:
                log.warning("transcript word %r has no pronunciation; dropped", word)
                continue
            log.warning("transcript word %r is not in the dictionary; using espeak's "
                        "pronunciation %s", word, " ".join(phones))
            decoder.add_word(word, " ".join(phones), True)
            out.append(word)
        return out

    def align(self, audio: np.ndarray, transcript: str | None = None,
              max_chunk_s: float = MAX_CHUNK_S) -> pd.DataFrame:
        """Phone table of 16 kHz mono ``audio``: forced alignment to ``transcript`` if it has
        usable words, else phone-loop decoding in chunks of at most ``max_chunk_s`` s."""
        audio = np.asarray(audio, dtype=np.float32)
        check_audio(audio, allow_silent=True)
        duration = audio.shape[0] / SAMPLE_RATE
        with self._lock:
            self._align = self._loop = None
            if transcript is not None:
                words = self.prepare_words(transcript)
                if not words:
                    log.warning("transcript %r has no alignable words; decoding phones "
                                "without it", transcript)
                else:
                    rows = self._forced(audio, words)
                    if rows is not None:
                        return make_phone_table(rows, duration, min_gap_s=0.0)
                    log.warning("forced alignment to %r failed; decoding phones without it",
                                transcript)
            rows = []
            for chunk in split_chunks(audio, max_chunk_s):
                rows.extend((p, s + chunk.start_s, e + chunk.start_s, w)
                            for p, s, e, w in self._phone_loop(chunk.audio))
            return make_phone_table(rows, duration, min_gap_s=0.0)

    def _forced(self, audio: np.ndarray, words: list[str]):
        pcm = _pcm(audio)
        labels = iter(words)
        for beam in (None, self._beam):
            decoder = self._align_decoder()
            if beam is not None:  # a wider beam for hard audio: a fresh decoder
                decoder = self._ps.Decoder(lm=None, beam=beam, pbeam=beam, wbeam=beam,
                                           **self._kw)
                for w in words:
                    if decoder.lookup_word(w) is None:
                        decoder.add_word(w, self._align_decoder().lookup_word(w), True)
            try:
                decoder.set_align_text(" ".join(words))
                _decode(decoder, pcm)
                if decoder.hyp() is None:
                    continue
                decoder.set_alignment()
                _decode(decoder, pcm)
                alignment = decoder.get_alignment()
            except RuntimeError as exc:
                log.warning("pocketsphinx alignment error: %s", exc)
                continue
            if alignment is None:
                continue
            rows = []
            labels = iter(words)
            for w in alignment:
                name = re.sub(r"\(\d+\)$", "", w.name)
                label = "" if name in _FILLERS else next(labels, name)
                for p in w:
                    s, e = p.start / FRAME_RATE, (p.start + p.duration) / FRAME_RATE
                    for q in _phones(p.name):
                        rows.append((q, s, e, "" if q == SIL else label))
            if not any(r[0] != SIL for r in rows):
                return None
            return rows
        return None

    def _phone_loop(self, audio: np.ndarray) -> list[tuple[str, float, float, str]]:
        decoder = self._loop_decoder()
        _decode(decoder, _pcm(audio))
        rows = []
        for seg in decoder.seg() or []:
            s, e = seg.start_frame / FRAME_RATE, (seg.end_frame + 1) / FRAME_RATE
            phones = _phones(seg.word)
            for i, q in enumerate(phones):
                rows.append((q, s + (e - s) * i / len(phones),
                             s + (e - s) * (i + 1) / len(phones), ""))
        return rows


def _phones(symbol: str) -> tuple[str, ...]:
    try:
        return normalize_arpabet(symbol)
    except ValueError:
        return (SIL,)


def _decode(decoder, pcm: bytes, block: int = 8192) -> None:
    """One utterance, fed in blocks: ``process_raw(..., full_utt=True)`` on a whole clip of a
    few seconds stops early in pocketsphinx 5.1.1 (the hypothesis misses the last words)."""
    decoder.start_utt()
    for i in range(0, len(pcm), block):
        decoder.process_raw(pcm[i:i + block])
    decoder.end_utt()


def _pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


_DEFAULT: Aligner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_aligner() -> Aligner:
    """A process-wide `Aligner`."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Aligner()
        return _DEFAULT


def align(audio: np.ndarray | str | os.PathLike, transcript: str | None = None,
          max_chunk_s: float = MAX_CHUNK_S) -> pd.DataFrame:
    """Phone table (``phone, start_s, end_s, word``; seconds) of a recording: 16 kHz mono
    float32 array or any audio file. With ``transcript``: forced alignment (OOV words get
    espeak pronunciations); without: phone-loop decoding. Never raises for a bad transcript
    (warnings are logged); raises `blendtalk.speech.audio.AudioError` for unusable audio."""
    if not isinstance(audio, np.ndarray):
        audio = load_audio(audio)
    return default_aligner().align(audio, transcript, max_chunk_s)
