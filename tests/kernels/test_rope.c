/* op_rope against tests/ref/rope_ref.c: normal and NeoX pairs; head_dim 64/128/256; partial
 * rotary (n_rot 64 of 128, and 50 of 256: 25 pairs, an odd count); rope_freqs factors; linear
 * scaling; YaRN (freq_scale 1/4 and 1/32, n_ctx_orig 4096 / 8192); positions 0 to 500000 (past
 * 32768); in place and out of place with token strides (q inside a fused QKV row).
 *
 * Tolerance per output, with theta the pair's angle and m the magnitude scale:
 *   m * (|x0| + |x1|) * (|theta| * 2^-19 + 4e-6) + 1e-6 * |ref|
 * The GPU forms theta = pos * g in f32, g = theta_scale^i / ff * mix with about a dozen roundings
 * (theta_scale^i by repeated squaring): 16 ulp of theta bounds that. An f32 angle is only ever
 * known to an ulp (0.008 rad at 1e5, so every f32 RoPE, ggml's included, is that coarse at long
 * positions); the tight checks are on the low-frequency pairs, where YaRN, the factors and the
 * scaling act. 4e-6 rad covers sin/cos of the reduced angle (|a| <= pi) on real drivers. */
#include "ref/rope_ref.h"
#include "small_ops_util.h"

struct rcase {
	const char *name;
	bool neox;
	uint32_t head_dim, n_rot, n_heads, n_tokens;
	float freq_base, freq_scale, ext_factor, attn_factor;
	uint32_t n_ctx_orig;
	bool ff, in_place;
	uint32_t in_pad; /* extra elements per token in the input rows (a fused QKV row) */
	int32_t pos[4];
};

static void tolerances(double *tol, const float *x, const float *ref, const double *theta, const struct rcase *c)
{
	uint32_t half = c->n_rot / 2;
	double m = c->attn_factor * (c->ext_factor != 0 ? 1 + 0.1 * log(1.0 / c->freq_scale) : 1);
	for (uint32_t t = 0; t < c->n_tokens; t++)
		for (uint32_t h = 0; h < c->n_heads; h++) {
			size_t o = ((size_t)t * c->n_heads + h) * c->head_dim;
			for (uint32_t i = c->n_rot; i < c->head_dim; i++) tol[o + i] = 0; /* copied exactly */
			for (uint32_t i = 0; i < half; i++) {
				uint32_t j0 = c->neox ? i : 2 * i, j1 = c->neox ? i + half : 2 * i + 1;
				double mag = m * (fabs(x[o + j0]) + fabs(x[o + j1])), th = theta[(size_t)t * half + i];
				tol[o + j0] = mag * (th * 0x1p-19 + 4e-6) + 1e-6 * fabs(ref[o + j0]);
				tol[o + j1] = mag * (th * 0x1p-19 + 4e-6) + 1e-6 * fabs(ref[o + j1]);
			}
		}
}

static int run_case(struct gpu *g, const struct rcase *c, uint64_t *seed)
{
	uint32_t row = c->n_heads * c->head_dim, in_stride = row + c->in_pad, half = c->n_rot / 2;
	size_t in_n = (size_t)c->n_tokens * in_stride, out_n = (size_t)c->n_tokens * row;
	float *in = malloc(in_n * 4), *x = malloc(out_n * 4), *ref = malloc(out_n * 4), *got = malloc(out_n * 4);
	float *ff = malloc(half * 4ull);
	double *theta = malloc((size_t)c->n_tokens * half * 8), *tol = malloc(out_n * 8);
	for (size_t i = 0; i < in_n; i++) in[i] = test_randf(seed) * 2;
	for (uint32_t t = 0; t < c->n_tokens; t++) memcpy(x + (size_t)t * row, in + (size_t)t * in_stride, row * 4ull);
	/* llama3-style factors: 1 for high frequencies, up to 8 for low ones */
	for (uint32_t i = 0; i < half; i++) ff[i] = 1.0f + 7.0f * (float)i / (float)half * (0.5f + 0.5f * test_randf(seed));

	struct rope_ref_config rc = {c->neox, c->n_rot, c->freq_base, c->freq_scale, c->ext_factor,
	                             c->attn_factor, 32.0f, 1.0f, c->n_ctx_orig};
	rope_ref(ref, x, c->pos, c->ff ? ff : NULL, c->n_tokens, c->n_heads, c->head_dim, &rc, theta);
	tolerances(tol, x, ref, theta, c);

	struct gpu_buffer ib, ob, pb, fb;
	REQUIRE_OK(buf_make(g, &ib, "in", in, in_n * 4, 12));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, out_n * 4, 4));
	REQUIRE_OK(buf_make(g, &pb, "pos", c->pos, c->n_tokens * 4ull, 8));
	REQUIRE_OK(buf_make(g, &fb, "ff", ff, half * 4ull, 20));
	struct gpu_view iv = view_at(&ib, 12, in_n * 4);
	struct gpu_view ov = c->in_place ? iv : view_at(&ob, 4, out_n * 4);
	struct rope_config cfg = {c->neox, c->n_rot, c->freq_base, c->freq_scale, c->ext_factor, c->attn_factor, 32.0f, 1.0f,
	                          c->n_ctx_orig};
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	REQUIRE_OK(op_rope(&rec, ov, iv, view_at(&pb, 8, c->n_tokens * 4ull), c->ff ? view_at(&fb, 20, half * 4ull) : NO_VIEW,
	                   c->n_tokens, c->n_heads, c->head_dim, in_stride, c->in_place ? in_stride : row, &cfg));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	uint32_t out_stride = c->in_place ? in_stride : row;
	for (uint32_t t = 0; t < c->n_tokens; t++)
		REQUIRE_OK(gpu_download(g, got + (size_t)t * row, ov.buf, ov.offset + (size_t)t * out_stride * 4, row * 4ull));
	double worst;
	int bad = check_close("out", got, ref, tol, out_n, &worst);
	EXPECT(bad == 0, "rope %s: %d values off (worst %.2f x tolerance)", c->name, bad, worst);
	printf("# %s: worst %.3f x tolerance\n", c->name, worst);
	if (c->in_place && c->in_pad) { /* the rest of each fused row is untouched */
		float *pad = malloc(c->in_pad * 4ull);
		REQUIRE_OK(gpu_download(g, pad, ov.buf, ov.offset + (size_t)row * 4, c->in_pad * 4ull));
		EXPECT(memcmp(pad, in + row, c->in_pad * 4ull) == 0, "rope %s: wrote past the heads", c->name);
		free(pad);
	}

	/* replay with new positions: the recording reads them on the device */
	int32_t pos2[4];
	for (uint32_t t = 0; t < c->n_tokens; t++) pos2[t] = c->pos[t] + 1000;
	if (!c->in_place) {
		REQUIRE_OK(gpu_upload(g, &pb, 8, pos2, c->n_tokens * 4ull));
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		rope_ref(ref, x, pos2, c->ff ? ff : NULL, c->n_tokens, c->n_heads, c->head_dim, &rc, theta);
		for (uint32_t t = 0; t < c->n_tokens; t++)
			REQUIRE_OK(gpu_download(g, got + (size_t)t * row, ov.buf, ov.offset + (size_t)t * row * 4, row * 4ull));
		tolerances(tol, x, ref, theta, c);
		bad = check_close("replay", got, ref, tol, out_n, &worst);
		EXPECT(bad == 0, "rope %s replayed at new positions: %d values off (worst %.2f x tolerance)", c->name, bad, worst);
	}
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ib), gpu_buffer_destroy(g, &ob), gpu_buffer_destroy(g, &pb), gpu_buffer_destroy(g, &fb);
	free(in), free(x), free(ref), free(got), free(ff), free(theta), free(tol);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const struct rcase cases[] = {
		{"neox 128 qwen3", true, 128, 128, 4, 3, 1e6f, 1, 0, 1, 0, false, true, 0, {0, 1, 40000}},
		{"normal 64 llama3.1 factors", false, 64, 64, 3, 3, 5e5f, 1, 0, 1, 0, true, false, 0, {5, 32769, 100000}},
		{"neox 128 partial 64", true, 128, 64, 2, 2, 1e4f, 1, 0, 1, 0, false, false, 0, {7, 65536}},
		{"normal 256 partial 50", false, 256, 50, 2, 2, 1e4f, 1, 0, 1, 0, false, false, 0, {3, 500000}},
		{"neox 256 linear 1/2", true, 256, 256, 1, 1, 1e6f, 0.5f, 0, 1, 0, false, false, 0, {12345}},
		{"neox 64 yarn 1/4 fused qkv", true, 64, 64, 4, 4, 1e4f, 0.25f, 1, 1, 4096, false, true, 2 * 64,
		 {0, 4095, 16384, 131000}},
		{"normal 64 yarn 1/32 factors", false, 64, 64, 2, 2, 1e4f, 1.0f / 32, 1, 0.9f, 8192, true, false, 0,
		 {1, 262143}},
		{"neox 128 yarn partial 96", true, 128, 96, 1, 2, 1.5e5f, 0.125f, 1, 1, 4096, false, false, 32, {77, 40000}},
	};
	uint64_t seed = 9;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&g, &cases[i], &seed);

	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 1 << 16, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view v = gpu_whole(&b), half = view_at(&b, 0, 1 << 15), other = view_at(&b, 1 << 15, 1 << 15);
	struct rope_config cfg = {true, 128, 1e4f, 1, 0, 1, 32, 1, 4096};
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_OK, "a valid call records: %s", vkllm_error());
	cfg.n_rot = 51;
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "odd n_rot refused");
	cfg.n_rot = 130;
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "n_rot > head_dim refused");
	cfg.n_rot = 128;
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 9, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "tokens past the views refused");
	EXPECT(op_rope(&rec, other, half, view_at(&b, 0, 16), NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG,
	       "short positions refused");
	EXPECT(op_rope(&rec, other, half, v, view_at(&b, 0, 32), 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "short factors refused");
	EXPECT(op_rope(&rec, view_at(&b, 4, 1 << 15), half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG,
	       "partly overlapping in and out refused");
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 127, 0, 0, &cfg) == VKLLM_E_ARG, "odd head_dim refused");
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 2, 8, 128, 100, 0, &cfg) == VKLLM_E_ARG, "a short token stride refused");
	cfg.ext_factor = 1, cfg.n_ctx_orig = 0;
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "YaRN without n_ctx_orig refused");
	cfg.ext_factor = 0, cfg.freq_base = 0;
	EXPECT(op_rope(&rec, other, half, v, NO_VIEW, 8, 8, 128, 0, 0, &cfg) == VKLLM_E_ARG, "freq_base 0 refused");
	EXPECT(rec.n_dispatches == 1, "only the valid call recorded");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
