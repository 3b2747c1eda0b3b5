/* A tiny test harness: EXPECT records a failure and goes on, REQUIRE stops the test. A GPU test
 * opens its device with the validation layer on (and sync validation), and test_gpu_close fails
 * the test if the layer said anything. Every test prints "N passed, N failed" at the end. */
#ifndef VKLLM_TEST_H
#define VKLLM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/gpu.h"

static int test_passed, test_failed;

#define EXPECT(cond, ...)                                                       \
	do {                                                                        \
		if (cond) {                                                             \
			test_passed++;                                                      \
		} else {                                                                \
			test_failed++;                                                      \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
			fprintf(stderr, __VA_ARGS__);                                       \
			fputc('\n', stderr);                                                \
		}                                                                       \
	} while (0)

#define REQUIRE(cond, ...)                   \
	do {                                     \
		EXPECT(cond, __VA_ARGS__);           \
		if (!(cond)) return test_finish();   \
	} while (0)

/* A status-returning call that must succeed; prints the library's message when it does not. */
#define REQUIRE_OK(call)                                    \
	do {                                                    \
		int rst_ = (call); /* evaluated once */             \
		REQUIRE(rst_ == VKLLM_OK, "%s", vkllm_error());     \
	} while (0)

static inline int test_finish(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

static inline int test_gpu_open(struct gpu *g)
{
	struct gpu_options opt = {.device_index = -1, .validation = true};
	int st = gpu_create(g, &opt);
	if (st == VKLLM_OK)
		printf("# device %d: %s (%s), subgroup %u\n", g->index, g->profile.name, g->profile.driver_info,
		       g->profile.subgroup_size);
	return st;
}

/* Destroys the device; a validation message anywhere in the test is a failure. */
static inline void test_gpu_close(struct gpu *g)
{
	uint32_t messages = g->validation_messages;
	int st = gpu_destroy(g);
	EXPECT(st == VKLLM_OK && messages == 0, "validation layer reported %u message(s): %s", messages, vkllm_error());
}

/* Deterministic pseudo-random numbers (xorshift64*), so a failure reproduces. */
static inline uint64_t test_rand(uint64_t *s)
{
	*s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline float test_randf(uint64_t *s) { return (float)(test_rand(s) >> 40) / 16777216.0f * 2.0f - 1.0f; }

#endif
