/* SPIR-V reflection (host/vk/reflect.c) on the embedded shaders and on broken modules. No GPU. */
#include "../../shaders/abi.h"
#include "test.h"

int main(void)
{
	struct gpu_reflection r;
	const struct shader_spirv *fill = &shader_table[SH_FILL_F32], *copy = &shader_table[SH_COPY_F32];
	REQUIRE_OK(gpu_reflect(&r, fill->words, fill->n_words, fill->name));
	EXPECT(r.n_bindings == 1 && r.writable_mask == 1, "fill: %u bindings, writable 0x%x", r.n_bindings, r.writable_mask);
	EXPECT(r.push_size == sizeof(struct fill_params), "fill: push %u, abi.h says %zu", r.push_size, sizeof(struct fill_params));
	EXPECT(r.n_spec == 1, "fill: %u spec constants", r.n_spec);

	REQUIRE_OK(gpu_reflect(&r, copy->words, copy->n_words, copy->name));
	EXPECT(r.n_bindings == 2 && r.writable_mask == 2, "copy: %u bindings, writable 0x%x (binding 0 is readonly)",
	       r.n_bindings, r.writable_mask);
	EXPECT(r.push_size == sizeof(struct copy_params), "copy: push %u", r.push_size);

	/* every embedded shader reflects and keeps to the ABI convention (spec 0 = workgroup size) */
	for (int s = 0; s < SH_COUNT; s++) {
		int st = gpu_reflect(&r, shader_table[s].words, shader_table[s].n_words, shader_table[s].name);
		EXPECT(st == VKLLM_OK && r.n_spec >= 1, "%s: %s", shader_table[s].name, vkllm_error());
	}

	/* broken modules are refused with a message, never read out of bounds */
	uint32_t junk[8] = {0x12345678, 0, 0, 10, 0, 0, 0, 0};
	EXPECT(gpu_reflect(&r, junk, 8, "junk") == VKLLM_E_FORMAT, "bad magic accepted");
	EXPECT(strstr(vkllm_error(), "junk") != NULL, "message names the shader: %s", vkllm_error());
	size_t n = fill->n_words;
	uint32_t *cut = malloc(n * 4);
	REQUIRE(cut != NULL, "oom");
	memcpy(cut, fill->words, n * 4);
	cut[n - 1] = 0xffff0000u | (cut[n - 1] & 0xffff); /* last instruction claims 65535 words */
	EXPECT(gpu_reflect(&r, cut, n, "cut") == VKLLM_E_FORMAT, "truncated instruction accepted");
	free(cut);
	return test_finish();
}
