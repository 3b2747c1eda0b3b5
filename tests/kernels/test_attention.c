/* op_attention against the CPU reference (tests/ref/attention_ref.c) on odd shapes, and against
 * itself: split-K on and off, prefill of N tokens and N replays of one recorded decode step.
 *
 * Shapes: one query; chunks whose row count (n_q * G) is not a multiple of the 16-row block;
 * n_kv = 1; n_kv longer than a tile (8..64 positions) and longer than the window; a chunk in the
 * middle of the cache (p0 > 0); GQA ratios 1, 2, 4, 8 and MQA; head dims 64, 128, 256 and K/V dims
 * that differ (192/128, 64/256); decode with G = 1 (several invocations per score); sinks,
 * softcap, sliding window, chunked attention (Llama 4: a query sees only its own chunk of n_chunk
 * positions; prefill chunks straddling chunk borders, decode just before, on and just after a
 * border); f16 and f32 caches in both layouts; views at offsets that are not
 * multiples of minStorageBufferOffsetAlignment; n_kv and p0 at an odd place of the step buffer;
 * splits that see no key (a window shorter than the split slices).
 *
 * Values: q in [-2, 2], k and v in [-1, 1] (f16-rounded for an f16 cache, and the reference reads
 * the same rounded values), so scores spread over a few units and the softmax is neither flat nor
 * one-hot. Sinks in [-1, 3], softcap 1.5 (tanh well out of its linear range).
 *
 * Tolerance |got - ref| <= 1e-5 + 1e-4 |ref|. The error is f32 rounding of the scores: each
 * partial sum of a dot product is rounded to 2^-24 of its size (about 1 here), so a score of D
 * terms is off by ~sqrt(D) * 2^-24 ~ 1e-6 at D = 256; a probability moves by that relative amount
 * and the output, a convex combination of |v| <= 1, by about as much. exp and tanh may be off by
 * a few ulps more on other drivers (Vulkan allows 3 + 2|x| ulps for exp). The largest error seen on
 * lavapipe is 3e-7 (printed at the end); 1e-5 leaves room for the drivers while a wrong mask, a
 * missed rescale, a lost tile or a lost sink is off by 1e-3 or more (each was tried). Split against
 * unsplit and prefill against decode differ only in f32 summation order and get the same bound.
 */
#include "base/status.h"
#include "loader/half.h"
#include "ops/ops.h"
#include "ref/attention_ref.h"
#include "test.h"

#define ATOL 1e-5
#define RTOL 1e-4
/* attention_cm.comp (prefill on matrix units) rounds q*scale and the probabilities to f16: a score
 * moves by about 2^-11 sum_d |q_d k_d| scale (1e-3 for these unit-range inputs at d64-d128), a
 * weight by as much relatively and again by 2^-11 as f16; out is a weighted mean of values in
 * [-1, 1]: 1.5e-3 absolute bounds it (the worst seen, 2.6e-4 on lavapipe, is printed at the end) */
#define CM_ATOL 1.5e-3
#define CM_RTOL 1.5e-3
static double tol_abs = ATOL, tol_rel = RTOL; /* the tolerance of the comparisons being made */
static double cm_max_error; /* the largest error of a comparison with attention_cm in it */

struct acase {
	const char *what;
	uint32_t n_q, n_head, n_head_kv, d, dv;
	uint32_t p0, n_kv, n_ctx;
	enum attn_kv_type kv;
	bool head_major; /* K/V as [n_head_kv][n_ctx][dim] instead of [n_ctx][n_head_kv][dim] */
	bool sinks;
	float softcap;
	uint32_t n_swa;
	uint32_t n_split;
	bool aligned; /* K/V views at an 8-byte offset: the CPU decode kernel's condition (KV_PAD is not) */
	uint32_t n_chunk; /* chunked attention: 0 off */
};

/* Host copies of one case's inputs, and the device buffers holding them. */
struct inputs {
	float *q, *k, *v, *sinks; /* k, v as the cache holds them (f16-rounded) */
	struct gpu_buffer qb, kb, vb, sb, stepb, ob, pb;
	uint32_t k_pos, k_head, v_pos, v_head;
	uint32_t kv_pad;
};

/* byte pads: not multiples of minStorageBufferOffsetAlignment (16 on lavapipe, up to 256 elsewhere) */
#define Q_PAD 12
#define KV_PAD 4
#define KV_PAD_ALIGNED 8
/* K/V at a 16-byte offset: attention_decode.comp's condition (the GPU decode kernel's cases) */
static bool kv_pad_16;
#define O_PAD 20
#define S_PAD 8
#define STEP_INDEX 3 /* step[3] = n_kv, step[4] = p0; the rest is junk */

static int make_inputs(struct gpu *g, const struct acase *c, struct inputs *in, uint64_t *seed)
{
	uint32_t es = c->kv == ATTN_KV_F16 ? 2 : 4;
	in->kv_pad = kv_pad_16 ? 16 : c->aligned ? KV_PAD_ALIGNED : KV_PAD;
	size_t nq = (size_t)c->n_q * c->n_head * c->d, nk = (size_t)c->n_ctx * c->n_head_kv * c->d,
	       nv = (size_t)c->n_ctx * c->n_head_kv * c->dv;
	in->q = malloc(nq * 4), in->k = malloc(nk * 4), in->v = malloc(nv * 4), in->sinks = malloc(c->n_head * 4);
	for (size_t i = 0; i < nq; i++) in->q[i] = 2.0f * test_randf(seed);
	for (size_t i = 0; i < nk; i++) in->k[i] = test_randf(seed);
	for (size_t i = 0; i < nv; i++) in->v[i] = test_randf(seed);
	for (uint32_t i = 0; i < c->n_head; i++) in->sinks[i] = 1.0f + 2.0f * test_randf(seed);
	if (c->kv == ATTN_KV_F16) {
		for (size_t i = 0; i < nk; i++) in->k[i] = half_to_f32(f32_to_half(in->k[i]));
		for (size_t i = 0; i < nv; i++) in->v[i] = half_to_f32(f32_to_half(in->v[i]));
	}
	if (c->head_major) {
		in->k_pos = c->d, in->k_head = c->n_ctx * c->d, in->v_pos = c->dv, in->v_head = c->n_ctx * c->dv;
	} else {
		in->k_pos = c->n_head_kv * c->d, in->k_head = c->d, in->v_pos = c->n_head_kv * c->dv, in->v_head = c->dv;
	}
	/* the cache in its element type; the arrays above are already laid out by the strides
	 * (both layouts index the same flat array, only the meaning of the index differs) */
	uint8_t *kc = malloc(nk * es), *vc = malloc(nv * es);
	for (size_t i = 0; i < nk; i++) {
		if (es == 2) ((uint16_t *)kc)[i] = f32_to_half(in->k[i]);
		else ((float *)kc)[i] = in->k[i];
	}
	for (size_t i = 0; i < nv; i++) {
		if (es == 2) ((uint16_t *)vc)[i] = f32_to_half(in->v[i]);
		else ((float *)vc)[i] = in->v[i];
	}
	uint32_t step[8] = {7, 7, 7, c->n_kv, c->p0, 7, 7, 7};
	TRY(gpu_buffer_create(g, &in->qb, nq * 4 + Q_PAD, GPU_MEM_DEVICE, "q"));
	TRY(gpu_buffer_create(g, &in->kb, nk * es + in->kv_pad, GPU_MEM_DEVICE, "k cache"));
	TRY(gpu_buffer_create(g, &in->vb, nv * es + in->kv_pad, GPU_MEM_DEVICE, "v cache"));
	TRY(gpu_buffer_create(g, &in->sb, c->n_head * 4 + S_PAD, GPU_MEM_DEVICE, "sinks"));
	TRY(gpu_buffer_create(g, &in->stepb, sizeof step, GPU_MEM_DEVICE, "step"));
	TRY(gpu_buffer_create(g, &in->ob, (size_t)c->n_q * c->n_head * c->dv * 4 + O_PAD, GPU_MEM_DEVICE, "out"));
	TRY(gpu_upload(g, &in->qb, Q_PAD, in->q, nq * 4));
	TRY(gpu_upload(g, &in->kb, in->kv_pad, kc, nk * es));
	TRY(gpu_upload(g, &in->vb, in->kv_pad, vc, nv * es));
	TRY(gpu_upload(g, &in->sb, S_PAD, in->sinks, c->n_head * 4));
	TRY(gpu_upload(g, &in->stepb, 0, step, sizeof step));
	in->pb.buffer = VK_NULL_HANDLE;
	free(kc), free(vc);
	return VKLLM_OK;
}

static void free_inputs(struct gpu *g, struct inputs *in)
{
	gpu_buffer_destroy(g, &in->qb), gpu_buffer_destroy(g, &in->kb), gpu_buffer_destroy(g, &in->vb);
	gpu_buffer_destroy(g, &in->sb), gpu_buffer_destroy(g, &in->stepb), gpu_buffer_destroy(g, &in->ob);
	if (in->pb.buffer) gpu_buffer_destroy(g, &in->pb);
	free(in->q), free(in->k), free(in->v), free(in->sinks);
}

static struct attn_desc desc_of(const struct acase *c, const struct inputs *in, uint32_t n_split)
{
	struct attn_desc a = {
		.n_q = c->n_q, .n_head = c->n_head, .n_head_kv = c->n_head_kv, .head_dim_k = c->d, .head_dim_v = c->dv,
		.n_ctx = c->n_ctx, .kv_type = c->kv, .kv_pos_stride = in->k_pos, .kv_head_stride = in->k_head,
		.v_pos_stride = in->v_pos, .v_head_stride = in->v_head, .scale = 1.0f / sqrtf((float)c->d),
		.softcap = c->softcap, .n_swa = c->n_swa, .n_chunk = c->n_chunk, .n_split = n_split, .step_index = STEP_INDEX,
	};
	return a;
}

/* Records op_attention over the case's buffers (scratch made here when split), for replays. */
static int record(struct gpu *g, const struct acase *c, struct inputs *in, const struct attn_desc *a, struct gpu_rec *rec)
{
	uint64_t part = op_attention_scratch_bytes(g, a);
	if (part && !in->pb.buffer) TRY(gpu_buffer_create(g, &in->pb, part + 4, GPU_MEM_DEVICE, "partials"));
	struct gpu_view none = {0};
	struct gpu_view out = {&in->ob, O_PAD, (size_t)c->n_q * c->n_head * c->dv * 4};
	struct gpu_view scratch = part ? (struct gpu_view){&in->pb, 4, part} : none;
	struct gpu_view q = {&in->qb, Q_PAD, 0}, k = {&in->kb, in->kv_pad, 0}, v = {&in->vb, in->kv_pad, 0};
	struct gpu_view sinks = c->sinks ? (struct gpu_view){&in->sb, S_PAD, c->n_head * 4} : none;
	TRY(gpu_rec_begin(g, rec));
	TRY(op_attention(rec, out, scratch, q, k, v, sinks, gpu_whole(&in->stepb), a));
	return gpu_rec_end(rec);
}

static double max_error; /* over the whole test, printed at the end: the tolerance's headroom */

static int compare(const char *what, const float *got, const float *ref, size_t n, uint32_t dv)
{
	int bad = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double err = fabs((double)got[i] - ref[i]), tol = tol_abs + tol_rel * fabs(ref[i]);
		if (!(err <= tol) && bad++ < 3)
			fprintf(stderr, "  %s: out[row %zu][%zu] = %.8g, expected %.8g\n", what, i / dv, i % dv, got[i], ref[i]);
		if (!(err / tol <= worst)) worst = err / tol;
		if (tol_abs == ATOL && !(err <= max_error)) max_error = err;
		if (tol_abs != ATOL && !(err <= cm_max_error)) cm_max_error = err;
	}
	EXPECT(bad == 0, "%s: %d of %zu values off (worst %.2f x tolerance)", what, bad, n, worst);
	return bad;
}

/* The case against the reference, with split-K off, forced on (when asked) and automatic. */
static void run_case(struct gpu *g, const struct acase *c, uint64_t *seed)
{
	struct inputs in;
	if (make_inputs(g, c, &in, seed) != VKLLM_OK) {
		EXPECT(0, "%s: inputs: %s", c->what, vkllm_error());
		return;
	}
	size_t n_out = (size_t)c->n_q * c->n_head * c->dv;
	float *ref = malloc(n_out * 4), *got = malloc(n_out * 4), *first = malloc(n_out * 4);
	struct attention_ref_shape s = {
		.n_q = c->n_q, .n_head = c->n_head, .n_head_kv = c->n_head_kv, .head_dim_k = c->d, .head_dim_v = c->dv,
		.n_kv = c->n_kv, .p0 = c->p0, .k_pos_stride = in.k_pos, .k_head_stride = in.k_head,
		.v_pos_stride = in.v_pos, .v_head_stride = in.v_head, .scale = 1.0 / sqrt((double)c->d),
		.softcap = c->softcap, .n_swa = c->n_swa, .n_chunk = c->n_chunk,
	};
	attention_ref(ref, in.q, in.k, in.v, c->sinks ? in.sinks : NULL, &s);

	uint32_t splits[] = {1, c->n_split};
	struct attn_desc a1 = desc_of(c, &in, 1);
	bool cm = op_attention_uses_cm(g, &a1);
	tol_abs = cm ? CM_ATOL : ATOL;
	tol_rel = cm ? CM_RTOL : RTOL;
	for (int i = 0; i < (c->n_split > 1 ? 2 : 1); i++) {
		struct attn_desc a = desc_of(c, &in, splits[i]);
		struct gpu_rec rec;
		char what[200];
		snprintf(what, sizeof what, "%s (split %u)", c->what, splits[i]);
		int st = record(g, c, &in, &a, &rec);
		if (st == VKLLM_OK) st = gpu_rec_submit_wait(&rec);
		if (st == VKLLM_OK) st = gpu_download(g, got, &in.ob, O_PAD, n_out * 4);
		EXPECT(st == VKLLM_OK, "%s: %s", what, vkllm_error());
		gpu_rec_destroy(&rec);
		if (st != VKLLM_OK) break;
		compare(what, got, ref, n_out, c->dv);
		if (i == 0) memcpy(first, got, n_out * 4);
		else compare("split against unsplit", got, first, n_out, c->dv);
	}
	tol_abs = ATOL;
	tol_rel = RTOL;
	free(ref), free(got), free(first);
	free_inputs(g, &in);
}

/* Prefill of n tokens at p0 == n decode steps, each a replay of ONE recording with n_kv and p0
 * written to the step buffer and the token's query to the q buffer before each submit. */
static void run_replay(struct gpu *g, struct acase c, uint32_t decode_split, uint64_t *seed)
{
	struct inputs in;
	if (make_inputs(g, &c, &in, seed) != VKLLM_OK) {
		EXPECT(0, "replay: inputs: %s", vkllm_error());
		return;
	}
	size_t row_q = (size_t)c.n_head * c.d, row_o = (size_t)c.n_head * c.dv;
	float *prefill = malloc(c.n_q * row_o * 4), *decode = malloc(c.n_q * row_o * 4);
	struct attn_desc a = desc_of(&c, &in, 1);
	bool cm = op_attention_uses_cm(g, &a);
	tol_abs = cm ? CM_ATOL : ATOL;
	tol_rel = cm ? CM_RTOL : RTOL;
	struct gpu_rec rec;
	int st = record(g, &c, &in, &a, &rec);
	if (st == VKLLM_OK) st = gpu_rec_submit_wait(&rec);
	if (st == VKLLM_OK) st = gpu_download(g, prefill, &in.ob, O_PAD, c.n_q * row_o * 4);
	gpu_rec_destroy(&rec);
	EXPECT(st == VKLLM_OK, "replay prefill: %s", vkllm_error());
	float *ref = malloc(c.n_q * row_o * 4);
	struct attention_ref_shape s = {
		.n_q = c.n_q, .n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim_k = c.d, .head_dim_v = c.dv,
		.n_kv = c.n_kv, .p0 = c.p0, .k_pos_stride = in.k_pos, .k_head_stride = in.k_head,
		.v_pos_stride = in.v_pos, .v_head_stride = in.v_head, .scale = 1.0 / sqrt((double)c.d),
		.softcap = c.softcap, .n_swa = c.n_swa, .n_chunk = c.n_chunk,
	};
	attention_ref(ref, in.q, in.k, in.v, c.sinks ? in.sinks : NULL, &s);
	if (st == VKLLM_OK) compare("replay: the prefill", prefill, ref, c.n_q * row_o, c.dv);
	free(ref);

	struct acase dc = c;
	dc.n_q = 1;
	a = desc_of(&dc, &in, decode_split);
	st = record(g, &dc, &in, &a, &rec);
	for (uint32_t t = 0; t < c.n_q && st == VKLLM_OK; t++) {
		uint32_t step[2] = {c.p0 + t + 1, c.p0 + t};
		st = gpu_upload(g, &in.stepb, STEP_INDEX * 4, step, sizeof step);
		if (st == VKLLM_OK) st = gpu_upload(g, &in.qb, Q_PAD, in.q + t * row_q, row_q * 4);
		if (st == VKLLM_OK) st = gpu_rec_submit_wait(&rec);
		if (st == VKLLM_OK) st = gpu_download(g, decode + t * row_o, &in.ob, O_PAD, row_o * 4);
	}
	EXPECT(st == VKLLM_OK, "replay decode: %s", vkllm_error());
	gpu_rec_destroy(&rec);
	char what[160];
	snprintf(what, sizeof what, "prefill of %u == %u decode replays (split %u)", c.n_q, c.n_q, decode_split);
	if (st == VKLLM_OK) compare(what, decode, prefill, c.n_q * row_o, c.dv);
	tol_abs = ATOL;
	tol_rel = RTOL;
	free(prefill), free(decode);
	free_inputs(g, &in);
}

/* On a CPU device with 8-lane subgroups the aligned decode cases must have run attention_cpu.comp
 * (host/ops/attention.c falls back silently, so a wrong condition would go unnoticed). */
static void expect_cpu_kernel(struct gpu *g)
{
	const char *env = getenv("VKLLM_ATTN_CPU");
	if (strcmp(g->profile.type, "cpu") != 0 || g->profile.subgroup_size != 8 || !g->profile.int64 || (env && !strcmp(env, "0")))
		return;
	uint32_t n = 0;
	for (uint32_t i = 0; i < g->n_pipelines; i++)
		n += g->pipelines[i]->shader == SH_ATTENTION_CPU_F16 || g->pipelines[i]->shader == SH_ATTENTION_CPU_F32;
	EXPECT(n >= 6, "CPU device: the aligned decode cases made %u attention_cpu pipelines, expected 6 or more", n);
}

static void bad_arguments(struct gpu *g)
{
	struct gpu_buffer b;
	if (gpu_buffer_create(g, &b, 1 << 16, GPU_MEM_DEVICE, "b") != VKLLM_OK) return;
	struct gpu_rec rec;
	if (gpu_rec_begin(g, &rec) != VKLLM_OK) return;
	struct gpu_view w = gpu_whole(&b), none = {0};
	struct attn_desc a = {.n_q = 4, .n_head = 6, .n_head_kv = 4, .head_dim_k = 64, .head_dim_v = 64, .n_ctx = 16,
	                      .kv_type = ATTN_KV_F16, .scale = 0.125f};
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "6 heads over 4 KV heads refused");
	a.n_head_kv = 2, a.head_dim_k = 1024;
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "head dim 1024 refused");
	a.head_dim_k = 64, a.n_ctx = 4096;
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "a cache larger than its view refused: %s",
	       vkllm_error());
	a.n_ctx = 16, a.n_split = 4;
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "split without scratch refused");
	a.n_split = 1, a.step_index = 1u << 20;
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "step index past its view refused");
	a.step_index = 0, a.n_swa = 8, a.n_chunk = 16;
	EXPECT(op_attention(&rec, w, none, w, w, w, none, w, &a) == VKLLM_E_ARG, "sliding window and chunks at once refused");
	EXPECT(op_attention_scratch_bytes(g, &a) == 0, "no scratch for a refused desc");
	EXPECT(rec.n_dispatches == 0, "nothing recorded for refused calls");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &b);
}

int main(void)
{
	struct gpu g;
	int st = test_gpu_open(&g);
	if (st) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	const enum attn_kv_type F16 = ATTN_KV_F16, F32 = ATTN_KV_F32;
	/* attention_cm.comp is opt-in (host/ops/attention.c): on for every case here, where a device
	 * has cooperative matrices (the prefill cases take it; tests/coopmat_next.sh looks for its line) */
	setenv("VKLLM_ATTN_CM", "1", 1);
	const struct acase cases[] = {
		/* what                                  n_q head kv  d    dv   p0   n_kv ctx  kv   hm  sinks cap  swa split aligned */
		{"prefill G=4 d128 f16",                 37,  8,  2, 128, 128,   0,  37,  40, F16, 0, 0, 0,    0,  1, 0, 0},
		{"chunk at p0=50, G=1 d64 f32 head-major", 19, 4, 4,  64,  64,  50,  69,  72, F32, 1, 0, 0,    0,  1, 0, 0},
		{"MQA 16 heads, sinks, d128 f16",         5, 16,  1, 128, 128, 100, 105, 105, F16, 0, 1, 0,    0,  3, 0, 0},
		{"G=8 d256 softcap f32",                  3, 16,  2, 256, 256,  70,  73,  80, F32, 0, 0, 1.5f, 0,  2, 0, 0},
		{"one query, n_kv=1, G=4",                1,  8,  2, 128, 128,   0,   1,   1, F16, 0, 0, 0,    0,  1, 0, 0},
		{"decode n_kv=300 sinks softcap f16",     1,  8,  2, 128, 128, 299, 300, 320, F16, 0, 1, 1.5f, 0,  5, 0, 0},
		{"prefill swa=17 G=2 d64",               40,  4,  2,  64,  64,  60, 100, 100, F16, 0, 0, 0,   17,  1, 0, 0},
		{"decode swa=33 n_kv=200 f32 head-major", 1,  4,  2,  64,  64, 199, 200, 256, F32, 1, 1, 0,   33,  4, 0, 0},
		{"d192/dv128 (K and V dims differ)",      7,  4,  1, 192, 128,  20,  27,  30, F16, 0, 0, 0,    0,  2, 0, 0},
		/* gpt-oss: sinks with windows shorter and longer than the sequence, prefill and decode */
		{"prefill sinks swa=8 G=8 d64 (gpt-oss)", 40, 16,  2,  64,  64,  30,  70,  72, F16, 0, 1, 0,    8,  1, 0, 0},
		{"prefill sinks swa=128 > n_kv G=8 d64", 40, 16,  2,  64,  64,  30,  70,  72, F32, 0, 1, 0,  128,  1, 0, 0},
		{"decode sinks swa=8 G=8 d64",            1, 16,  2,  64,  64, 199, 200, 256, F16, 0, 1, 0,    8,  3, 0, 0},
		{"decode sinks swa=512 > n_kv G=8 d64",   1, 16,  2,  64,  64, 199, 200, 256, F32, 0, 1, 0,  512,  3, 0, 0},
		{"d64/dv256 MQA",                         2,  4,  1,  64, 256,  66,  68,  68, F32, 1, 1, 0,    0,  1, 0, 0},
		/* decode with G = 1: R*BC is below the workgroup, so TP invocations share each score */
		{"decode MHA G=1 d256 softcap",           1,  4,  4, 256, 256, 150, 151, 160, F16, 1, 0, 1.5f, 0,  3, 0, 0},
		{"decode MHA G=1 d64 n_kv=1 sinks",       1,  2,  2,  64,  64,   0,   1,   1, F32, 0, 1, 0,    0,  1, 0, 0},
		/* decode-shaped chunks with 8-byte aligned K/V: attention_cpu.comp on CPU devices (the
		 * kernels above elsewhere), at long context, over every option and shape it takes */
		{"long decode G=4 d128 f16",              1, 32,  8, 128, 128, 2999, 3000, 4096, F16, 0, 0, 0,  0,  8, 1, 0},
		{"long decode G=2 d256 softcap swa f16",  1,  4,  2, 256, 256, 2499, 2500, 2560, F16, 0, 0, 1.5f, 1024, 3, 1, 0},
		{"long decode G=8 d64 sinks swa f32",     1, 16,  2,  64,  64, 1499, 1500, 2048, F32, 0, 1, 0,  128,  4, 1, 0},
		{"decode chunk of 3 G=2 sinks head-major", 3, 8,  4, 128, 128, 1000, 1003, 1024, F16, 1, 1, 0,    0,  2, 1, 0},
		{"decode MQA 16 heads (two row blocks)",  1, 16,  1, 128, 128,  700,  701,  768, F16, 0, 0, 0,    0,  1, 1, 0},
		{"decode d192/dv128 f32",                 1,  4,  2, 192, 128,  500,  501,  512, F32, 0, 0, 0,    0,  2, 1, 0},
		{"decode n_kv=1 G=4 f16",                 1,  8,  2, 128, 128,    0,    1,   64, F16, 0, 1, 0,    0,  1, 1, 0},
		/* chunked attention (Llama 4), sinks off. Prefill: 30 queries at p0 = 10 over chunks of 16
		 * straddle the borders 16 and 32 (row blocks whose rows start in different chunks, tiles
		 * partly before a row's chunk); chunks of 40 and 24 (not multiples of the tile) */
		{"prefill chunk=16 p0=10 G=4 d64 f16",   30,  8,  2,  64,  64,   10,   40,   48, F16, 0, 0, 0,    0,  1, 0, 16},
		{"prefill chunk=16 p0=10 G=1 d128 f32",  30,  4,  4, 128, 128,   10,   40,   40, F32, 1, 0, 0,    0,  1, 0, 16},
		{"prefill chunk=16 p0=10 G=4 aligned f32", 30, 8,  2,  64,  64,   10,   40,   48, F32, 0, 0, 0,    0,  1, 1, 16},
		{"prefill chunk=16 p0=10 G=1 aligned f16", 30, 4,  4, 128, 128,   10,   40,   40, F16, 1, 0, 1.5f, 0,  1, 1, 16},
		{"prefill chunk=40 p0=70 G=8 d64 f16",   50, 16,  2,  64,  64,   70,  120,  128, F16, 0, 0, 0,    0,  1, 0, 40},
		{"prefill chunk=24 p0=0 G=2 aligned f16", 60, 4,  2,  64,  64,    0,   60,   64, F16, 0, 0, 0,    0,  1, 1, 24},
		/* decode at the position just before a border (sees the whole chunk), on it (sees only
		 * itself) and just after it; split-K with slices that see no key */
		{"decode chunk=64 before border G=4 f16", 1,  8,  2, 128, 128,  127,  128,  256, F16, 0, 0, 0,    0,  3, 0, 64},
		{"decode chunk=64 on border G=4 f16",     1,  8,  2, 128, 128,  128,  129,  256, F16, 0, 0, 0,    0,  3, 0, 64},
		{"decode chunk=64 after border G=1 f32",  1,  4,  4,  64,  64,  129,  130,  256, F32, 1, 0, 0,    0,  3, 0, 64},
		{"decode chunk=64 on border G=1 f32",     1,  4,  4,  64,  64,  128,  129,  256, F32, 0, 0, 0,    0,  2, 0, 64},
		{"decode chunk=64 before border G=1 cpu f32", 1, 4, 4, 64,  64,  127,  128,  256, F32, 0, 0, 0,    0,  3, 1, 64},
		{"decode chunk=64 on border G=4 cpu f16", 1,  8,  2, 128, 128,  128,  129,  256, F16, 0, 0, 0,    0,  3, 1, 64},
		{"decode chunk=64 after border G=4 cpu f32", 1, 8, 2, 128, 128,  129,  130,  256, F32, 1, 0, 0,    0,  2, 1, 64},
		{"decode chunk=64 after border G=1 cpu f16", 1, 4, 4,  64,  64,  129,  130,  256, F16, 0, 0, 0,    0,  1, 1, 64},
		{"long decode chunk=1024 G=8 cpu f16",    1, 16,  2,  64,  64, 2499, 2500, 3072, F16, 0, 0, 0,    0,  4, 1, 1024},
		{"long decode chunk=1024 G=4 f32",        1,  8,  2, 128, 128, 2048, 2049, 3072, F32, 0, 0, 0,    0,  4, 0, 1024},
	};
	uint64_t seed = 7;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&g, &cases[i], &seed);

	/* every option at once, so the replay exercises the whole mask and the sink */
	struct acase r = {"replay", 12, 8, 2, 64, 64, 30, 42, 48, F16, 0, 1, 1.5f, 9, 1, 0, 0};
	run_replay(&g, r, 1, &seed);
	run_replay(&g, r, 3, &seed);
	r.aligned = true; /* decode on attention_cpu.comp (CPU devices) against the prefill on attention.comp */
	run_replay(&g, r, 1, &seed);
	run_replay(&g, r, 3, &seed);
	/* chunked: decode replays step across the chunk borders 16 and 32 */
	struct acase rc = {"replay chunked", 30, 8, 2, 64, 64, 10, 40, 48, F16, 0, 0, 0, 0, 1, 0, 16};
	run_replay(&g, rc, 1, &seed);
	run_replay(&g, rc, 3, &seed);
	rc.aligned = true;
	run_replay(&g, rc, 3, &seed);
	expect_cpu_kernel(&g);

	/* attention_decode.comp (GPUs' decode over an f16 cache), forced on any device with
	 * VKLLM_ATTN_DECODE=1 and K/V on 16 bytes. On lavapipe's 8-lane subgroups head dims up to 64
	 * qualify (dims / 8 lanes a row): sinks and softcap; a window over a head-major cache; one key
	 * and splits that see none; G = 5 (Llama 4's 40/8) and 8; K and V dims that differ; long
	 * ranges (several 128-position tiles a split: the online softmax across tiles); a chunk border;
	 * the split count of its own rule (n_split 0); then the replay of decode steps */
	setenv("VKLLM_ATTN_DECODE", "1", 1);
	kv_pad_16 = true;
	const struct acase dec[] = {
		{"gpu decode G=4 d64 sinks softcap",      1,  8,  2,  64,  64,  299,  300,  320, F16, 0, 1, 1.5f, 0,  3, 0, 0},
		{"gpu decode G=8 d64 swa=33 head-major",  1, 16,  2,  64,  64,  199,  200,  256, F16, 1, 0, 0,   33,  4, 0, 0},
		{"gpu decode G=1 d32 n_kv=1",             1,  4,  4,  32,  32,    0,    1,   64, F16, 0, 1, 0,    0,  2, 0, 0},
		{"gpu decode G=5 d64 sinks",              1, 10,  2,  64,  64,  700,  701,  768, F16, 0, 1, 0,    0,  3, 0, 0},
		{"gpu decode d32/dv64 G=4",               1,  8,  2,  32,  64,  400,  401,  512, F16, 0, 0, 0,    0,  2, 0, 0},
		{"gpu decode long G=4 d64",               1,  8,  2,  64,  64, 2999, 3000, 4096, F16, 0, 0, 0,    0,  4, 0, 0},
		{"gpu decode long chunk=1024 G=8 d64",    1, 16,  2,  64,  64, 2499, 2500, 3072, F16, 0, 1, 0,    0,  8, 0, 1024},
		{"gpu decode own splits G=4 d64",         1,  8,  2,  64,  64, 3999, 4000, 4096, F16, 0, 1, 0,    0,  0, 0, 0},
		/* the head dims of real models: a row of 16 and 32 lanes, which 32-lane subgroups take
		 * (on lavapipe's 8 lanes these run attention.comp) */
		{"gpu decode G=4 d128 long",              1, 32,  8, 128, 128, 2999, 3000, 4096, F16, 0, 0, 0,    0,  0, 0, 0},
		{"gpu decode G=2 d256 softcap sinks",     1,  4,  2, 256, 256, 1499, 1500, 2048, F16, 0, 1, 1.5f, 0,  4, 0, 0},
	};
	for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) run_case(&g, &dec[i], &seed);
	struct acase rd = {"replay gpu decode", 12, 8, 2, 64, 64, 30, 42, 48, F16, 0, 1, 1.5f, 9, 3, 0, 0};
	run_replay(&g, rd, 3, &seed);
	uint32_t n_dec = 0;
	for (uint32_t i = 0; i < g.n_pipelines; i++) n_dec += g.pipelines[i]->shader == SH_ATTENTION_DECODE;
	EXPECT(n_dec >= 5, "attention_decode.comp forced: %u pipelines made, expected 5 or more", n_dec);
	kv_pad_16 = false;
	unsetenv("VKLLM_ATTN_DECODE");

	printf("# largest error %.3g (tolerance %g + %g |ref|)\n", max_error, ATOL, RTOL);
	if (cm_max_error > 0)
		printf("# attention_cm (matrix units): largest error %.3g (tolerance %g + %g |ref|)\n", cm_max_error, CM_ATOL, CM_RTOL);
	bad_arguments(&g);
	test_gpu_close(&g);
	return test_finish();
}
