/* Kernel microbenchmarks for `vkllm bench --kernels` (bench/kernels.c). */
#ifndef VKLLM_BENCH_KERNELS_H
#define VKLLM_BENCH_KERNELS_H

#include <stdbool.h>
#include <stdio.h>

#include "vk/gpu.h"

/* Measures the device's copy and FMA peaks, then every kernel on LLM-sized shapes (only the
 * kernel named `only` when it is not NULL: matvec, gemm, attention, mla or gdn); prints a table (or one
 * JSON object) to out. */
int bench_kernels(struct gpu *g, bool as_json, const char *only, FILE *out);

#endif
