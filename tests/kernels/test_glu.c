/* op_glu and op_glu_fused (SwiGLU, GeGLU, gpt-oss's clamped SwiGLU) against tests/ref/glu_ref.c:
 * one row of one value, row lengths that are not multiples of the workgroup, separate gate/up
 * views and one [gate | up] buffer, gates out to +-30 where silu and gelu saturate. The clamped
 * SwiGLU gets gates and ups over [-10, 10] with every fifth value from a list straddling +-7 and 0
 * (7 and -7 exactly, one f32 ulp either side, +-0, +-30), so both clamps and the sign of x are hit.
 * Tolerance 2e-5 * (|ref| + |gate * up|) + 1e-7: Vulkan gives exp 3 + 2|x| ulp (43 ulp at |x| = 20,
 * a relative 5e-6 that silu passes on) and builds tanh from exp, whose error near 0 is absolute
 * (up to ~1e-6), so the bound is relative to |gate * up| as well as to the result. The clamped
 * SwiGLU's exp argument is at most 1.702 * 30 = 51 (105 ulp, 6e-6 relative) and its bound uses
 * |x * (y + 1)| in place of |gate * up| (the clamped operands the sigmoid multiplies). */
#include "ref/glu_ref.h"
#include "small_ops_util.h"

static const char *kind_name(enum glu_kind kind)
{
	return kind == GLU_GEGLU ? "geglu" : kind == GLU_SWIGLU_OAI ? "swiglu_oai" : "swiglu";
}

/* values straddling the clamped SwiGLU's limits and 0 */
static float oai_edge(uint64_t *seed)
{
	static const float edges[] = {7.0f, -7.0f, 0x1.bffffep2f, 0x1.c00002p2f, -0x1.bffffep2f, -0x1.c00002p2f,
	                              0.0f, -0.0f, 1e-7f, -1e-7f, 30.0f, -30.0f, -1.0f, 1.0f};
	return edges[test_rand(seed) % (sizeof edges / sizeof edges[0])];
}

static int run_case(struct gpu *g, enum glu_kind kind, bool fused, uint32_t n, uint32_t n_rows, uint64_t *seed)
{
	size_t in_n = (size_t)n_rows * 2 * n, out_n = (size_t)n_rows * n;
	float *in = malloc(in_n * 4), *ref = malloc(out_n * 4), *got = malloc(out_n * 4);
	double *tol = malloc(out_n * 8);
	/* fused layout [row][gate n | up n]; the separate case uploads the halves to two buffers */
	float *gate = malloc(out_n * 4), *up = malloc(out_n * 4);
	for (size_t r = 0; r < n_rows; r++)
		for (size_t c = 0; c < n; c++) {
			float gv = test_randf(seed) * (c % 7 == 0 ? 30.0f : 4.0f), uv = test_randf(seed) * 2;
			if (kind == GLU_SWIGLU_OAI) {
				gv = c % 5 == 0 ? oai_edge(seed) : test_randf(seed) * 10.0f;
				uv = c % 5 == 1 || (n == 1 && r == 0) ? oai_edge(seed) : test_randf(seed) * 10.0f;
			}
			in[r * 2 * n + c] = gate[r * n + c] = gv;
			in[r * 2 * n + n + c] = up[r * n + c] = uv;
		}
	glu_ref(ref, gate, up, n, n_rows, n, kind == GLU_GEGLU ? GLU_REF_GEGLU : kind == GLU_SWIGLU_OAI ? GLU_REF_SWIGLU_OAI : GLU_REF_SWIGLU);
	for (size_t i = 0; i < out_n; i++) {
		double gu = (double)gate[i] * up[i];
		if (kind == GLU_SWIGLU_OAI) gu = fmin(gate[i], 7.0) * (fmax(-7.0, fmin(up[i], 7.0)) + 1.0);
		tol[i] = 2e-5 * (fabs(ref[i]) + fabs(gu)) + 1e-7;
	}

	struct gpu_buffer ib, gb, ub, ob;
	REQUIRE_OK(buf_make(g, &ib, "gate_up", in, in_n * 4, 4));
	REQUIRE_OK(buf_make(g, &gb, "gate", gate, out_n * 4, 0));
	REQUIRE_OK(buf_make(g, &ub, "up", up, out_n * 4, 36));
	REQUIRE_OK(buf_make(g, &ob, "out", NULL, out_n * 4, 8));
	struct gpu_view ov = view_at(&ob, 8, out_n * 4);
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(g, &rec));
	if (fused)
		REQUIRE_OK(op_glu_fused(&rec, ov, view_at(&ib, 4, in_n * 4), n, n_rows, kind));
	else
		REQUIRE_OK(op_glu(&rec, ov, view_at(&gb, 0, out_n * 4), view_at(&ub, 36, out_n * 4), n, n_rows, kind));
	REQUIRE_OK(gpu_rec_end(&rec));
	REQUIRE_OK(gpu_rec_submit_wait(&rec));
	REQUIRE_OK(gpu_download(g, got, &ob, 8, out_n * 4));
	double worst;
	int bad = check_close("out", got, ref, tol, out_n, &worst);
	EXPECT(bad == 0, "%s %s n %u rows %u: %d values off (worst %.2f x tolerance)", kind_name(kind),
	       fused ? "fused" : "separate", n, n_rows, bad, worst);
	printf("# %s %s n %u rows %u: worst %.3f x tolerance\n", kind_name(kind),
	       fused ? "fused" : "separate", n, n_rows, worst);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(g, &ib), gpu_buffer_destroy(g, &gb), gpu_buffer_destroy(g, &ub), gpu_buffer_destroy(g, &ob);
	free(in), free(ref), free(got), free(tol), free(gate), free(up);
	return 0;
}

int main(void)
{
	struct gpu g;
	if (test_gpu_open(&g)) {
		fprintf(stderr, "no device: %s\n", vkllm_error());
		return 1;
	}
	uint64_t seed = 11;
	for (int k = 0; k < 3; k++) {
		enum glu_kind kind = k == 0 ? GLU_SWIGLU : k == 1 ? GLU_GEGLU : GLU_SWIGLU_OAI;
		run_case(&g, kind, false, 1, 1, &seed);
		run_case(&g, kind, true, 1, 1, &seed);
		run_case(&g, kind, false, 1003, 3, &seed);
		run_case(&g, kind, true, 1003, 3, &seed);
		run_case(&g, kind, true, 9728, 2, &seed); /* Gemma 3 4B's n_ff, two tokens */
	}
	/* gpt-oss-20b's expert width, 4 chosen experts of 3 tokens (one row per assignment) */
	run_case(&g, GLU_SWIGLU_OAI, false, 2880, 12, &seed);
	run_case(&g, GLU_SWIGLU_OAI, true, 2880, 12, &seed);
	/* the clamps exactly: x = min(g, 7), y = clamp(u, -7, 7) on the device's own f32 values */
	{
		const float gs[] = {7.0f, 8.0f, 1e30f, -7.0f, -8.0f, 0.0f, -0.0f, 6.5f, -100.0f};
		const float us[] = {-7.0f, -8.0f, -1e30f, 7.0f, 8.0f, 1e30f, -1.0f, 0.0f, 100.0f};
		uint32_t n = sizeof gs / sizeof gs[0];
		float got[9], ref[9];
		double tol[9], worst;
		struct gpu_buffer gb, ub, ob;
		REQUIRE_OK(buf_make(&g, &gb, "gate", gs, sizeof gs, 0));
		REQUIRE_OK(buf_make(&g, &ub, "up", us, sizeof us, 0));
		REQUIRE_OK(buf_make(&g, &ob, "out", NULL, sizeof got, 0));
		struct gpu_rec rec;
		REQUIRE_OK(gpu_rec_begin(&g, &rec));
		REQUIRE_OK(op_glu(&rec, view_at(&ob, 0, sizeof got), view_at(&gb, 0, sizeof gs), view_at(&ub, 0, sizeof us), n, 1,
		                  GLU_SWIGLU_OAI));
		REQUIRE_OK(gpu_rec_end(&rec));
		REQUIRE_OK(gpu_rec_submit_wait(&rec));
		REQUIRE_OK(gpu_download(&g, got, &ob, 0, sizeof got));
		for (uint32_t i = 0; i < n; i++) {
			ref[i] = (float)swiglu_oai_ref(gs[i], us[i]);
			tol[i] = 2e-5 * (fabs(ref[i]) + fabs(fmin(gs[i], 7.0) * (fmax(-7.0, fmin(us[i], 7.0)) + 1.0))) + 1e-7;
		}
		/* 7 * sigmoid(11.914) * 8 and friends: the saturated values are finite and exact to the tolerance */
		int bad = check_close("clamped", got, ref, tol, n, &worst);
		EXPECT(bad == 0, "swiglu_oai at the clamps: %d values off (worst %.2f x tolerance)", bad, worst);
		EXPECT(got[1] == got[0] && got[2] == got[0], "gates 8 and 1e30 give the value of gate 7 (%.9g %.9g %.9g)", got[0],
		       got[1], got[2]);
		EXPECT(ref[3] < 0 && fabs(got[4]) < 1e-4, "negative gates pass unclamped (%.9g, %.9g)", got[3], got[4]);
		printf("# swiglu_oai clamps: worst %.3f x tolerance\n", worst);
		gpu_rec_destroy(&rec);
		gpu_buffer_destroy(&g, &gb), gpu_buffer_destroy(&g, &ub), gpu_buffer_destroy(&g, &ob);
	}

	struct gpu_buffer b;
	REQUIRE_OK(gpu_buffer_create(&g, &b, 4096, GPU_MEM_DEVICE, "b"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	struct gpu_view w = gpu_whole(&b);
	EXPECT(op_glu(&rec, w, w, w, 1025, 1, GLU_SWIGLU) == VKLLM_E_ARG, "rows past the views refused");
	EXPECT(op_glu_fused(&rec, w, w, 513, 1, GLU_GEGLU) == VKLLM_E_ARG, "a fused row past the view refused");
	EXPECT(op_glu(&rec, w, w, w, 0, 4, GLU_SWIGLU) == VKLLM_E_ARG, "empty rows refused");
	EXPECT(op_glu(&rec, w, w, w, 4, 4, (enum glu_kind)7) == VKLLM_E_ARG, "unknown kind refused");
	EXPECT(op_glu(&rec, w, view_at(&b, 6, 64), w, 4, 1, GLU_SWIGLU) == VKLLM_E_ARG, "misaligned gate refused");
	gpu_rec_end(&rec);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &b);
	test_gpu_close(&g);
	return test_finish();
}
