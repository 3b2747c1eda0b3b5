#!/usr/bin/env bash
# The one prepared device run (issue 26): on a lent GPU machine, from the repository root, with
# .devcarry and .gl carried (made here by bench/device/prepare.sh):
#   run(command="bash bench/device/run.sh", carry=[".devcarry", ".gl"], timeout_s=560)
# Parts (all by default; name some to run only those), each bounded so the whole run ends inside
# VKLLM_DEVICE_BUDGET_S seconds (default 480, under one call's 10 minutes with a margin):
#   tests    every GPU test under the validation layer (a validation message fails a test), four
#            at a time (the layer is CPU-bound)
#   kernels  vkllm bench --kernels (copy, FMA and matrix peaks, every kernel as a share of them),
#            then tile sweeps of the GEMV and the cooperative-matrix GEMM
#   models   pp512 / tg128 through vkllm bench -m and through llama.cpp's llama-bench (Vulkan,
#            every layer on the GPU) on the same synthesized GGUF, one model after the other in
#            the order given, until the budget runs out. Specs are PRESET:TYPE[:LAYERS]; the
#            default list starts with the issue's three models and goes on with the newer
#            architectures (fewer layers where a whole model would take minutes to synthesize:
#            both engines read the same file, so their ratio holds).
# The models are synthesized in the background from the start (synth uses every core), so the
# tests and kernels run while they are made. Everything lands in $OUT (the device tool brings it
# back) or /tmp/vkllm-device: latest.json and latest.md (bench/device/summarize.py; commit them as
# bench/device/latest.*), run.log, and raw.tgz with every program's own output.
# It runs on lavapipe too (no loader unpacked there), which is how it is tested before a GPU comes.
set -uo pipefail
t0=$(date +%s)
budget=${VKLLM_DEVICE_BUDGET_S:-480}
elapsed() { echo $(( $(date +%s) - t0 )); }
left() { echo $(( budget - $(elapsed) )); }

out="${OUT:-/tmp/vkllm-device}"
work=/tmp/vkllm-device-work
models=/tmp/vkllm-device-models
rm -rf "$work" && mkdir -p "$work/tests" "$work/models" "$work/sweep" "$models" "$out"
exec > >(tee "$out/run.log") 2>&1

# the lent machine has the NVIDIA driver but no Vulkan loader: Debian 13's, unpacked into /
if [ -d /usr/local/nvidia ] && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  [ -e /usr/share/vulkan/icd.d/nvidia_icd.json ] ||
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
bin=/tmp/vkllm-bin
rm -rf "$bin" && mkdir -p "$bin"
for a in .devcarry/vkllm.tar.xz .devcarry/llama.tar.xz; do
  [ -s "$a" ] || { echo "run.sh: $a is missing: run bench/device/prepare.sh here and carry .devcarry"; exit 1; }
  tar -xJf "$a" -C "$bin" || exit 1
done
vk="$bin/vkllm/vkllm" lb="$bin/llama/llama-bench"
cp .devcarry/commit.txt "$work/commit.txt"
date -u +%Y-%m-%dT%H:%M:%SZ >"$work/date.txt"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$work/gpu.txt" 2>/dev/null
"$vk" devices >"$work/devices.txt" 2>&1
nproc >"$work/nproc.txt"
head -4 "$work/devices.txt"

parts="" specs=""
for w in "$@"; do if [[ "$w" == *:* ]]; then specs+=" $w"; else parts+=" $w"; fi; done
parts="${parts:- tests kernels models}"
specs="${specs:- qwen3-8b:q4_K qwen3-30b-a3b:q4_K qwen3-8b:q8_0 deepseek-v2-lite:q4_K gpt-oss-20b:q8_0:8
  qwen3-next-80b-a3b:q4_K:8 kimi-linear-48b-a3b:q4_K:8 glm-4.5-air:q4_K:8 llama4-scout:q4_K:4
  gemma-3n-e2b:q4_K minimax-m2:q4_K:4 grok-2.5:q4_K:2 ministral-3:q4_K deepseek-v3:q4_K:4}"
echo "$specs" | xargs -n1 >"$work/specs.txt"
file_of() { echo "$models/${1//:/-}.gguf"; }

# synthesize every model in order, in the background; a model's file appears (renamed) only
# when whole, and a .failed marker says when it cannot be made
if [[ " $parts " == *" models "* ]]; then
  (
    for spec in $specs; do
      IFS=: read -r preset type layers <<<"$spec"
      m=$(file_of "$spec")
      # wait while disk is short and a made model still waits for its turn
      while [ "$(df --output=avail -B1G "$models" | tail -1)" -lt 25 ] && ls "$models"/*.gguf >/dev/null 2>&1; do sleep 2; done
      nice -n 5 "$vk" synth --preset "$preset" --type "$type" ${layers:+--n-layer "$layers"} -q -o "$m.part" \
        >"$work/models/${spec//:/-}.synth.log" 2>&1 && mv "$m.part" "$m" || touch "$m.failed"
    done
  ) &
  synth_pid=$!
fi

if [[ " $parts " == *" tests "* ]]; then
  echo "== GPU tests under the validation layer ($(elapsed) s)"
  run_test() {
    local t=$1 name start rc
    name=$(basename "$t") start=$(date +%s)
    (cd /tmp && VKLLM_VALIDATION=1 timeout "$2" "$t") >"$3/$name.log" 2>&1
    rc=$?
    printf '%-22s rc=%-3d %4ds  %s\n' "$name" "$rc" $(( $(date +%s) - start )) "$(tail -1 "$3/$name.log" | cut -c1-100)"
  }
  export -f run_test
  # each test gets at most a third of what is left, so the models keep their time
  per=$(( $(left) / 3 )); [ "$per" -gt 240 ] && per=240
  ls "$bin"/vkllm/test_* | xargs -P 4 -I{} bash -c "run_test {} $per $work/tests" | sort | tee "$work/tests.txt"
fi

if [[ " $parts " == *" kernels "* ]]; then
  echo "== vkllm bench --kernels ($(elapsed) s)"
  timeout 120 "$vk" bench --kernels --json >"$work/kernels.json" 2>"$work/kernels.err"
  echo "rc=$? ($(elapsed) s)"
  # tile sweeps: the GEMV's workgroup x rows, the coopmat GEMM's block; 25 s each at most
  # the kernels built without a GPU against the ones they replace, side by side: the wide-load
  # Q4_K and Q8_0 matvec (matvec_vec) against matvec.comp, decode and prefill attention (attention_decode,
  # attention_cm) against attention.comp
  VKLLM_MATVEC_VEC=0 timeout 25 "$vk" bench --kernels --only matvec --json >"$work/sweep/matvec-novec.json" 2>/dev/null
  VKLLM_ATTN_DECODE=0 timeout 25 "$vk" bench --kernels --only attention --json >"$work/sweep/attention-old.json" 2>/dev/null
  # attention_cm is opt-in until its precision is checked on a GPU (docs/attention.md); its figure
  VKLLM_ATTN_CM=1 timeout 25 "$vk" bench --kernels --only attention --json >"$work/sweep/attention-cm.json" 2>/dev/null
  for t in 32,1 64,8 128,4 128,8 128,16 256,8 256,16; do
    [ "$(left)" -gt 200 ] || break
    VKLLM_MATVEC_TILE=$t timeout 25 "$vk" bench --kernels --only matvec --json >"$work/sweep/matvec-$t.json" 2>/dev/null
  done
  for t in 64,64 128,64 64,128 128,128 256,128 128,256; do
    [ "$(left)" -gt 180 ] || break
    VKLLM_COOPMAT_TILE=$t timeout 25 "$vk" bench --kernels --only gemm --json >"$work/sweep/gemm-$t.json" 2>/dev/null
  done
fi

if [[ " $parts " == *" models "* ]]; then
  echo "== models: vkllm bench -m and llama-bench, pp512 / tg128 ($(elapsed) s)"
  [ -s "$work/kernels.json" ] || timeout 60 "$vk" bench --kernels --only matvec --json >"$work/kernels.json" 2>/dev/null
  for spec in $specs; do
    m=$(file_of "$spec") name=${spec//:/-}
    while [ ! -e "$m" ] && [ ! -e "$m.failed" ] && [ "$(left)" -gt 60 ]; do sleep 1; done
    if [ ! -e "$m" ]; then
      echo "$spec: $([ -e "$m.failed" ] && echo "synth failed" || echo "not made within the budget"); the models after it are skipped"
      echo "$spec" >>"$work/skipped.txt"
      [ -e "$m.failed" ] && continue || break
    fi
    [ "$(left)" -gt 45 ] || { echo "$spec: skipped, $(left) s left"; echo "$spec" >>"$work/skipped.txt"; continue; }
    timeout $(( $(left) - 10 )) "$vk" bench -m "$m" -p 512 -n 128 -r 3 --json >"$work/models/$name.vkllm.json" 2>"$work/models/$name.vkllm.err"
    echo "$spec vkllm rc=$? ($(elapsed) s)"
    [ "$(left)" -gt 30 ] || { echo "$spec: llama-bench skipped, $(left) s left"; continue; }
    GGML_VK_VISIBLE_DEVICES=0 timeout $(( $(left) - 10 )) "$lb" -m "$m" -p 512 -n 128 -r 3 -ngl 99 -t "$(nproc)" -o json \
      >"$work/models/$name.llama.json" 2>"$work/models/$name.llama.err"
    echo "$spec llama-bench rc=$? ($(elapsed) s)"
    rm -f "$m"
  done
  kill "$synth_pid" 2>/dev/null
  pkill -f "$vk synth" 2>/dev/null
fi

echo "== summary ($(elapsed) s)"
python3 bench/device/summarize.py "$work" "$out/latest.json" "$out/latest.md" && cat "$out/latest.md"
tar -C "$work" -czf "$out/raw.tgz" .
rm -rf "$models"
echo "done in $(elapsed) s"
