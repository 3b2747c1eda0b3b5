/* Recording command buffers: dispatches with their descriptors, the barriers between dependent
 * dispatches, submission, and GPU timestamps.
 *
 * note: a recording is made once and submitted many times (DESIGN.md: never re-record per
 * token), so descriptor sets are allocated here, at record time, from pools the recording owns.
 * Barriers are derived, not written by callers: each dispatch's bindings are classified as read
 * or written by reflection (NonWritable), and a dispatch that touches a range written since the
 * last barrier, or writes a range read since then, gets a full compute->compute barrier first. */
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

#define SETS_PER_POOL 256

static int pool_add(struct gpu_rec *rec)
{
	struct gpu *g = rec->g;
	if (rec->n_pools == rec->cap_pools) {
		uint32_t cap = rec->cap_pools ? 2 * rec->cap_pools : 4;
		VkDescriptorPool *np = realloc(rec->pools, cap * sizeof *np);
		if (!np) return fail(VKLLM_E_NOMEM, "out of host memory");
		rec->pools = np, rec->cap_pools = cap;
	}
	VkDescriptorPoolSize sizes[] = {
		{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * GPU_MAX_BINDINGS},
		{VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, SETS_PER_POOL * 2},
	};
	VkDescriptorPoolCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
		.maxSets = SETS_PER_POOL,
		.poolSizeCount = g->profile.texel_buffers ? 2 : 1,
		.pPoolSizes = sizes,
	};
	GPU_TRY(g, g->vk.vkCreateDescriptorPool(g->device, &ci, NULL, &rec->pools[rec->n_pools]));
	rec->n_pools++;
	return VKLLM_OK;
}

static int set_alloc(struct gpu_rec *rec, VkDescriptorSetLayout layout, VkDescriptorSet *out)
{
	struct gpu *g = rec->g;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (rec->n_pools == 0 || attempt == 1) TRY(pool_add(rec));
		VkDescriptorSetAllocateInfo ai = {
			.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
			.descriptorPool = rec->pools[rec->n_pools - 1],
			.descriptorSetCount = 1,
			.pSetLayouts = &layout,
		};
		VkResult r = g->vk.vkAllocateDescriptorSets(g->device, &ai, out);
		if (r == VK_SUCCESS) return VKLLM_OK;
		if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
			return gpu_fail(g, r, "vkAllocateDescriptorSets", __FILE__, __LINE__);
	}
	return fail(VKLLM_E_VULKAN, "vkAllocateDescriptorSets failed on a fresh pool");
}

int gpu_rec_begin(struct gpu *g, struct gpu_rec *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->g = g;
	if (g->lost) return fail(VKLLM_E_DEVICE_LOST, "device lost: cannot record");
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = g->cmd_pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	GPU_TRY(g, g->vk.vkAllocateCommandBuffers(g->device, &ai, &rec->cmd));
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	GPU_TRY(g, g->vk.vkCreateFence(g->device, &fci, NULL, &rec->fence));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO}; /* replayable */
	GPU_TRY(g, g->vk.vkBeginCommandBuffer(rec->cmd, &bi));
	rec->recording = true;
	/* Earlier submissions (and the previous replay of this one) wrote buffers we may read. */
	VkMemoryBarrier mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
	};
	g->vk.vkCmdPipelineBarrier(rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
	                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
	return VKLLM_OK;
}

void gpu_barrier(struct gpu_rec *rec)
{
	VkMemoryBarrier mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
	};
	rec->g->vk.vkCmdPipelineBarrier(rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
	                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
	rec->n_reads = rec->n_writes = 0;
	rec->n_barriers++;
}

static bool overlaps(const struct gpu_range *set, uint32_t n, const struct gpu_range *r)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i].buffer == r->buffer && set[i].begin < r->end && r->begin < set[i].end) return true;
	return false;
}

static int range_add(struct gpu_range **set, uint32_t *n, uint32_t *cap, struct gpu_range r)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? 2 * *cap : 16;
		struct gpu_range *ns = realloc(*set, nc * sizeof *ns);
		if (!ns) return fail(VKLLM_E_NOMEM, "out of host memory");
		*set = ns, *cap = nc;
	}
	(*set)[(*n)++] = r;
	return VKLLM_OK;
}

static uint32_t texel_bytes(VkFormat f)
{
	return f == VK_FORMAT_R32G32B32A32_UINT ? 16 : f == VK_FORMAT_R32G32_UINT ? 8 : 4;
}

/* A buffer view over a storage texel buffer binding's range (whole texels: a tail shorter than
 * one texel is not addressable), kept until the recording is destroyed. */
static int texel_view_make(struct gpu_rec *rec, VkFormat format, const struct gpu_range *r, VkBufferView *out)
{
	struct gpu *g = rec->g;
	if (rec->n_texel_views == rec->cap_texel_views) {
		uint32_t cap = rec->cap_texel_views ? 2 * rec->cap_texel_views : 16;
		VkBufferView *nv = realloc(rec->texel_views, cap * sizeof *nv);
		if (!nv) return fail(VKLLM_E_NOMEM, "out of host memory");
		rec->texel_views = nv, rec->cap_texel_views = cap;
	}
	uint32_t texel = texel_bytes(format);
	VkBufferViewCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
		.buffer = r->buffer,
		.format = format,
		.offset = r->begin,
		.range = (r->end - r->begin) / texel * texel,
	};
	GPU_TRY(g, g->vk.vkCreateBufferView(g->device, &ci, NULL, out));
	rec->texel_views[rec->n_texel_views++] = *out;
	return VKLLM_OK;
}

/* A view must be aligned and inside both its buffer and the device's storage-buffer range. */
static int view_range(const struct gpu *g, const struct gpu_pipeline *p, uint32_t b, const struct gpu_view *v,
                      struct gpu_range *out)
{
	if (!v->buf || !v->buf->buffer) return fail(VKLLM_E_ARG, "%s: binding %u has no buffer", p->name, b);
	VkDeviceSize size = v->size ? v->size : v->buf->size - v->offset;
	const char *name = v->buf->name ? v->buf->name : "?";
	if (v->offset > v->buf->size || size > v->buf->size - v->offset)
		return fail(VKLLM_E_ARG, "%s: binding %u view of '%s' at offset %llu + %llu bytes past its end (%llu)", p->name,
		            b, name, (unsigned long long)v->offset, (unsigned long long)size, (unsigned long long)v->buf->size);
	if (p->refl.texel_mask & (1u << b)) {
		/* a storage texel buffer: its own alignment and its own limit, in whole texels */
		uint32_t texel = texel_bytes(p->refl.texel_format[b]);
		if (v->offset % g->profile.min_texel_offset_alignment || v->offset % texel)
			return fail(VKLLM_E_ARG, "%s: binding %u texel view of '%s' at offset %llu is not aligned to %u", p->name, b,
			            name, (unsigned long long)v->offset, g->profile.min_texel_offset_alignment);
		if (size < texel || size / texel > g->profile.max_texel_buffer_elements)
			return fail(VKLLM_E_UNSUPPORTED, "%s: binding %u texel view of '%s' is %llu bytes, device %s binds 1 to %llu texels",
			            p->name, b, name, (unsigned long long)size, g->profile.name,
			            (unsigned long long)g->profile.max_texel_buffer_elements);
		*out = (struct gpu_range){v->buf->buffer, v->offset, v->offset + size};
		return VKLLM_OK;
	}
	if (v->offset % g->profile.min_storage_offset_alignment)
		return fail(VKLLM_E_ARG, "%s: binding %u view of '%s' at offset %llu is not a multiple of %u", p->name, b, name,
		            (unsigned long long)v->offset, g->profile.min_storage_offset_alignment);
	if (size > g->profile.max_storage_buffer_range)
		return fail(VKLLM_E_UNSUPPORTED, "%s: binding %u view of '%s' is %llu bytes, device %s binds at most %llu",
		            p->name, b, name, (unsigned long long)size, g->profile.name,
		            (unsigned long long)g->profile.max_storage_buffer_range);
	*out = (struct gpu_range){v->buf->buffer, v->offset, v->offset + size};
	return VKLLM_OK;
}

int gpu_dispatch(struct gpu_rec *rec, const struct gpu_pipeline *p, const struct gpu_view *views, uint32_t n_views,
                 const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz)
{
	struct gpu *g = rec->g;
	CHECK(rec->recording);
	CHECK(n_views == p->refl.n_bindings);
	CHECK(push_size == p->refl.push_size);
	const uint32_t *max = g->profile.max_workgroup_count;
	if (gx == 0 || gy == 0 || gz == 0 || gx > max[0] || gy > max[1] || gz > max[2])
		return fail(VKLLM_E_ARG, "%s: %u x %u x %u workgroups, device allows up to %u x %u x %u", p->name, gx, gy, gz,
		            max[0], max[1], max[2]);

	struct gpu_range ranges[GPU_MAX_BINDINGS];
	bool hazard = false;
	for (uint32_t b = 0; b < n_views; b++) {
		TRY(view_range(g, p, b, &views[b], &ranges[b]));
		bool writes = p->refl.writable_mask & (1u << b);
		if (overlaps(rec->writes, rec->n_writes, &ranges[b])) hazard = true;                 /* RAW, WAW */
		if (writes && overlaps(rec->reads, rec->n_reads, &ranges[b])) hazard = true;         /* WAR */
	}
	if (hazard) gpu_barrier(rec);

	VkDescriptorSet set;
	TRY(set_alloc(rec, p->set_layout, &set));
	VkDescriptorBufferInfo infos[GPU_MAX_BINDINGS];
	VkBufferView texel_views[GPU_MAX_BINDINGS];
	VkWriteDescriptorSet writes[GPU_MAX_BINDINGS];
	for (uint32_t b = 0; b < n_views; b++) {
		writes[b] = (VkWriteDescriptorSet){
			.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
			.dstSet = set,
			.dstBinding = b,
			.descriptorCount = 1,
		};
		if (p->refl.texel_mask & (1u << b)) {
			TRY(texel_view_make(rec, p->refl.texel_format[b], &ranges[b], &texel_views[b]));
			writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
			writes[b].pTexelBufferView = &texel_views[b];
		} else {
			infos[b] = (VkDescriptorBufferInfo){ranges[b].buffer, ranges[b].begin, ranges[b].end - ranges[b].begin};
			writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
			writes[b].pBufferInfo = &infos[b];
		}
	}
	g->vk.vkUpdateDescriptorSets(g->device, n_views, writes, 0, NULL);
	g->vk.vkCmdBindPipeline(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
	g->vk.vkCmdBindDescriptorSets(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
	if (push_size) g->vk.vkCmdPushConstants(rec->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
	g->vk.vkCmdDispatch(rec->cmd, gx, gy, gz);
	rec->n_dispatches++;
	uint64_t hinted = rec->next_bytes; /* the hint covers this dispatch only */
	rec->next_bytes = 0;
	if (rec->prof.pool && rec->n_prof + 1 < rec->prof.capacity) {
		rec->prof_bytes[rec->n_prof] = hinted;
		rec->prof_names[rec->n_prof++] = p->name;
		g->vk.vkCmdWriteTimestamp(rec->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->prof.pool, rec->n_prof);
	}

	for (uint32_t b = 0; b < n_views; b++) {
		if (p->refl.writable_mask & (1u << b))
			TRY(range_add(&rec->writes, &rec->n_writes, &rec->cap_writes, ranges[b]));
		else
			TRY(range_add(&rec->reads, &rec->n_reads, &rec->cap_reads, ranges[b]));
	}
	return VKLLM_OK;
}

int gpu_rec_end(struct gpu_rec *rec)
{
	struct gpu *g = rec->g;
	CHECK(rec->recording);
	/* Results become visible to the host (mapped reads) and to transfers (staged downloads). */
	VkMemoryBarrier mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
	};
	g->vk.vkCmdPipelineBarrier(rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
	                           VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
	rec->recording = false;
	GPU_TRY(g, g->vk.vkEndCommandBuffer(rec->cmd));
	return VKLLM_OK;
}

int gpu_recs_submit_wait(struct gpu_rec *const *recs, uint32_t n)
{
	if (n == 0) return VKLLM_OK;
	struct gpu *g = recs[0]->g;
	VkCommandBuffer stack[64], *cmds = n <= 64 ? stack : malloc(n * sizeof *cmds);
	if (!cmds) return fail(VKLLM_E_NOMEM, "out of host memory");
	uint32_t dispatches = 0;
	for (uint32_t i = 0; i < n; i++) {
		CHECK(!recs[i]->recording && recs[i]->g == g);
		cmds[i] = recs[i]->cmd;
		dispatches += recs[i]->n_dispatches;
	}
	int st = VKLLM_OK;
	if (g->lost) st = fail(VKLLM_E_DEVICE_LOST, "device lost: cannot submit");
	VkFence fence = recs[0]->fence;
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.commandBufferCount = n,
		.pCommandBuffers = cmds,
	};
	VkResult r = VK_SUCCESS;
	if (st == VKLLM_OK) {
		r = g->vk.vkQueueSubmit(g->queue, 1, &si, fence);
		if (r != VK_SUCCESS) st = gpu_fail(g, r, "vkQueueSubmit", __FILE__, __LINE__);
	}
	if (cmds != stack) free(cmds);
	if (st) return st;
	r = g->vk.vkWaitForFences(g->device, 1, &fence, VK_TRUE, g->timeout_ns);
	if (r == VK_TIMEOUT) {
		/* The GPU is still busy with our buffers: nothing may be freed or reused safely. */
		g->lost = true;
		return fail(VKLLM_E_TIMEOUT, "GPU work did not finish within %llu s (%u dispatches); the device is unusable",
		            (unsigned long long)(g->timeout_ns / 1000000000ull), dispatches);
	}
	if (r != VK_SUCCESS) return gpu_fail(g, r, "vkWaitForFences", __FILE__, __LINE__);
	GPU_TRY(g, g->vk.vkResetFences(g->device, 1, &fence));
	return VKLLM_OK;
}

int gpu_rec_submit_wait(struct gpu_rec *rec)
{
	struct gpu_rec *one[] = {rec};
	return gpu_recs_submit_wait(one, 1);
}

int gpu_rec_begin_profiled(struct gpu *g, struct gpu_rec *rec, uint32_t max_dispatches)
{
	TRY(gpu_rec_begin(g, rec));
	rec->prof_names = calloc(max_dispatches + 1, sizeof *rec->prof_names);
	rec->prof_bytes = calloc(max_dispatches + 1, sizeof *rec->prof_bytes);
	if (!rec->prof_names || !rec->prof_bytes) return fail(VKLLM_E_NOMEM, "out of host memory");
	TRY(gpu_timer_create(g, &rec->prof, max_dispatches + 1));
	gpu_timer_reset(rec, &rec->prof);
	g->vk.vkCmdWriteTimestamp(rec->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->prof.pool, 0);
	return VKLLM_OK;
}

int gpu_rec_profile(struct gpu_rec *rec, double *ns, const char **names, uint64_t *bytes, uint32_t *n)
{
	*n = 0;
	if (!rec->prof.pool) return VKLLM_OK;
	for (uint32_t i = 0; i < rec->n_prof; i++) {
		TRY(gpu_timer_elapsed_ns(rec->g, &rec->prof, i, i + 1, &ns[i]));
		names[i] = rec->prof_names[i];
		bytes[i] = rec->prof_bytes[i];
	}
	*n = rec->n_prof;
	return VKLLM_OK;
}

void gpu_rec_destroy(struct gpu_rec *rec)
{
	struct gpu *g = rec->g;
	if (!g) return;
	gpu_timer_destroy(g, &rec->prof);
	free(rec->prof_names);
	free(rec->prof_bytes);
	if (g->device) {
		for (uint32_t i = 0; i < rec->n_pools; i++) g->vk.vkDestroyDescriptorPool(g->device, rec->pools[i], NULL);
		for (uint32_t i = 0; i < rec->n_texel_views; i++) g->vk.vkDestroyBufferView(g->device, rec->texel_views[i], NULL);
		if (rec->fence) g->vk.vkDestroyFence(g->device, rec->fence, NULL);
		if (rec->cmd) g->vk.vkFreeCommandBuffers(g->device, g->cmd_pool, 1, &rec->cmd);
	}
	free(rec->pools);
	free(rec->texel_views);
	free(rec->reads);
	free(rec->writes);
	memset(rec, 0, sizeof *rec);
}

void gpu_groups_1d(const struct gpu *g, uint64_t n_groups, uint32_t *gx, uint32_t *gy)
{
	uint64_t max_x = g->profile.max_workgroup_count[0];
	if (n_groups == 0) n_groups = 1;
	if (n_groups <= max_x) {
		*gx = (uint32_t)n_groups, *gy = 1;
		return;
	}
	*gy = (uint32_t)((n_groups + max_x - 1) / max_x);
	*gx = (uint32_t)((n_groups + *gy - 1) / *gy); /* the last row may be partial: shaders check bounds */
}

/* ---- timestamps ---- */

int gpu_timer_create(struct gpu *g, struct gpu_timer *t, uint32_t capacity)
{
	memset(t, 0, sizeof *t);
	if (g->profile.timestamp_valid_bits == 0)
		return fail(VKLLM_E_UNSUPPORTED, "device %s has no timestamps on its compute queue", g->profile.name);
	VkQueryPoolCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
		.queryType = VK_QUERY_TYPE_TIMESTAMP,
		.queryCount = capacity,
	};
	GPU_TRY(g, g->vk.vkCreateQueryPool(g->device, &ci, NULL, &t->pool));
	t->capacity = capacity;
	return VKLLM_OK;
}

void gpu_timer_destroy(struct gpu *g, struct gpu_timer *t)
{
	if (t->pool && g->device) g->vk.vkDestroyQueryPool(g->device, t->pool, NULL);
	memset(t, 0, sizeof *t);
}

void gpu_timer_reset(struct gpu_rec *rec, struct gpu_timer *t)
{
	rec->g->vk.vkCmdResetQueryPool(rec->cmd, t->pool, 0, t->capacity);
}

void gpu_timestamp(struct gpu_rec *rec, struct gpu_timer *t, uint32_t index)
{
	CHECK(index < t->capacity);
	rec->g->vk.vkCmdWriteTimestamp(rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, t->pool, index);
}

int gpu_timer_elapsed_ns(struct gpu *g, const struct gpu_timer *t, uint32_t from, uint32_t to, double *ns)
{
	CHECK(from < t->capacity && to < t->capacity);
	uint64_t a, b;
	GPU_TRY(g, g->vk.vkGetQueryPoolResults(g->device, t->pool, from, 1, sizeof a, &a, sizeof a,
	                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
	GPU_TRY(g, g->vk.vkGetQueryPoolResults(g->device, t->pool, to, 1, sizeof b, &b, sizeof b,
	                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
	uint32_t bits = g->profile.timestamp_valid_bits;
	uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
	*ns = (double)((b - a) & mask) * g->profile.timestamp_period;
	return VKLLM_OK;
}
