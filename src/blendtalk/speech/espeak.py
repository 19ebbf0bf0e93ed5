"""eSpeak NG through its C library (``libespeak-ng.so.1``, ctypes): synthesis with exact phone
timings, and IPA phonemisation (used by the Piper backend and by the aligner's fallback
pronunciations).

The library is initialised once per process (`engine`): re-initialising it after
``espeak_Terminate`` hangs, so the engine is a module-level singleton guarded by a lock.
Synthesis runs at the library's native 22,050 Hz (int16) with phoneme events (IPA names, sample
positions) and word events; the audio is resampled to 16 kHz mono float32 and the phone table's
times (seconds) come straight from the event sample positions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import re
import threading
from dataclasses import dataclass

import numpy as np

from blendtalk.speech.audio import SAMPLE_RATE, resample
from blendtalk.speech.phones import SIL, ipa_to_arpabet, make_phone_table, split_evenly
from blendtalk.speech.tts import BackendUnavailable, Synthesis, check_prosody

ESPEAK_RATE_HZ = 22_050
AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x1
INIT_PHONEME_IPA = 0x2
EV_LIST_TERMINATED, EV_WORD, EV_SENTENCE, EV_END, EV_PHONEME, EV_SAMPLERATE = 0, 1, 2, 5, 7, 8
CHARS_UTF8 = 1
PHONEMES_IPA = 0x02
P_RATE, P_VOLUME, P_PITCH = 1, 2, 3
DEFAULT_WPM, DEFAULT_PITCH, DEFAULT_VOLUME = 175, 50, 100
#: Voice names that espeak-ng 1.51 does not resolve by name, and the voice file they mean.
VOICE_ALIASES = {"en-gb": "gmw/en", "en-uk": "gmw/en", "en": "gmw/en"}
#: A few English voices with audibly different speakers (for corpora with several voices).
ENGLISH_VARIANTS = ("en-us", "en-us+f3", "en-gb+m3", "en-gb+f2", "en-us+m7", "en-gb-x-rp+f4")
_SEP = "_"
_TERMINATOR = re.compile(r"([,.;:!?])[\s\"')\]]*\S?$")
_TOKEN = re.compile(r"\S+")
_PUNCT = "\"'“”‘’()[]{}<>,.;:!?«»…-–—"


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class PhoneEvent:
    """One espeak phoneme: IPA ``name`` ("" for a pause), ``sample`` (start, at 22,050 Hz) and
    the ``word`` of the input text it belongs to ("" for pauses)."""

    name: str
    sample: int
    word: str


@dataclass(frozen=True)
class Clause:
    """One clause of IPA phonemes as espeak's phonemiser gives it: ``words`` (each a list of
    phoneme groups, stress marks included, e.g. ``["h", "ə", "l", "ˈoʊ"]``), the text ``labels``
    of those words, and the clause's closing punctuation (``""`` if none)."""

    words: list[list[str]]
    labels: list[str]
    terminator: str


class EspeakEngine:
    """The process's one eSpeak NG instance (get it with `engine`)."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise BackendUnavailable(
                "voice backend 'espeak' needs the eSpeak NG library libespeak-ng.so.1 "
                "(apt-get install espeak-ng)") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                              ctypes.c_int]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                     INIT_PHONEME_EVENTS | INIT_PHONEME_IPA)
        if rate <= 0:
            raise BackendUnavailable(f"voice backend 'espeak': espeak_Initialize failed ({rate})")
        self.sample_rate = int(rate)
        self._lib = lib
        self._lock = threading.Lock()
        self._voice: str | None = None
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._callback = _CALLBACK(self._on_synth)  # keep a reference for the C side
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != EV_LIST_TERMINATED:
            e = events[i]
            if e.type == EV_PHONEME:
                name = bytes(e.id.string).split(b"\0")[0].decode("utf-8", "replace")
                self._events.append((e.type, e.sample, e.text_position, e.length, name))
            elif e.type == EV_WORD:
                self._events.append((e.type, e.sample, e.text_position, e.length, ""))
            i += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        if voice == self._voice:
            return
        base, plus, variant = voice.partition("+")
        candidates = [voice]
        if base in VOICE_ALIASES:
            candidates.append(VOICE_ALIASES[base] + plus + variant)
        for cand in candidates:
            if self._lib.espeak_SetVoiceByName(cand.encode()) == 0:
                self._voice = voice
                return
        self._voice = None
        raise ValueError(f"espeak voice {voice!r} is not installed (try: {ENGLISH_VARIANTS})")

    def synth(self, text: str, voice: str = "en-us", rate: float = 1.0, pitch: float = 1.0,
              volume: float = 1.0) -> tuple[np.ndarray, list[PhoneEvent]]:
        """Speak ``text``: int16 samples at 22,050 Hz and the phoneme events in order."""
        check_prosody(rate, pitch, volume)
        data = text.encode("utf-8")
        with self._lock:
            self._set_voice(voice)
            lib = self._lib
            lib.espeak_SetParameter(P_RATE, int(np.clip(round(DEFAULT_WPM * rate), 80, 450)), 0)
            lib.espeak_SetParameter(P_PITCH, int(np.clip(round(DEFAULT_PITCH * pitch), 0, 100)),
                                    0)
            lib.espeak_SetParameter(P_VOLUME, int(np.clip(round(DEFAULT_VOLUME * volume), 0,
                                                          200)), 0)
            self._chunks, self._events = [], []
            err = lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, CHARS_UTF8, None, None)
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed ({err}) for {text!r}")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        out: list[PhoneEvent] = []
        word = ""
        for etype, sample, pos, length, name in events:
            if etype == EV_WORD:
                word = word_at(text, pos - 1)
            else:
                out.append(PhoneEvent(name, int(sample), word if name else ""))
        return samples, out

    def phonemize(self, text: str, voice: str = "en-us") -> list[Clause]:
        """IPA phonemes of ``text`` clause by clause (stress marks kept, as Piper expects), with
        each word's text label (taken from the synthesiser's word events)."""
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)
        base = ctypes.addressof(buf)
        with self._lock:
            self._set_voice(voice)
            ptr = ctypes.c_void_p(base)
            raw: list[tuple[str, str]] = []
            mode = PHONEMES_IPA | (ord(_SEP) << 8)
            prev = 0
            while ptr.value:
                res = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), CHARS_UTF8, mode)
                # the pointer stops one character into the next clause
                end = ptr.value - base - 1 if ptr.value else len(data)
                consumed = data[prev:max(end, prev)].decode("utf-8", "replace")
                prev = max(end, prev)
                m = _TERMINATOR.search(consumed)
                raw.append(((res or b"").decode("utf-8", "replace"), m.group(1) if m else ""))
        _, events = self.synth(text, voice)
        clauses = [Clause([[g for g in w.split(_SEP) if g] for w in ph.split()], [], term)
                   for ph, term in raw]
        _label_words(clauses, events)
        return [c for c in clauses if c.words or c.terminator]


def word_at(text: str, index: int) -> str:
    """The whitespace-delimited token of ``text`` containing character ``index`` (espeak's
    1-based word positions minus one), without surrounding punctuation."""
    for m in _TOKEN.finditer(text):
        if m.start() <= index < m.end() or index < m.start():
            return m.group().strip(_PUNCT) or m.group()
    return ""


def _strip(name: str) -> str:
    return name.replace("ˈ", "").replace("ˌ", "")


def _label_words(clauses: list[Clause], events: list[PhoneEvent]) -> None:
    """Give every phonemised word the text label of the synthesiser's word it matches
    (sequence alignment of the two phoneme streams)."""
    flat: list[tuple[int, int, str]] = []  # (clause, word, name)
    for ci, c in enumerate(clauses):
        for wi, w in enumerate(c.words):
            for g in w:
                flat.append((ci, wi, _strip(g)))
    ev = [e for e in events if e.name]
    matcher = difflib.SequenceMatcher(None, [f[2] for f in flat], [e.name for e in ev],
                                      autojunk=False)
    votes: dict[tuple[int, int], dict[str, int]] = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            ci, wi, _ = flat[a + k]
            d = votes.setdefault((ci, wi), {})
            d[ev[b + k].word] = d.get(ev[b + k].word, 0) + 1
    last = ""
    for ci, c in enumerate(clauses):
        for wi in range(len(c.words)):
            d = votes.get((ci, wi))
            label = max(d, key=d.get) if d else last
            c.labels.append(label)
            last = label


_ENGINE: EspeakEngine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> EspeakEngine:
    """The process-wide `EspeakEngine` (created on first use, never terminated). Raises
    `BackendUnavailable` when libespeak-ng is missing."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = EspeakEngine()
        return _ENGINE


def events_to_rows(events: list[PhoneEvent], n_samples: int, sr: int
                   ) -> list[tuple[str, float, float, str]]:
    """Phone rows ``(phone, start_s, end_s, word)`` from phoneme events: each phoneme lasts
    until the next event (the last one until ``n_samples``); IPA segments that map to several
    ARPAbet phones share their span evenly; pauses become ``sil``."""
    rows: list[tuple[str, float, float, str]] = []
    for i, e in enumerate(events):
        end = events[i + 1].sample if i + 1 < len(events) else n_samples
        start, end = e.sample / sr, min(end, n_samples) / sr
        if end <= start:
            continue
        phones = ipa_to_arpabet(e.name) if e.name else (SIL,)
        if not phones:
            phones = (SIL,)
        for p, s, t in split_evenly(phones, start, end):
            rows.append((p, s, t, "" if p == SIL else e.word))
    return rows


class EspeakVoice:
    """An eSpeak NG voice, e.g. ``EspeakVoice("en-us+f3")`` (voice name plus optional
    ``+variant``; see `ENGLISH_VARIANTS`). Its phone timings are the synthesiser's own."""

    def __init__(self, variant: str = "en-us") -> None:
        self.variant = variant
        self.name = f"espeak:{variant}"
        self._engine = engine()
        with self._engine._lock:
            self._engine._set_voice(variant)  # fail early for an unknown voice

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0,
                   volume: float = 1.0) -> Synthesis:
        """Speak ``text``: audio at 16 kHz mono float32 and the phone table (seconds).
        ``rate`` scales the words per minute (175 × rate, clipped to 80–450), ``pitch`` the
        espeak base pitch (50 × pitch, clipped to 0–100), ``volume`` the amplitude (100 ×
        volume, clipped to 0–200)."""
        if not text.strip():
            raise ValueError(f"{self.name}: nothing to say (empty text)")
        samples, events = self._engine.synth(text, self.variant, rate, pitch, volume)
        if samples.shape[0] == 0:
            raise ValueError(f"{self.name}: espeak produced no audio for {text!r}")
        sr_in = self._engine.sample_rate
        audio = resample(samples.astype(np.float32) / 32768.0, sr_in, SAMPLE_RATE)
        duration = audio.shape[0] / SAMPLE_RATE
        rows = events_to_rows(events, samples.shape[0], sr_in)
        phones = make_phone_table(rows, duration)
        return Synthesis(audio=audio, phones=phones, voice=self.name, text=text,
                         meta={"native_sample_rate": sr_in,
                               "ipa": [e.name for e in events]})
