#!/usr/bin/env bash
# Installs the tests' npm data and oracle (tests/deps/package.json) into tests/deps/node_modules,
# then clones llama.cpp's source from the git bundle node-llama-cpp ships into tests/deps/llama.cpp
# (for test_quant_witness, which links llama.cpp's own ggml-quants.c). Needs node, npm and git
# (Debian packages nodejs, npm, git, installed here when missing). Does nothing when the pinned
# versions are already there.
set -euo pipefail
cd "$(dirname "$0")"

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

if ! [ -f node_modules/.vkllm-installed ] || ! [ node_modules/.vkllm-installed -nt package.json ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.vkllm-installed
fi

# The bundle holds one commit (HEAD): the llama.cpp release node-llama-cpp was built from. Clone it
# again only when the pinned package brings a different commit.
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
command -v git >/dev/null || apt_install git
want=$(git bundle list-heads "$bundle" | awk '$2 == "HEAD" { print $1 }')
have=$(git -C llama.cpp rev-parse HEAD 2>/dev/null || true)
if [ -z "$want" ] || [ "$have" != "$want" ] || ! [ -f llama.cpp/ggml/src/ggml-quants.c ]; then
  rm -rf llama.cpp
  git -c advice.detachedHead=false clone -q "$bundle" llama.cpp
fi
