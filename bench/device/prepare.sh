#!/usr/bin/env bash
# Packs what a lent GPU machine needs for bench/device/run.sh (the `device` tool of this
# workplace: a bare x86-64 machine with an NVIDIA driver, no Vulkan loader, no compiler):
#   .devcarry/  the Release build's vkllm and every GPU test program (shaders are embedded)
#   .gl/        Debian 13's Vulkan loader and validation layer as .deb files (1.4: Debian 12's
#               1.3.239 layer does not know VK_KHR_cooperative_matrix and warns on device creation)
# Both folders are ignored by git; name them in the tool's `carry`:
#   run(command="bash bench/device/run.sh tests", carry=[".devcarry", ".gl"])
# Needs what scripts/run.sh installs, and apt-get access to deb.debian.org for .gl the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in /.devcarry/ /.gl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude; done

cmake -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
rm -rf .devcarry && mkdir .devcarry
cp build/vkllm .devcarry/
tests=$(cd build && ctest -N -L gpu | awk '/Test +#/ {print $3}')
for t in $tests; do cp "build/tests/$t" .devcarry/; done
echo "bench/device/prepare: .devcarry holds vkllm and $(echo "$tests" | wc -w) GPU tests ($(du -sh .devcarry | cut -f1))"

if ! ls .gl/libvulkan1_*.deb .gl/vulkan-validationlayers_*.deb >/dev/null 2>&1; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" .gl
  echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
            -o APT::Architecture=amd64 -o APT::Architectures=amd64)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd .gl && apt-get "${apt_opts[@]}" download -qq libvulkan1/trixie vulkan-validationlayers/trixie >/dev/null)
fi
echo "bench/device/prepare: .gl holds $(ls .gl | tr '\n' ' ')"
