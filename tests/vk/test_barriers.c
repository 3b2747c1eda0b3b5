/* Barriers derived by gpu_dispatch: a dependent chain gets exactly the barriers it needs (RAW,
 * WAR, WAW), an independent dispatch gets none, and the results are right. Sync validation is
 * on, so a missing barrier would also be reported by the layer and fail the test. */
#include "ops/ops.h"
#include "test.h"

#define N 4099u

int main(void)
{
	struct gpu g;
	REQUIRE_OK(test_gpu_open(&g));
	struct gpu_buffer a, b, c, d;
	REQUIRE_OK(gpu_buffer_create(&g, &a, N * 4, GPU_MEM_DEVICE, "a"));
	REQUIRE_OK(gpu_buffer_create(&g, &b, N * 4, GPU_MEM_DEVICE, "b"));
	REQUIRE_OK(gpu_buffer_create(&g, &c, N * 4, GPU_MEM_DEVICE, "c"));
	REQUIRE_OK(gpu_buffer_create(&g, &d, N * 4, GPU_MEM_DEVICE, "d"));
	struct gpu_rec rec;
	REQUIRE_OK(gpu_rec_begin(&g, &rec));
	REQUIRE_OK(op_fill(&rec, gpu_whole(&a), N, 2.0f));                           /* a = 2 */
	EXPECT(rec.n_barriers == 0, "first dispatch needs no barrier (%u)", rec.n_barriers);
	REQUIRE_OK(op_copy(&rec, gpu_whole(&b), gpu_whole(&a), N, COPY_OUT_F32));     /* b = a: RAW on a */
	EXPECT(rec.n_barriers == 1, "read after write: %u barriers", rec.n_barriers);
	REQUIRE_OK(op_fill(&rec, gpu_whole(&d), N, 5.0f));                           /* independent */
	EXPECT(rec.n_barriers == 1, "an independent dispatch added a barrier (%u)", rec.n_barriers);
	REQUIRE_OK(op_fill(&rec, gpu_whole(&a), N, 9.0f));                           /* a = 9: WAR on a */
	EXPECT(rec.n_barriers == 2, "write after read: %u barriers", rec.n_barriers);
	REQUIRE_OK(op_copy(&rec, gpu_whole(&c), gpu_whole(&b), N, COPY_OUT_F32));     /* c = b: b written before the last barrier */
	EXPECT(rec.n_barriers == 2, "b was made visible by the last barrier (%u)", rec.n_barriers);
	REQUIRE_OK(op_fill(&rec, gpu_whole(&c), N, 7.0f));                           /* c = 7: WAW on c */
	EXPECT(rec.n_barriers == 3, "write after write: %u barriers", rec.n_barriers);
	/* disjoint halves of one buffer do not depend on each other */
	struct gpu_view lo = {&d, 0, 2048 * 4}, hi = {&d, 2048 * 4, (N - 2048) * 4};
	REQUIRE_OK(op_fill(&rec, lo, 2048, 1.0f));
	uint32_t before = rec.n_barriers;
	REQUIRE_OK(op_fill(&rec, hi, N - 2048, 3.0f));
	EXPECT(rec.n_barriers == before, "disjoint ranges got a barrier");
	REQUIRE_OK(gpu_rec_end(&rec));
	for (int rep = 0; rep < 3; rep++) REQUIRE_OK(gpu_rec_submit_wait(&rec)); /* replays stay correct */

	float *out = malloc(N * 4);
	REQUIRE(out != NULL, "oom");
	struct {
		struct gpu_buffer *buf;
		float lo, hi;
	} want[] = {{&a, 9, 9}, {&b, 2, 2}, {&c, 7, 7}, {&d, 1, 3}};
	for (int k = 0; k < 4; k++) {
		REQUIRE_OK(gpu_download(&g, out, want[k].buf, 0, N * 4));
		int bad = 0;
		for (uint32_t i = 0; i < N; i++)
			if (out[i] != (i < 2048 ? want[k].lo : want[k].hi)) bad++;
		EXPECT(bad == 0, "buffer %s: %d wrong values", want[k].buf->name, bad);
	}
	free(out);
	gpu_rec_destroy(&rec);
	gpu_buffer_destroy(&g, &a);
	gpu_buffer_destroy(&g, &b);
	gpu_buffer_destroy(&g, &c);
	gpu_buffer_destroy(&g, &d);
	test_gpu_close(&g);
	return test_finish();
}
