"""Voices behind one interface: text → 16 kHz mono float32 audio plus the synthesiser's own
phone timings.

A voice is named ``backend:variant``, e.g. ``espeak:en-us``, ``espeak:en-us+f3``,
``espeak:en-gb+m3`` or ``piper:joe``; `get_voice` builds one. Every backend returns a
`Synthesis` whose ``phones`` table (``phone, start_s, end_s, word``, seconds, the one phone set of
`blendtalk.speech.phones`) covers the audio exactly, with ``sil`` for pauses.

Prosody controls, common to all backends: ``rate`` (speaking-rate multiplier, 1 = the voice's
default), ``pitch`` (pitch multiplier, 1 = default) and ``volume`` (linear gain, 1 = default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from blendtalk.speech.audio import SAMPLE_RATE


class BackendUnavailable(ImportError):
    """A voice backend whose package or native library is missing; the message names the
    backend and what to install."""


@dataclass(frozen=True)
class Synthesis:
    """One synthesised utterance: ``audio`` (mono float32, 16 kHz), ``phones`` (phone table,
    seconds, covering ``[0, duration_s]``), and the ``voice`` and ``text`` it came from."""

    audio: np.ndarray
    phones: pd.DataFrame
    voice: str
    text: str
    sample_rate: int = SAMPLE_RATE
    meta: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Audio length in seconds."""
        return self.audio.shape[0] / self.sample_rate


@runtime_checkable
class Voice(Protocol):
    """A text-to-speech voice. ``name`` is its ``backend:variant`` spec."""

    name: str

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0,
                   volume: float = 1.0) -> Synthesis:
        """Speak ``text``; returns audio at 16 kHz and the exact phone timings."""
        ...


def check_prosody(rate: float, pitch: float, volume: float) -> None:
    """Raise ``ValueError`` for prosody controls outside their supported ranges
    (rate 0.25–4, pitch 0.25–4, volume 0–4)."""
    for name, value, lo, hi in (("rate", rate, 0.25, 4.0), ("pitch", pitch, 0.25, 4.0),
                                ("volume", volume, 0.0, 4.0)):
        if not (lo <= float(value) <= hi):
            raise ValueError(f"{name}={value} is outside [{lo}, {hi}]")


BACKENDS = ("espeak", "piper")


def get_voice(spec: str) -> Voice:
    """Build a voice from ``backend:variant`` (``espeak:en-us+f3``, ``piper:joe``); a bare
    backend name takes its default variant. Raises `BackendUnavailable` naming the backend when
    its library is missing, ``ValueError`` for an unknown backend."""
    backend, _, variant = spec.partition(":")
    if backend == "espeak":
        from blendtalk.speech.espeak import EspeakVoice
        return EspeakVoice(variant or "en-us")
    if backend == "piper":
        from blendtalk.speech.piper import PiperVoice
        return PiperVoice(variant or "joe")
    raise ValueError(f"unknown voice backend {backend!r} in {spec!r} (known: {BACKENDS})")


def available_backends() -> dict[str, str | None]:
    """``{backend: None if usable else the reason it is not}``."""
    out: dict[str, str | None] = {}
    for backend in BACKENDS:
        try:
            get_voice(backend)
            out[backend] = None
        except BackendUnavailable as exc:
            out[backend] = str(exc)
    return out
