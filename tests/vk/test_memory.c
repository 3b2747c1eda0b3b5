/* Buffers (host/vk/memory.c): small buffers share blocks at aligned offsets, freed space is
 * reused, large buffers get their own allocation, copies through staging work in both
 * directions (forced by hiding the mapping), and impossible requests fail with a message. */
#include "test.h"

int main(void)
{
	struct gpu g;
	REQUIRE_OK(test_gpu_open(&g));
	uint64_t align = g.profile.min_storage_offset_alignment;

	/* many small buffers: one block, distinct aligned ranges */
	enum { NB = 64 };
	struct gpu_buffer small[NB];
	for (int i = 0; i < NB; i++) REQUIRE_OK(gpu_buffer_create(&g, &small[i], 1000 + 37 * i, GPU_MEM_DEVICE, "small"));
	uint64_t allocated = gpu_memory_allocated(&g);
	EXPECT(allocated <= (64ull << 20), "64 small buffers took %llu bytes of blocks", (unsigned long long)allocated);
	int overlap = 0, misaligned = 0;
	for (int i = 0; i < NB; i++) {
		if (small[i].offset % align) misaligned++;
		for (int j = 0; j < i; j++)
			if (small[i].block == small[j].block && small[i].offset < small[j].offset + small[j].size &&
			    small[j].offset < small[i].offset + small[i].size)
				overlap++;
	}
	EXPECT(overlap == 0 && misaligned == 0, "%d overlapping, %d misaligned buffers", overlap, misaligned);

	/* free every other buffer, then allocate again: the holes are reused, no new block */
	for (int i = 0; i < NB; i += 2) gpu_buffer_destroy(&g, &small[i]);
	for (int i = 0; i < NB; i += 2) REQUIRE_OK(gpu_buffer_create(&g, &small[i], 900, GPU_MEM_DEVICE, "again"));
	EXPECT(gpu_memory_allocated(&g) == allocated, "reallocation grew memory from %llu to %llu",
	       (unsigned long long)allocated, (unsigned long long)gpu_memory_allocated(&g));

	/* a large buffer is dedicated and is released when destroyed; the staging buffer a discrete
	 * GPU's copies go through lives as long as the device, so make it first and count it in */
	{
		void *m = small[1].mapped;
		float one = 1.0f;
		small[1].mapped = NULL;
		REQUIRE_OK(gpu_upload(&g, &small[1], 0, &one, 4));
		small[1].mapped = m;
		allocated = gpu_memory_allocated(&g);
	}
	struct gpu_buffer big;
	REQUIRE_OK(gpu_buffer_create(&g, &big, 48ull << 20, GPU_MEM_DEVICE, "big"));
	EXPECT(gpu_memory_allocated(&g) >= allocated + (48ull << 20), "big buffer not allocated");
	uint64_t seed = 7;
	size_t n = (48u << 20) / 4;
	float *data = malloc(n * 4), *back = malloc(n * 4);
	REQUIRE(data && back, "oom");
	for (size_t i = 0; i < n; i++) data[i] = test_randf(&seed);
	/* direct path (mapped on UMA devices) */
	REQUIRE_OK(gpu_upload(&g, &big, 0, data, n * 4));
	REQUIRE_OK(gpu_download(&g, back, &big, 0, n * 4));
	EXPECT(memcmp(data, back, n * 4) == 0, "direct round trip differs");
	/* staging path: hide the mapping, as on a discrete GPU; 48 MiB crosses several staging chunks */
	void *mapped = big.mapped;
	big.mapped = NULL;
	for (size_t i = 0; i < n; i++) data[i] = -data[i];
	REQUIRE_OK(gpu_upload(&g, &big, 0, data, n * 4));
	memset(back, 0, n * 4);
	REQUIRE_OK(gpu_download(&g, back, &big, 0, n * 4));
	EXPECT(memcmp(data, back, n * 4) == 0, "staged round trip differs");
	REQUIRE_OK(gpu_download(&g, back, &big, 4096, 12));
	EXPECT(memcmp(back, data + 1024, 12) == 0, "staged partial download differs");
	big.mapped = mapped;
	gpu_buffer_destroy(&g, &big);
	EXPECT(gpu_memory_allocated(&g) == allocated, "dedicated block not released");

	/* bad requests: a message that names the buffer and the limit */
	struct gpu_buffer bad;
	EXPECT(gpu_buffer_create(&g, &bad, 0, GPU_MEM_DEVICE, "empty") == VKLLM_E_ARG, "size 0 accepted");
	EXPECT(gpu_buffer_create(&g, &bad, g.profile.max_allocation_size + 1, GPU_MEM_DEVICE, "huge") == VKLLM_E_UNSUPPORTED,
	       "a buffer beyond maxMemoryAllocationSize was accepted");
	EXPECT(strstr(vkllm_error(), "huge") != NULL, "message: %s", vkllm_error());
	EXPECT(gpu_upload(&g, &small[1], 1000, data, 1000) == VKLLM_E_ARG, "upload past the end accepted");
	EXPECT(gpu_download(&g, back, &small[1], 0, small[1].size + 1) == VKLLM_E_ARG, "download past the end accepted");

	/* host-visible kinds are mapped */
	struct gpu_buffer up, rb;
	REQUIRE_OK(gpu_buffer_create(&g, &up, 4096, GPU_MEM_UPLOAD, "upload"));
	REQUIRE_OK(gpu_buffer_create(&g, &rb, 4096, GPU_MEM_READBACK, "readback"));
	EXPECT(up.mapped && rb.mapped, "upload/readback buffers are not mapped");
	gpu_buffer_destroy(&g, &up);
	gpu_buffer_destroy(&g, &rb);

	for (int i = 0; i < NB; i++) gpu_buffer_destroy(&g, &small[i]);
	free(data), free(back);
	test_gpu_close(&g);
	return test_finish();
}
