/* op_glu and op_glu_fused (SwiGLU, GeGLU) against tests/ref/glu_ref.c: one row of one value,
 * row lengths that are not multiples of the workgroup, separate gate/up views and one
 * [gate | up] buffer, gates out to +-30 where silu and gelu saturate.
 * Tolerance 2e-5 * (|ref| + |gate * up|) + 1e-7: Vulkan gives exp 3 + 2|x| ulp (43 ulp at |x| = 20,
 * a relative 5e-6 that silu passes on) and builds tanh from exp, whose error near 0 is absolute
 * (up to ~1e-6), so the bound is relative to |gate * up| as well as to the result. */
#include "ref/glu_ref.h"
#include "small_ops_util.h"

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
			in[r * 2 * n + c] = gate[r * n + c] = gv;
			in[r * 2 * n + n + c] = up[r * n + c] = uv;
		}
	glu_ref(ref, gate, up, n, n_rows, n, kind == GLU_GEGLU);
	for (size_t i = 0; i < out_n; i++) tol[i] = 2e-5 * (fabs(ref[i]) + fabs((double)gate[i] * up[i])) + 1e-7;

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
	EXPECT(bad == 0, "%s %s n %u rows %u: %d values off (worst %.2f x tolerance)", kind == GLU_GEGLU ? "geglu" : "swiglu",
	       fused ? "fused" : "separate", n, n_rows, bad, worst);
	printf("# %s %s n %u rows %u: worst %.3f x tolerance\n", kind == GLU_GEGLU ? "geglu" : "swiglu",
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
	for (int k = 0; k < 2; k++) {
		enum glu_kind kind = k ? GLU_GEGLU : GLU_SWIGLU;
		run_case(&g, kind, false, 1, 1, &seed);
		run_case(&g, kind, true, 1, 1, &seed);
		run_case(&g, kind, false, 1003, 3, &seed);
		run_case(&g, kind, true, 1003, 3, &seed);
		run_case(&g, kind, true, 9728, 2, &seed); /* Gemma 3 4B's n_ff, two tokens */
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
