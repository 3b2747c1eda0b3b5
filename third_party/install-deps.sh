#!/usr/bin/env bash
# Installs everything vkllm needs to build and test, from Debian/Ubuntu packages only (see
# third_party/README.md for what each one is for). When every package is already installed it
# does nothing and needs no network, so it is safe to call before every build.
set -euo pipefail

packages=(
  build-essential cmake
  libvulkan-dev
  libvulkan-volk-dev
  glslang-tools
  spirv-tools
  mesa-vulkan-drivers
  vulkan-validationlayers
  vulkan-tools
  clang
  libpcre2-dev
)
wanted=("${packages[@]}")

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# the cooperative-matrix shader compiler (Debian 13's glslang) when the system one is too old;
# optional: without it those shader variants are left out and the plain GEMM serves every device
# and Mesa 26's lavapipe, which has cooperative matrices, for the coopmat kernels' tests on a
# machine without a GPU (tests/coopmat_next.sh); optional too: without it that test is skipped
coopmat_toolchain() {
  bash "$(dirname "$0")/coopmat-toolchain.sh" || echo "install-deps: continuing without the coopmat shader compiler"
  bash "$(dirname "$0")/lavapipe-next.sh" || echo "install-deps: continuing without Mesa 26's lavapipe (coopmat tests skipped)"
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages are installed"
  coopmat_toolchain
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 2
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
    exit 2
  fi
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
coopmat_toolchain
