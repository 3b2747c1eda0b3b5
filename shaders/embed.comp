// SPDX-License-Identifier: MIT
// embed: token embedding lookup for every weight type (common/blocks.glsl decodes the rows).
//   OUT[t][:] = scale * W[ids[t] - first_row][:]     for first_row <= ids[t] < first_row + n_rows
// One workgroup per token; its invocations take the row's 32-value units in turn. A token whose
// id is outside [first_row, first_row + n_rows) leaves its output row untouched: a table split
// over several buffers (larger than one binding) is one dispatch per part, and a bad id never
// reads outside the table.
// Variants: one per weight type (-D WTYPE_*), embed_<type>.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require

#include "abi.h"
#include "common/index.glsl"

#ifdef WTYPE_F32
layout(binding = 0) readonly buffer Weights { float W[]; };
#else
layout(binding = 0) readonly buffer Weights { uint16_t W[]; };
#endif
layout(binding = 1) readonly buffer Ids { uint IDS[]; };
layout(binding = 2) writeonly buffer Out { float OUT[]; };

layout(push_constant) uniform Params { embed_params p; };

#include "common/blocks.glsl"

void main()
{
	uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (t >= p.n_tokens) return;
	uint id = IDS[p.ids_offset + t];
	if (id < p.first_row || id - p.first_row >= p.n_rows) return;
	uint row_byte = p.w_offset + (id - p.first_row) * p.row_bytes;
	uint o = p.out_offset + t * p.out_stride;
	for (uint u = gl_LocalInvocationID.x; u < p.n_embd / 32u; u += WORKGROUP_SIZE) {
		float v[32];
		decode_unit(row_byte, u, v);
		for (uint i = 0; i < 32u; i++) OUT[o + u * 32u + i] = v[i] * p.scale;
	}
}
