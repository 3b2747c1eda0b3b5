#!/usr/bin/env bash
# Packs what a lent GPU machine needs for bench/device/run.sh (the `device` tool of this
# workplace: a bare x86-64 machine with an NVIDIA driver, no Vulkan loader, no compiler):
#   .devcarry/vkllm.tar.xz  the Release build's vkllm and every GPU test program (shaders are
#               embedded, so the programs are mostly the same bytes: 57 MB packs into about 1 MB)
#   .devcarry/llama.tar.xz  llama.cpp's llama-bench, the peer: compiled here from the bundled
#               source (tests/deps/llama.cpp, the exact release node-llama-cpp 3.22.1 was built
#               from) against node-llama-cpp's prebuilt Vulkan libraries, which it loads from its
#               own folder (43 MB of Vulkan backend, mostly SPIR-V: about 10 MB packed)
#   .devcarry/commit.txt    the commit the programs were built from
#   .gl/        Debian 13's Vulkan loader and validation layer as .deb files (1.4: Debian 12's
#               1.3.239 layer does not know VK_KHR_cooperative_matrix and warns on device creation)
# Both folders are ignored by git; name them in the tool's `carry` (together about 17 MB, inside
# the tool's 64 MiB with the working tree):
#   run(command="bash bench/device/run.sh", carry=[".devcarry", ".gl"])
# Needs what scripts/run.sh installs, the tests' dependencies (tests/deps/install.sh, run here when
# missing), and apt-get access to deb.debian.org for .gl the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in /.devcarry/ /.gl/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude; done

cmake -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/vkllm" "$stage/llama"
cp build/vkllm "$stage/vkllm/"
# the GPU test programs (tests that are scripts, such as coopmat_lavapipe_next, stay here)
tests=""
for t in $(cd build && ctest -N -L gpu | awk '/Test +#/ {print $3}'); do
  if [ -f "build/tests/$t" ]; then cp "build/tests/$t" "$stage/vkllm/" && tests+=" $t"; fi
done

# llama-bench links llama.cpp's common library, which the prebuilt folder holds (libllama-common.so);
# the Vulkan and CPU backends are loaded at run time from the executable's folder
deps=tests/deps
bins=$deps/node_modules/@node-llama-cpp/linux-x64-vulkan/bins/linux-x64-vulkan
src=$deps/llama.cpp
[ -f "$bins/libggml-vulkan.so" ] && [ -f $src/tools/llama-bench/llama-bench.cpp ] || bash $deps/install.sh >/dev/null
cp "$bins"/lib*.so "$stage/llama/"
g++ -std=c++17 -O2 -I$src/common -I$src/include -I$src/ggml/include -I$src/vendor \
  $src/tools/llama-bench/llama-bench.cpp $src/tools/llama-bench/main.cpp -o "$stage/llama/llama-bench" \
  -L"$stage/llama" -l:libllama-common.so -l:libllama.vulkan.v0.5.0.so -l:libggml.vulkan.v0.5.0.so \
  -l:libggml-base.so -Wl,-rpath,'$ORIGIN' -pthread

rm -rf .devcarry && mkdir .devcarry
tar -C "$stage" -cf - vkllm | xz -T"$(nproc)" -9e >.devcarry/vkllm.tar.xz
tar -C "$stage" -cf - llama | xz -T"$(nproc)" -6 >.devcarry/llama.tar.xz
git rev-parse --short HEAD >.devcarry/commit.txt
git diff --quiet HEAD -- . ':!bench/device/latest.*' || echo "plus uncommitted changes" >>.devcarry/commit.txt
echo "bench/device/prepare: .devcarry holds vkllm, $(echo "$tests" | wc -w) GPU tests and llama-bench ($(du -sh .devcarry | cut -f1))"

if ! ls .gl/libvulkan1_*.deb .gl/vulkan-validationlayers_*.deb >/dev/null 2>&1; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work" "$stage"' EXIT
  mkdir -p "$work/lists/partial" .gl
  echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
            -o APT::Architecture=amd64 -o APT::Architectures=amd64)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd .gl && apt-get "${apt_opts[@]}" download -qq libvulkan1/trixie vulkan-validationlayers/trixie >/dev/null)
fi
echo "bench/device/prepare: .gl holds $(ls .gl | tr '\n' ' ')"
