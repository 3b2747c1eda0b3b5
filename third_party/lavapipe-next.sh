#!/usr/bin/env bash
# A lavapipe with VK_KHR_cooperative_matrix, to run the coopmat GEMM (shaders/gemm_coopmat.comp)
# on a machine without a GPU.
#
# Debian 12's lavapipe (Mesa 22.3) has no cooperative matrices, and neither has Debian 13's own
# (Mesa 25.0); lavapipe gained them in Mesa 26, which Debian 13 has in trixie-backports. This
# fetches that mesa-vulkan-drivers with the Vulkan loader, vulkaninfo, the validation layer (one
# that knows the extension; Debian 12's 1.3.239 does not) and every library they need, Debian 13's
# C runtime included, into third_party/lavapipe-next/ (about 70 MB to download, 220 MB unpacked,
# ignored by git through .git/info/exclude), and writes third_party/lavapipe-next/run, which starts
# a program with Debian 13's dynamic loader and those libraries and points the Vulkan loader at
# that lavapipe and those layers only, so nothing of the system changes:
#   third_party/lavapipe-next/run build/tests/test_gemm
# The program must be an ELF executable (not a script), and what it executes in turn runs on the
# system's libraries again. probe.c in that folder prints what each device offers.
#
# Needs apt-get, dpkg-deb and network access to deb.debian.org; amd64 only. Exit 0 when the
# runtime is ready and its lavapipe lists VK_KHR_cooperative_matrix, 1 with a one-line reason
# when it cannot be had.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/lavapipe-next"
lib=root/usr/lib/x86_64-linux-gnu

# the runtime's own vulkaninfo, through the wrapper, lists the extension
ready() {
  [ -x "$dest/run" ] && [ -x "$dest/root/usr/bin/vulkaninfo" ] || return 1
  case "$("$dest/run" "$dest/root/usr/bin/vulkaninfo" 2>/dev/null)" in
  *VK_KHR_cooperative_matrix*) return 0 ;;
  esac
  return 1
}
exclude() {
  local f
  f="$(git -C "$here/.." rev-parse --git-path info/exclude 2>/dev/null)" || return 0
  case "$f" in /*) ;; *) f="$here/../$f" ;; esac
  mkdir -p "$(dirname "$f")"
  grep -qx /third_party/lavapipe-next/ "$f" 2>/dev/null || echo /third_party/lavapipe-next/ >>"$f"
}

exclude
if ready; then
  echo "lavapipe-next: ready in $dest"
  exit 0
fi
if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
  echo "lavapipe-next: only fetched for amd64" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/debs"
: >"$work/status"
printf 'deb http://deb.debian.org/debian trixie main\ndeb http://deb.debian.org/debian trixie-backports main\n' >"$work/sources.list"
# trixie-backports first (Mesa 26), trixie for the rest; the system's installed packages play no part
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=$work/status"
          -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
          -o APT::Default-Release=trixie-backports -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
if ! apt-get "${apt_opts[@]}" update -qq >"$work/log" 2>&1; then
  echo "lavapipe-next: apt-get update of Debian 13 (trixie, trixie-backports) failed" >&2
  exit 1
fi
wanted=(mesa-vulkan-drivers libvulkan1 vulkan-tools vulkan-validationlayers)
# the Depends closure (virtual packages, shown as <name>, are provided by a listed real one)
if ! pkgs="$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
               --no-replaces --no-enhances "${wanted[@]}" 2>>"$work/log" | grep -v '^[ <]' | sort -u)" || [ -z "$pkgs" ]; then
  echo "lavapipe-next: resolving the dependencies of Debian 13's mesa-vulkan-drivers failed" >&2
  exit 1
fi
# shellcheck disable=SC2086
(cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq $pkgs >>"$work/log" 2>&1) || {
  echo "lavapipe-next: downloading Debian 13's mesa-vulkan-drivers and its libraries failed (see apt-get)" >&2
  exit 1
}

# keep probe.c (and anything else not ours); replace the rest
rm -rf "$dest/root" "$dest/vulkan" "$dest/run" "$dest/PACKAGES"
mkdir -p "$dest"
for f in "$work"/debs/*.deb; do dpkg-deb -x "$f" "$dest/root"; done
(cd "$work/debs" && ls) >"$dest/PACKAGES"
du -cb "$work"/debs/*.deb | tail -1 | cut -f1 >"$dest/DOWNLOAD_BYTES"
# only lavapipe is used: drop the GPU drivers, documentation and translations
find "$dest/$lib" -maxdepth 1 -name 'libvulkan_*.so' ! -name libvulkan_lvp.so -delete
rm -rf "$dest/root/usr/share/doc" "$dest/root/usr/share/man" "$dest/root/usr/share/locale" \
       "$dest/root/usr/share/lintian" "$dest/root/usr/share/bug" "$dest/root/usr/share/i18n"
if ! [ -e "$dest/$lib/libvulkan_lvp.so" ] || ! [ -e "$dest/$lib/ld-linux-x86-64.so.2" ] || ! [ -e "$dest/$lib/libvulkan.so.1" ]; then
  echo "lavapipe-next: the fetched packages lack libvulkan_lvp.so, libvulkan.so.1 or the dynamic loader" >&2
  exit 1
fi

# manifests whose library_path is relative to the manifest (the loader's rule for a path with a /),
# so the folder can move
up=../../$lib
mkdir -p "$dest/vulkan/icd.d" "$dest/vulkan/explicit_layer.d" "$dest/vulkan/implicit_layer.d"
sed "s#\"library_path\": *\"libvulkan_lvp.so\"#\"library_path\": \"$up/libvulkan_lvp.so\"#" \
  "$dest/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$dest/vulkan/icd.d/lvp_icd.json"
sed "s#\"library_path\": *\"libVkLayer_khronos_validation.so\"#\"library_path\": \"$up/libVkLayer_khronos_validation.so\"#" \
  "$dest/root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json" \
  >"$dest/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"
sed "s#\"library_path\" *: *\"libVkLayer_MESA_device_select.so\"#\"library_path\": \"$up/libVkLayer_MESA_device_select.so\"#" \
  "$dest/root/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json" \
  >"$dest/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json"
grep -q "$up/libvulkan_lvp.so" "$dest/vulkan/icd.d/lvp_icd.json" || {
  echo "lavapipe-next: could not rewrite library_path in lvp_icd.json" >&2
  exit 1
}

cat >"$dest/run" <<'EOF'
#!/bin/sh
# Runs PROGRAM (an ELF executable) with Debian 13's dynamic loader and libraries, on the lavapipe
# from trixie-backports and Debian 13's validation layer only (third_party/lavapipe-next.sh).
# Usage: third_party/lavapipe-next/run PROGRAM [ARGS...]
d="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 1 ]; then
  echo "usage: $0 PROGRAM [ARGS...]" >&2
  exit 2
fi
prog="$1"
shift
case "$prog" in
*/*) ;;
*) prog="$(command -v "$prog")" || { echo "lavapipe-next/run: $1: not found" >&2; exit 127; } ;;
esac
lib="$d/root/usr/lib/x86_64-linux-gnu"
export VK_DRIVER_FILES="$d/vulkan/icd.d/lvp_icd.json" VK_ICD_FILENAMES="$d/vulkan/icd.d/lvp_icd.json"
export VK_LAYER_PATH="$d/vulkan/explicit_layer.d" VK_IMPLICIT_LAYER_PATH="$d/vulkan/implicit_layer.d"
unset VK_ADD_DRIVER_FILES VK_ADD_LAYER_PATH VK_ADD_IMPLICIT_LAYER_PATH
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$prog" "$@"
EOF
chmod +x "$dest/run"

if ! ready; then
  echo "lavapipe-next: the fetched lavapipe does not start or does not list VK_KHR_cooperative_matrix" >&2
  exit 1
fi
echo "lavapipe-next: ready in $dest ($("$dest/run" "$dest/root/usr/bin/vulkaninfo" --summary 2>/dev/null |
  sed -n 's/^[[:space:]]*driverInfo[[:space:]]*=[[:space:]]*//p' | head -1))"
