/* SPIR-V reflection: what a compute shader declares, read from its words so that descriptor
 * layouts, push-constant ranges and the read/write sets used for barriers are never written by
 * hand (and can never disagree with the shader).
 *
 * Supported interface (the whole of vkllm's ABI, see shaders/abi.h): storage buffers in set 0,
 * storage texel buffers (imageBuffer with a 32-bit integer format: llvmpipe loads those without
 * a branch per lane, docs/matmul.md), one push-constant block of scalars, vectors, arrays and
 * structs of them, and specialization constants. Anything else is refused with the shader's name. */
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

enum {
	OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_VECTOR = 23, OP_TYPE_IMAGE = 25, OP_TYPE_ARRAY = 28, OP_TYPE_STRUCT = 30,
	OP_TYPE_POINTER = 32, OP_CONSTANT = 43, OP_VARIABLE = 59, OP_DECORATE = 71, OP_MEMBER_DECORATE = 72,
	DEC_SPEC_ID = 1, DEC_BLOCK = 2, DEC_BUFFER_BLOCK = 3, DEC_ARRAY_STRIDE = 6, DEC_NON_WRITABLE = 24,
	DEC_BINDING = 33, DEC_SET = 34, DEC_OFFSET = 35,
	SC_UNIFORM_CONSTANT = 0, SC_UNIFORM = 2, SC_PUSH_CONSTANT = 9, SC_STORAGE_BUFFER = 12,
	DIM_BUFFER = 5, SAMPLED_STORAGE = 2, FMT_RGBA32UI = 30, FMT_R32UI = 33, FMT_RG32UI = 35,
	NONE = 0xffffffffu,
};

struct module {
	const uint32_t *w;
	size_t n;
	uint32_t bound;
	uint32_t *def; /* [bound] word index of the instruction defining each id, or 0 */
};

/* Calls fn for each instruction: fn(m, word index, opcode, word count). */
#define FOR_EACH_INSTRUCTION(m, i, op, len) \
	for (size_t i = 5, len, op; i < (m)->n && (len = (m)->w[i] >> 16, op = (m)->w[i] & 0xffff, len > 0); i += len)

static uint32_t decoration(const struct module *m, uint32_t id, uint32_t dec)
{
	FOR_EACH_INSTRUCTION(m, i, op, len)
	if (op == OP_DECORATE && len >= 3 && m->w[i + 1] == id && m->w[i + 2] == dec) return len >= 4 ? m->w[i + 3] : 1;
	return NONE;
}

static uint32_t member_decoration(const struct module *m, uint32_t id, uint32_t member, uint32_t dec)
{
	FOR_EACH_INSTRUCTION(m, i, op, len)
	if (op == OP_MEMBER_DECORATE && len >= 4 && m->w[i + 1] == id && m->w[i + 2] == member && m->w[i + 3] == dec)
		return len >= 5 ? m->w[i + 4] : 1;
	return NONE;
}

/* Byte size of a type inside a push-constant block (explicit layout), or NONE. */
static uint32_t type_size(const struct module *m, uint32_t id, int depth)
{
	if (id >= m->bound || !m->def[id] || depth > 8) return NONE;
	const uint32_t *ins = &m->w[m->def[id]];
	uint32_t op = ins[0] & 0xffff, len = ins[0] >> 16;
	switch (op) {
	case OP_TYPE_INT:
	case OP_TYPE_FLOAT: return ins[2] / 8;
	case OP_TYPE_VECTOR: {
		uint32_t c = type_size(m, ins[2], depth + 1);
		return c == NONE ? NONE : c * ins[3];
	}
	case OP_TYPE_ARRAY: {
		uint32_t stride = decoration(m, id, DEC_ARRAY_STRIDE);
		uint32_t len_id = ins[3];
		if (stride == NONE || len_id >= m->bound || !m->def[len_id]) return NONE;
		const uint32_t *c = &m->w[m->def[len_id]];
		if ((c[0] & 0xffff) != OP_CONSTANT) return NONE; /* spec-constant-sized arrays are not ABI */
		return stride * c[3];
	}
	case OP_TYPE_STRUCT: {
		uint32_t size = 0;
		for (uint32_t k = 0; k + 2 < len; k++) {
			uint32_t off = member_decoration(m, id, k, DEC_OFFSET);
			uint32_t ms = type_size(m, ins[2 + k], depth + 1);
			if (off == NONE || ms == NONE) return NONE;
			if (off + ms > size) size = off + ms;
		}
		return size;
	}
	default: return NONE;
	}
}

/* A storage buffer is read-only when the variable or every member of its block is NonWritable. */
static bool non_writable(const struct module *m, uint32_t var, uint32_t block)
{
	if (decoration(m, var, DEC_NON_WRITABLE) != NONE) return true;
	if (block >= m->bound || !m->def[block]) return false;
	const uint32_t *ins = &m->w[m->def[block]];
	if ((ins[0] & 0xffff) != OP_TYPE_STRUCT) return false;
	uint32_t n_members = (ins[0] >> 16) - 2;
	for (uint32_t k = 0; k < n_members; k++)
		if (member_decoration(m, block, k, DEC_NON_WRITABLE) == NONE) return false;
	return n_members > 0;
}

/* The view format of a storage texel buffer (OpTypeImage: Dim Buffer, Sampled 2), or
 * VK_FORMAT_UNDEFINED for any other image type or format. */
static VkFormat texel_buffer_format(const struct module *m, uint32_t type)
{
	if (type >= m->bound || !m->def[type]) return VK_FORMAT_UNDEFINED;
	const uint32_t *ins = &m->w[m->def[type]];
	if ((ins[0] & 0xffff) != OP_TYPE_IMAGE || (ins[0] >> 16) < 9) return VK_FORMAT_UNDEFINED;
	if (ins[3] != DIM_BUFFER || ins[7] != SAMPLED_STORAGE) return VK_FORMAT_UNDEFINED;
	switch (ins[8]) {
	case FMT_RGBA32UI: return VK_FORMAT_R32G32B32A32_UINT;
	case FMT_RG32UI: return VK_FORMAT_R32G32_UINT;
	case FMT_R32UI: return VK_FORMAT_R32_UINT;
	default: return VK_FORMAT_UNDEFINED;
	}
}

static int reflect_variables(struct gpu_reflection *out, const struct module *m, const char *name)
{
	FOR_EACH_INSTRUCTION(m, i, op, len)
	{
		if (op != OP_VARIABLE || len < 4) continue;
		uint32_t ptr = m->w[i + 1], var = m->w[i + 2], sc = m->w[i + 3];
		if (sc != SC_STORAGE_BUFFER && sc != SC_UNIFORM && sc != SC_PUSH_CONSTANT && sc != SC_UNIFORM_CONSTANT)
			continue; /* Input, Workgroup, Private, Function: not part of the interface */
		if (ptr >= m->bound || !m->def[ptr] || (m->w[m->def[ptr]] & 0xffff) != OP_TYPE_POINTER)
			return fail(VKLLM_E_FORMAT, "shader %s: variable %u has no pointer type", name, var);
		uint32_t pointee = m->w[m->def[ptr] + 3];
		if (sc == SC_PUSH_CONSTANT) {
			uint32_t size = type_size(m, pointee, 0);
			if (size == NONE) return fail(VKLLM_E_UNSUPPORTED, "shader %s: push-constant block has an unsupported layout", name);
			out->push_size = size;
			continue;
		}
		bool storage = sc == SC_STORAGE_BUFFER ||
		               (sc == SC_UNIFORM && decoration(m, pointee, DEC_BUFFER_BLOCK) != NONE);
		VkFormat texel = sc == SC_UNIFORM_CONSTANT ? texel_buffer_format(m, pointee) : VK_FORMAT_UNDEFINED;
		uint32_t set = decoration(m, var, DEC_SET), binding = decoration(m, var, DEC_BINDING);
		if (!storage && texel == VK_FORMAT_UNDEFINED)
			return fail(VKLLM_E_UNSUPPORTED,
			            "shader %s: binding %u is neither a storage buffer nor a r32ui/rg32ui/rgba32ui imageBuffer", name,
			            binding);
		if (set != 0 || binding == NONE || binding >= GPU_MAX_BINDINGS)
			return fail(VKLLM_E_UNSUPPORTED, "shader %s: storage buffer in set %u binding %u (expected set 0, binding < %d)",
			            name, set, binding, GPU_MAX_BINDINGS);
		if (binding + 1 > out->n_bindings) out->n_bindings = binding + 1;
		if (texel != VK_FORMAT_UNDEFINED) out->texel_mask |= 1u << binding, out->texel_format[binding] = texel;
		if (!non_writable(m, var, pointee)) out->writable_mask |= 1u << binding;
	}
	return VKLLM_OK;
}

int gpu_reflect(struct gpu_reflection *out, const uint32_t *words, size_t n_words, const char *name)
{
	memset(out, 0, sizeof *out);
	if (n_words < 5 || words[0] != 0x07230203u)
		return fail(VKLLM_E_FORMAT, "shader %s: not SPIR-V (%zu words)", name, n_words);
	struct module m = {words, n_words, words[3], NULL};
	if (m.bound == 0 || m.bound > (1u << 22)) return fail(VKLLM_E_FORMAT, "shader %s: id bound %u", name, m.bound);
	m.def = calloc(m.bound, sizeof *m.def);
	if (!m.def) return fail(VKLLM_E_NOMEM, "out of host memory reflecting %s", name);
	size_t i = 5;
	while (i < n_words) {
		uint32_t len = words[i] >> 16, op = words[i] & 0xffff;
		if (len == 0 || i + len > n_words) {
			free(m.def);
			return fail(VKLLM_E_FORMAT, "shader %s: truncated instruction at word %zu", name, i);
		}
		/* Types define their result in word 1, constants and variables in word 2. */
		if (op >= 19 && op <= 39 && len >= 2 && words[i + 1] < m.bound) m.def[words[i + 1]] = (uint32_t)i;
		if ((op == OP_CONSTANT || op == OP_VARIABLE) && len >= 3 && words[i + 2] < m.bound) m.def[words[i + 2]] = (uint32_t)i;
		if (op == OP_DECORATE && len >= 4 && words[i + 2] == DEC_SPEC_ID && words[i + 3] + 1 > out->n_spec)
			out->n_spec = words[i + 3] + 1;
		i += len;
	}
	int st = reflect_variables(out, &m, name);
	free(m.def);
	return st;
}
