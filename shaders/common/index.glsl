// The workgroup size as a value: specialization constant 0, the same id that sets
// local_size_x (abi.h). note: do not use gl_WorkGroupSize.x for it: spirv-opt 2023.1 folds the
// extraction from the spec-constant composite to its default (1), silently breaking indexing.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP_SIZE = 64;

// Flat invocation index of a 1-D grid folded into x and y (see abi.h).
uint flat_index()
{
	uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	return group * WORKGROUP_SIZE + gl_LocalInvocationID.x;
}
