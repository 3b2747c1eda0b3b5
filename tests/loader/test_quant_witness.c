/* Witness for loader/quant.c: llama.cpp's own ggml-quants.c, linked into this test, quantizes and
 * dequantizes the same data, and the results must agree byte for byte (quantizers) and bit for bit
 * (dequantizers). The source is the llama.cpp release node-llama-cpp pins, cloned by
 * tests/deps/install.sh into tests/deps/llama.cpp; tests/CMakeLists.txt builds this test only when
 * that clone is there.
 *
 * What is compared, for every type quant.c handles:
 *  - quant_quantize against quantize_row_*_ref, on rows of many shapes (random with several seeds,
 *    zeros, constants, huge and tiny magnitudes, subnormals, an outlier, one-signed rows, exact
 *    grid values that make rounding ties, sparse rows, rows with all-zero groups, and rows with
 *    NaN and infinities, where llama.cpp's float-to-int conversions leave C's defined range);
 *  - the same rows through quantize_<type>(..., imatrix = NULL), the path llama-quantize takes
 *    through ggml_quantize_chunk without an importance matrix;
 *  - quant_dequantize against dequantize_row_*, on those quantized rows and on blocks of random
 *    bytes (every scale, sign and NaN pattern);
 *  - f16 and bf16 against ggml's conversions on every one of the 2^32 float bit patterns (to) and
 *    the 2^16 halves (from).
 *
 * Only ggml-quants.c is compiled from llama.cpp (ggml.c would bring the whole library). It needs
 * four symbols from ggml.c, defined below: ggml_abort (never reached on this data), and
 * ggml_type_size, ggml_row_size, ggml_type_name, which it uses for row sizes in the quantize_*
 * entry points (ggml's type ids equal vkllm's, so quant.h answers them). The f16/bf16 row
 * conversions of ggml.c are one-line loops over ggml-impl.h's inline converters; they are
 * restated here on those converters. */
#include <stdarg.h>

#include "ggml-impl.h"
#include "ggml-quants.h"

#include "base/status.h"
#include "loader/quant.h"
#include "test.h"

/* ---- the ggml.c symbols ggml-quants.c references ---- */

void ggml_abort(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ggml_abort at %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

size_t ggml_type_size(enum ggml_type type)
{
	const struct quant_type *t = quant_type_info((uint32_t)type);
	if (!t) ggml_abort(__FILE__, __LINE__, "type %d unknown to vkllm", (int)type);
	return t->type_size;
}

size_t ggml_row_size(enum ggml_type type, int64_t ne)
{
	uint64_t size = quant_row_size((uint32_t)type, (uint64_t)ne);
	if (!size) ggml_abort(__FILE__, __LINE__, "row of %lld elements of type %d", (long long)ne, (int)type);
	return size;
}

const char *ggml_type_name(enum ggml_type type)
{
	const struct quant_type *t = quant_type_info((uint32_t)type);
	return t ? t->name : "?";
}

/* ---- llama.cpp's functions, one signature per role ---- */

typedef void (*row_quant_fn)(const float *x, void *y, int64_t k);
typedef void (*row_dequant_fn)(const void *x, float *y, int64_t k);
typedef size_t (*chunk_quant_fn)(const float *src, void *dst, int64_t nrow, int64_t n_per_row, const float *imatrix);

#define GGML_ROW_FNS(t)                                                                                     \
	static void ref_##t(const float *x, void *y, int64_t k) { quantize_row_##t##_ref(x, y, k); }           \
	static void deq_##t(const void *x, float *y, int64_t k) { dequantize_row_##t(x, y, k); }

GGML_ROW_FNS(q4_0)
GGML_ROW_FNS(q4_1)
GGML_ROW_FNS(q5_0)
GGML_ROW_FNS(q5_1)
GGML_ROW_FNS(q8_0)
GGML_ROW_FNS(q2_K)
GGML_ROW_FNS(q3_K)
GGML_ROW_FNS(q4_K)
GGML_ROW_FNS(q5_K)
GGML_ROW_FNS(q6_K)
GGML_ROW_FNS(mxfp4)

/* ggml.c: ggml_fp32_to_fp16_row, ggml_fp16_to_fp32_row, ggml_fp32_to_bf16_row_ref (what
 * ggml_quantize_chunk uses for bf16), ggml_bf16_to_fp32_row; f32 is a copy. */
static void ref_f16(const float *x, void *y, int64_t k)
{
	ggml_fp16_t *h = y;
	for (int64_t i = 0; i < k; i++) h[i] = ggml_compute_fp32_to_fp16(x[i]);
}
static void deq_f16(const void *x, float *y, int64_t k)
{
	const ggml_fp16_t *h = x;
	for (int64_t i = 0; i < k; i++) y[i] = ggml_compute_fp16_to_fp32(h[i]);
}
static void ref_bf16(const float *x, void *y, int64_t k)
{
	ggml_bf16_t *h = y;
	for (int64_t i = 0; i < k; i++) h[i] = ggml_compute_fp32_to_bf16(x[i]);
}
static void deq_bf16(const void *x, float *y, int64_t k)
{
	const ggml_bf16_t *h = x;
	for (int64_t i = 0; i < k; i++) y[i] = ggml_compute_bf16_to_fp32(h[i]);
}
static void ref_f32(const float *x, void *y, int64_t k) { memcpy(y, x, (size_t)k * sizeof(float)); }
static void deq_f32(const void *x, float *y, int64_t k) { memcpy(y, x, (size_t)k * sizeof(float)); }

struct oracle {
	uint32_t type;
	row_quant_fn quant;
	row_dequant_fn dequant;
	chunk_quant_fn chunk; /* NULL for the element types */
};

static const struct oracle oracles[] = {
	{QT_F32, ref_f32, deq_f32, NULL},
	{QT_F16, ref_f16, deq_f16, NULL},
	{QT_BF16, ref_bf16, deq_bf16, NULL},
	{QT_Q4_0, ref_q4_0, deq_q4_0, quantize_q4_0},
	{QT_Q4_1, ref_q4_1, deq_q4_1, quantize_q4_1},
	{QT_Q5_0, ref_q5_0, deq_q5_0, quantize_q5_0},
	{QT_Q5_1, ref_q5_1, deq_q5_1, quantize_q5_1},
	{QT_Q8_0, ref_q8_0, deq_q8_0, quantize_q8_0},
	{QT_Q2_K, ref_q2_K, deq_q2_K, quantize_q2_K},
	{QT_Q3_K, ref_q3_K, deq_q3_K, quantize_q3_K},
	{QT_Q4_K, ref_q4_K, deq_q4_K, quantize_q4_K},
	{QT_Q5_K, ref_q5_K, deq_q5_K, quantize_q5_K},
	{QT_Q6_K, ref_q6_K, deq_q6_K, quantize_q6_K},
	{QT_MXFP4, ref_mxfp4, deq_mxfp4, quantize_mxfp4},
};
#define N_ORACLES (sizeof oracles / sizeof oracles[0])

/* ---- test rows ---- */

#define ROW 4096 /* 16 super-blocks, 128 blocks of 32 */
#define NROWS 4  /* rows per matrix for the quantize_<type> entry points */

enum row_kind {
	K_UNIFORM,     /* uniform in [-1, 1) */
	K_BLOCK_SCALE, /* bell-shaped, each block of 32 with its own scale 2^-8..2^8 */
	K_HEAVY_TAIL,  /* u^5: most values near zero, a few large */
	K_ZEROS,
	K_CONST_POS,
	K_CONST_NEG,
	K_HUGE,        /* |x| up to 1e30: f16 scales overflow, sums of squares overflow */
	K_F16_EDGE,    /* |x| up to 1e8: f16 scales of some types overflow to inf */
	K_TINY,        /* |x| up to 1e-20: f16 scales underflow to 0 */
	K_SMALL,       /* |x| up to 1e-6: f16 scales subnormal */
	K_SUBNORMAL,   /* |x| up to 1e-39: f32 subnormals */
	K_OUTLIER,     /* small values and one element 5000 times larger */
	K_NEGATIVE,    /* all < 0 */
	K_POSITIVE,    /* all >= 0.5 */
	K_GRID,        /* multiples of 1/4 in [-2, 2): exact ties in the rounding */
	K_SPARSE,      /* 95% zeros */
	K_ZERO_GROUPS, /* random, with some groups of 16 all zero */
	K_ONE_HOT,     /* one nonzero per block of 32 */
	K_NONFINITE,   /* random, with NaN, +inf or -inf in some blocks */
	K_COUNT,
};
static const char *kind_names[K_COUNT] = {
	"uniform", "block-scale", "heavy-tail", "zeros", "const+", "const-", "huge", "f16-edge", "tiny",
	"small", "subnormal", "outlier", "negative", "positive", "grid", "sparse", "zero-groups", "one-hot",
	"nonfinite",
};

static void fill_row(enum row_kind kind, uint64_t seed, float *x, int n)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + (uint64_t)kind + 1;
	for (int i = 0; i < 4; i++) test_rand(&s);
	float block_scale = 1;
	for (int i = 0; i < n; i++) {
		const float u = test_randf(&s);
		switch (kind) {
		case K_UNIFORM: x[i] = u; break;
		case K_BLOCK_SCALE:
			if (i % 32 == 0) block_scale = ldexpf(1.0f, (int)(test_rand(&s) % 17) - 8);
			x[i] = block_scale * (u + test_randf(&s) + test_randf(&s) + test_randf(&s)) / 4;
			break;
		case K_HEAVY_TAIL: x[i] = u * u * u * u * u * 10; break;
		case K_ZEROS: x[i] = 0; break;
		case K_CONST_POS: x[i] = 0.3f; break;
		case K_CONST_NEG: x[i] = -2.5f; break;
		case K_HUGE: x[i] = u * 1e30f; break;
		case K_F16_EDGE: x[i] = u * 1e8f; break;
		case K_TINY: x[i] = u * 1e-20f; break;
		case K_SMALL: x[i] = u * 1e-6f; break;
		case K_SUBNORMAL: x[i] = u * 1e-39f; break;
		case K_OUTLIER: x[i] = u * 0.01f; break;
		case K_NEGATIVE: x[i] = -fabsf(u) - 1e-3f; break;
		case K_POSITIVE: x[i] = fabsf(u) + 0.5f; break;
		case K_GRID: x[i] = (float)((int)(test_rand(&s) % 16) - 8) * 0.25f; break;
		case K_SPARSE: x[i] = test_rand(&s) % 20 == 0 ? u : 0.0f; break;
		case K_ZERO_GROUPS:
			if (i % 16 == 0) block_scale = test_rand(&s) % 10 < 3 ? 0.0f : 1.0f;
			x[i] = u * block_scale;
			break;
		case K_ONE_HOT: x[i] = i % 32 == (int)(seed % 32) ? u * 3 : 0.0f; break;
		case K_NONFINITE: {
			const uint64_t r = test_rand(&s) % 200;
			x[i] = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : u;
			break;
		}
		case K_COUNT: break;
		}
	}
	if (kind == K_OUTLIER) x[test_rand(&s) % (uint64_t)n] = 50.0f;
}

/* Index of the first differing byte, or -1. */
static long first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;
	for (size_t i = 0; i < n; i++)
		if (p[i] != q[i]) return (long)i;
	return -1;
}

static int check_row(const struct oracle *o, const struct quant_type *t, const float *x, const char *what,
                     uint8_t *ours, uint8_t *theirs, float *fo, float *ft)
{
	const uint64_t bytes = quant_row_size(o->type, ROW);
	memset(ours, 0xa5, bytes);
	memset(theirs, 0x5a, bytes);
	int st = quant_quantize(o->type, x, ours, ROW);
	o->quant(x, theirs, ROW);
	long d = first_diff(ours, theirs, bytes);
	const bool same_bytes = st == VKLLM_OK && d < 0;
	EXPECT(st == VKLLM_OK && d < 0, "%s %s: quantized bytes differ from quantize_row_%s_ref at byte %ld (block %ld): %02x vs %02x",
	       t->name, what, t->name, d, d / (long)t->type_size, d >= 0 ? ours[d] : 0, d >= 0 ? theirs[d] : 0);
	/* dequantize llama.cpp's bytes both ways */
	memset(fo, 0, ROW * sizeof(float));
	memset(ft, 0xff, ROW * sizeof(float));
	st = quant_dequantize(o->type, theirs, fo, ROW);
	o->dequant(theirs, ft, ROW);
	d = first_diff(fo, ft, ROW * sizeof(float));
	EXPECT(st == VKLLM_OK && d < 0, "%s %s: dequantized bits differ from dequantize_row_%s at element %ld: %a vs %a",
	       t->name, what, t->name, d / 4, d >= 0 ? (double)fo[d / 4] : 0.0, d >= 0 ? (double)ft[d / 4] : 0.0);
	return same_bytes && st == VKLLM_OK && d < 0;
}

int main(void)
{
	float *x = malloc(NROWS * ROW * sizeof(float));
	float *fo = malloc(ROW * sizeof(float)), *ft = malloc(ROW * sizeof(float));
	uint8_t *ours = malloc(NROWS * ROW * 4), *theirs = malloc(NROWS * ROW * 4);
	REQUIRE(x && fo && ft && ours && theirs, "out of memory");

	/* quantize and dequantize rows of every kind, several seeds each */
	const int seeds = 32;
	for (size_t k = 0; k < N_ORACLES; k++) {
		const struct oracle *o = &oracles[k];
		const struct quant_type *t = quant_type_info(o->type);
		int rows = 0, same = 0;
		for (int kind = 0; kind < K_COUNT; kind++) {
			for (int seed = 0; seed < seeds; seed++) {
				char what[64];
				snprintf(what, sizeof what, "row %s seed %d", kind_names[kind], seed);
				fill_row((enum row_kind)kind, (uint64_t)seed, x, ROW);
				same += check_row(o, t, x, what, ours, theirs, fo, ft);
				rows++;
			}
		}
		printf("# %-5s %d/%d rows identical (quantize and dequantize)\n", t->name, same, rows);
	}

	/* the entry point llama-quantize uses (ggml_quantize_chunk -> quantize_<type>) with no
	 * importance matrix: a matrix of rows of different kinds */
	for (size_t k = 0; k < N_ORACLES; k++) {
		const struct oracle *o = &oracles[k];
		if (!o->chunk) continue;
		const struct quant_type *t = quant_type_info(o->type);
		for (int r = 0; r < NROWS; r++) fill_row((enum row_kind)((r * 5) % K_COUNT), 100 + (uint64_t)r, x + r * ROW, ROW);
		const uint64_t bytes = quant_row_size(o->type, ROW) * NROWS;
		memset(ours, 0, bytes);
		memset(theirs, 0xff, bytes);
		int st = quant_quantize(o->type, x, ours, ROW * NROWS);
		size_t written = o->chunk(x, theirs, NROWS, ROW, NULL);
		long d = first_diff(ours, theirs, bytes);
		EXPECT(st == VKLLM_OK && written == bytes && d < 0, "%s: quantize_%s(imatrix = NULL) differs at byte %ld", t->name,
		       t->name, d);
	}

	/* dequantize blocks of random bytes: every scale, sign and NaN/inf pattern the formats hold */
	uint64_t s = 0x5eed;
	for (size_t k = 0; k < N_ORACLES; k++) {
		const struct oracle *o = &oracles[k];
		const struct quant_type *t = quant_type_info(o->type);
		int bad = 0, rounds = 200;
		for (int r = 0; r < rounds; r++) {
			const uint64_t bytes = quant_row_size(o->type, ROW);
			for (uint64_t i = 0; i < bytes; i++) theirs[i] = (uint8_t)test_rand(&s);
			memset(fo, 0, ROW * sizeof(float));
			memset(ft, 0xff, ROW * sizeof(float));
			int st = quant_dequantize(o->type, theirs, fo, ROW);
			o->dequant(theirs, ft, ROW);
			if (st != VKLLM_OK || first_diff(fo, ft, ROW * sizeof(float)) >= 0) bad++;
		}
		EXPECT(bad == 0, "%s: %d of %d random-byte rows dequantize differently from dequantize_row_%s", t->name, bad,
		       rounds, t->name);
	}

	/* f16 and bf16: every float bit pattern to, every half from */
	{
		enum { CHUNK = 1 << 16 };
		static uint16_t h_ours[CHUNK], h_theirs[CHUNK];
		static float f[CHUNK];
		uint64_t bad16 = 0, badbf = 0;
		for (uint64_t base = 0; base < (1ull << 32); base += CHUNK) {
			for (uint32_t i = 0; i < CHUNK; i++) {
				uint32_t u = (uint32_t)(base + i);
				memcpy(&f[i], &u, 4);
			}
			quant_quantize(QT_F16, f, h_ours, CHUNK);
			ref_f16(f, h_theirs, CHUNK);
			if (memcmp(h_ours, h_theirs, sizeof h_ours)) bad16++;
			quant_quantize(QT_BF16, f, h_ours, CHUNK);
			ref_bf16(f, h_theirs, CHUNK);
			if (memcmp(h_ours, h_theirs, sizeof h_ours)) badbf++;
		}
		EXPECT(bad16 == 0, "%llu chunks of f32 -> f16 differ from ggml_compute_fp32_to_fp16", (unsigned long long)bad16);
		EXPECT(badbf == 0, "%llu chunks of f32 -> bf16 differ from ggml_compute_fp32_to_bf16", (unsigned long long)badbf);
		for (uint32_t i = 0; i < CHUNK; i++) h_ours[i] = (uint16_t)i;
		static float fo16[CHUNK], ft16[CHUNK];
		quant_dequantize(QT_F16, h_ours, fo16, CHUNK);
		deq_f16(h_ours, ft16, CHUNK);
		EXPECT(first_diff(fo16, ft16, sizeof fo16) < 0, "f16 -> f32 differs from ggml_compute_fp16_to_fp32 at half %04lx",
		       first_diff(fo16, ft16, sizeof fo16) / 4);
		quant_dequantize(QT_BF16, h_ours, fo16, CHUNK);
		deq_bf16(h_ours, ft16, CHUNK);
		EXPECT(first_diff(fo16, ft16, sizeof fo16) < 0, "bf16 -> f32 differs from ggml_compute_bf16_to_fp32 at %04lx",
		       first_diff(fo16, ft16, sizeof fo16) / 4);
	}

	free(x), free(fo), free(ft), free(ours), free(theirs);
	return test_finish();
}
