#!/usr/bin/env bash
# Runs on a lent GPU machine from the repository root, with .devcarry and .gl carried (made by
# bench/device/prepare.sh here). Parts, each well inside one call's 10 minutes:
#   tests    every GPU test under the validation layer (a validation message fails a test)
#   kernels  vkllm bench --kernels: copy and FMA peaks, kernels as a share of them
#   models   vkllm bench -m on synthesized models (default full qwen3-8b q8_0 and q4_K and
#            qwen3-0.6b q8_0; or the PRESET:TYPE[:LAYERS] words given, e.g.
#            deepseek-v2-lite:q4_K, deepseek-v3:q4_K:4, kimi-linear-48b-a3b:q4_K:8, gpt-oss-20b:q8_0
#            (experts MXFP4), glm-4.5-air:q4_K:8, minimax-m2:q4_K:8, ministral-3:q4_K,
#            llama4-scout:q4_K:4, grok-2.5:q4_K:2 or gemma-3n-e2b:q4_K (at least 20 layers)):
#            prefill and decode tokens/s, and
#            decode's weight bytes a second as a share of the copy peak (the peaks are measured
#            first when kernels has not run). Synthesizing the 8.7 GB q8_0 8B takes a while: one
#            model a call is the safe choice, e.g. `run.sh models qwen3-8b:q8_0`.
# Results go to $OUT (the tool brings that folder back) or /tmp/vkllm-device.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
[ -e /usr/share/vulkan/icd.d/nvidia_icd.json ] ||
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
out="${OUT:-/tmp/vkllm-device}"
mkdir -p "$out"
bin="$PWD/.devcarry"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | tee "$out/gpu.txt"
"$bin/vkllm" devices | head -12 | tee "$out/devices.txt"
parts="" specs=""
for w in "$@"; do if [[ "$w" == *:* ]]; then specs+=" $w"; else parts+=" $w"; fi; done
parts="${parts:- tests kernels models}"
specs="${specs:- qwen3-8b:q8_0 qwen3-8b:q4_K qwen3-0.6b:q8_0}"
json_num() { grep -o "\"$1\":[-0-9.e+]*" "$2" | head -1 | cut -d: -f2; }

if [[ " $parts " == *" tests "* ]]; then
  echo "== tests (validation on)"
  for t in "$bin"/test_*; do
    name=$(basename "$t") start=$(date +%s)
    (cd /tmp && timeout 500 "$t") >"$out/$name.log" 2>&1
    rc=$?
    printf '%-22s rc=%-3d %4ds  %s\n' "$name" "$rc" $(( $(date +%s) - start )) "$(tail -1 "$out/$name.log" | cut -c1-100)"
    grep -m3 -i "validation\|FAIL" "$out/$name.log" | cut -c1-300
  done | tee "$out/tests.txt"
fi

if [[ " $parts " == *" kernels "* ]]; then
  echo "== vkllm bench --kernels"
  "$bin/vkllm" bench --kernels --json >"$out/kernels.json" && "$bin/vkllm" bench --kernels | tee "$out/kernels.txt"
fi

if [[ " $parts " == *" models "* ]]; then
  [ -s "$out/kernels.json" ] || "$bin/vkllm" bench --kernels --only matvec --json >"$out/kernels.json"
  copy=$(json_num copy_gbs "$out/kernels.json")
  echo "== vkllm bench -m (copy peak ${copy} GB/s)"
  for spec in $specs; do
    IFS=: read -r preset type layers <<<"$spec"
    name="${spec//:/-}" m="/tmp/${spec//:/-}.gguf"
    [ -s "$m" ] || "$bin/vkllm" synth --preset "$preset" --type "$type" ${layers:+--n-layer "$layers"} -q -o "$m" || continue
    "$bin/vkllm" bench -m "$m" -p 512 -n 128 -r 3 --json >"$out/$name.json" || continue
    tg=$(json_num tg_tps "$out/$name.json") gbs=$(json_num tg_gbs "$out/$name.json")
    pp=$(json_num pp_tps "$out/$name.json")
    awk -v s="$spec" -v pp="$pp" -v tg="$tg" -v g="$gbs" -v c="$copy" 'BEGIN {
      printf "%-16s pp512 %8.1f tok/s  tg128 %7.1f tok/s  decode %6.0f GB/s = %4.1f%% of copy\n", s, pp, tg, g, 100 * g / c }'
  done | tee "$out/models.txt"
fi
