#!/usr/bin/env bash
# CTest's coopmat_lavapipe_next: the cooperative-matrix kernels on a machine without a GPU, on
# Mesa 26's lavapipe (third_party/lavapipe-next.sh fetches it; install-deps.sh calls that): the
# coopmat GEMM against the CPU reference (test_coopmat), prefill attention (test_attention) and the
# grouped expert GEMM (test_moe) on matrix units, then `vkllm bench --kernels --only peaks`
# must report positive f16 and s8 matrix peaks (peak_coopmat.comp), both with the validation
# layer (the runtime's own, which knows the extension). Exit 77 (CTest: skipped) when the runtime
# is not there.
# usage: coopmat_next.sh RUN_WRAPPER TEST_COOPMAT TEST_MOE TEST_ATTENTION VKLLM
set -uo pipefail
run=$1 test_coopmat=$2 test_moe=$3 test_attention=$4 vkllm=$5
if [ ! -x "$run" ]; then
  echo "coopmat_next: $run is missing (third_party/lavapipe-next.sh did not run or failed): skipped"
  exit 77
fi
# llvmpipe compiles a coopmat variant in seconds to minutes: keep Mesa's own cache with the build
export MESA_SHADER_CACHE_DIR="${XDG_CACHE_HOME:-/tmp}/mesa-next"
"$run" "$test_coopmat" || exit 1
# prefill attention on matrix units (attention_cm.comp) in test_attention's prefill cases
att_out=$("$run" "$test_attention" 2>&1) || { echo "$att_out" | tail -20; exit 1; }
echo "$att_out" | tail -3
grep -q "attention_cm (matrix units): largest error" <<<"$att_out" || { echo "coopmat_next: test_attention did not run attention_cm"; exit 1; }
# the grouped expert GEMM (test_moe's cases) on matrix units, at the same small tile
moe_out=$(VKLLM_COOPMAT_TILE=32,32 "$run" "$test_moe" 2>&1) || { echo "$moe_out" | tail -20; exit 1; }
echo "$moe_out" | tail -3
grep -q "grouped expert gemm on matrix units: yes" <<<"$moe_out" || { echo "coopmat_next: test_moe did not run the coopmat grouped GEMM"; exit 1; }
out=$(VKLLM_VALIDATION=1 "$run" "$vkllm" bench --kernels --only peaks --json) || { echo "bench --kernels failed"; exit 1; }
echo "$out"
for key in matrix_f16_gflops matrix_s8_gops; do
  v=$(grep -o "\"$key\":[0-9.e+-]*" <<<"$out" | cut -d: -f2)
  if ! awk -v v="${v:-0}" 'BEGIN { exit !(v > 0) }'; then
    echo "coopmat_next: $key is '${v}' (expected a positive rate)"
    exit 1
  fi
done
echo "coopmat_next: passed"
