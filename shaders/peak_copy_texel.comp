// SPDX-License-Identifier: MIT
// peak_copy_texel: peak_copy through storage texel buffers (rgba32ui imageBuffer): one 16-byte
// texel load and store per invocation. On llvmpipe these are branch-free vector loads where a
// storage-buffer load is a loop over the lanes (docs/matmul.md), so this is the copy that shows
// what a lavapipe kernel reading its weights as texels can reach; on GPUs it is one more way to
// copy. The bench takes the fastest copy. p.n is the number of texels.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "abi.h"
#include "common/index.glsl"

layout(binding = 0, rgba32ui) uniform readonly restrict uimageBuffer src;
layout(binding = 1, rgba32ui) uniform writeonly restrict uimageBuffer dst;
layout(push_constant) uniform Params { peak_params p; };

void main()
{
	uint i = flat_index();
	if (i < p.n) imageStore(dst, int(i), imageLoad(src, int(i)));
}
