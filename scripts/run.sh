#!/usr/bin/env bash
# The README's main command: installs what is missing, builds vkllm, then runs it.
# Arguments go to `vkllm run` (for example -m MODEL.gguf, --device N).
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install-deps.sh >&2
cmake -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
exec build/vkllm run "$@"
