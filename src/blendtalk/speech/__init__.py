"""Speech: audio I/O and prosody (`audio`), the phone set (`phones`), voices with exact phone
timings (`tts`, `espeak`, `piper`) and forced alignment of any recording (`align`).

Units everywhere: audio 16 kHz mono float32, times in seconds, feature/animation frames at
30 fps (``ceil(30 × duration)`` frames). Submodules are imported on demand (optional native
libraries: libespeak-ng, onnxruntime, pocketsphinx).
"""
