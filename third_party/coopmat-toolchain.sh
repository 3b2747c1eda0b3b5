#!/usr/bin/env bash
# The shader compiler for the cooperative-matrix GEMM (shaders/gemm_coopmat.comp).
#
# GL_KHR_cooperative_matrix needs glslang 13 or newer; Debian 12 ships 12.0. When the system
# glslangValidator already compiles it, nothing is done. Otherwise this fetches Debian 13's
# glslang-tools and spirv-tools, with the C and C++ runtimes they were built against, into
# third_party/coopmat-toolchain/ (about 60 MB, ignored by git), and writes wrappers in its bin/
# that start each tool with Debian 13's own dynamic loader, so nothing of the system changes.
# Only the coopmat shader variants use these tools; the build works without them (those variants
# are then left out and the plain GEMM serves every device; docs/matmul.md).
#
# Needs apt-get and network access to deb.debian.org. Exit 0 when the toolchain is ready or not
# needed, 1 with a one-line reason when it cannot be had.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/coopmat-toolchain"
probe="$here/../shaders/coopmat_probe.comp"

if glslangValidator -V --target-env vulkan1.3 "$probe" -o /dev/null >/dev/null 2>&1; then
  echo "coopmat-toolchain: the system glslang compiles cooperative-matrix shaders; nothing to fetch"
  exit 0
fi
if [ -x "$dest/bin/glslang" ] && "$dest/bin/glslang" -V --target-env vulkan1.3 "$probe" -o /dev/null >/dev/null 2>&1; then
  echo "coopmat-toolchain: ready in $dest"
  exit 0
fi
if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
  echo "coopmat-toolchain: only fetched for amd64; coopmat shaders will not be built" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/debs"
echo "deb http://deb.debian.org/debian trixie main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
if ! apt-get "${apt_opts[@]}" update -qq >"$work/log" 2>&1; then
  echo "coopmat-toolchain: apt-get update of Debian 13 (trixie) failed; coopmat shaders will not be built" >&2
  exit 1
fi
(cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq glslang-tools/trixie spirv-tools/trixie libc6/trixie \
   libstdc++6/trixie libgcc-s1/trixie >>"$work/log" 2>&1) || {
  echo "coopmat-toolchain: downloading Debian 13 glslang-tools failed (see apt-get); coopmat shaders will not be built" >&2
  exit 1
}
rm -rf "$dest"
mkdir -p "$dest/bin"
for f in "$work"/debs/*.deb; do dpkg-deb -x "$f" "$dest/root"; done
ls "$work/debs" >"$dest/PACKAGES"
for tool in glslang spirv-opt spirv-val; do
  cat >"$dest/bin/$tool" <<EOF
#!/bin/sh
# $tool from Debian 13, run by Debian 13's loader with its own libraries (third_party/coopmat-toolchain.sh)
d="\$(dirname "\$0")/../root"
exec "\$d/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "\$d/usr/lib/x86_64-linux-gnu" "\$d/usr/bin/$tool" "\$@"
EOF
  chmod +x "$dest/bin/$tool"
done
if ! "$dest/bin/glslang" -V --target-env vulkan1.3 "$probe" -o /dev/null >/dev/null; then
  echo "coopmat-toolchain: the fetched glslang does not compile $probe; coopmat shaders will not be built" >&2
  exit 1
fi
echo "coopmat-toolchain: ready in $dest ($("$dest/bin/glslang" --version | head -1))"
