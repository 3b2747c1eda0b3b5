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

	/* storage texel buffers: the format comes from the shader's layout qualifier */
	const struct shader_spirv *tc = &shader_table[SH_PEAK_COPY_TEXEL], *q6 = &shader_table[SH_MATVEC_CPU_Q6_K];
	REQUIRE_OK(gpu_reflect(&r, tc->words, tc->n_words, tc->name));
	EXPECT(r.n_bindings == 2 && r.texel_mask == 3 && r.writable_mask == 2 &&
	           r.texel_format[0] == VK_FORMAT_R32G32B32A32_UINT && r.texel_format[1] == VK_FORMAT_R32G32B32A32_UINT,
	       "peak_copy_texel: %u bindings, texel 0x%x, writable 0x%x, formats %d %d", r.n_bindings, r.texel_mask,
	       r.writable_mask, r.texel_format[0], r.texel_format[1]);
	REQUIRE_OK(gpu_reflect(&r, q6->words, q6->n_words, q6->name));
	EXPECT(r.texel_mask == 7 && r.writable_mask == 4 && r.texel_format[0] == VK_FORMAT_R32G32_UINT &&
	           r.texel_format[1] == VK_FORMAT_R32G32B32A32_UINT && r.texel_format[2] == VK_FORMAT_R32_UINT,
	       "matvec_cpu_q6_K: texel 0x%x, writable 0x%x, formats %d %d %d (rg32ui weights, rgba32ui x, r32ui y)",
	       r.texel_mask, r.writable_mask, r.texel_format[0], r.texel_format[1], r.texel_format[2]);

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
