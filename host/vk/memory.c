/* Device memory: buffers carved out of large blocks, and synchronous host<->device copies.
 *
 * note: Vulkan allocations are few and slow (maxMemoryAllocationCount can be 4096), so buffers
 * are sub-allocated from blocks of BLOCK_SIZE with a first-fit free list that merges neighbours
 * on free. A buffer of half a block or more gets a block of its own. Host-visible blocks stay
 * mapped for their whole life. Splitting a tensor larger than one allocation or one storage
 * buffer range is the model loader's job; here such a request is refused with the limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

#define BLOCK_SIZE (64ull << 20)
#define STAGING_SIZE (16ull << 20)

struct free_range {
	VkDeviceSize offset, size;
};

struct gpu_block {
	struct gpu_block *next;
	VkDeviceMemory memory;
	VkDeviceSize size;
	uint32_t type_index;
	void *mapped;
	bool dedicated;
	uint32_t n_live;         /* buffers alive in this block */
	struct free_range *free; /* sorted by offset */
	uint32_t n_free, cap_free;
};

static uint32_t wanted_flags(const struct gpu *g, enum gpu_mem kind, bool *strict)
{
	*strict = false;
	switch (kind) {
	case GPU_MEM_DEVICE:
		/* On UMA devices (integrated GPUs, lavapipe) device memory is host memory: ask for it
		 * mapped so that uploads need no staging copy. */
		if (g->profile.uma)
			return VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
			       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
		return VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
	case GPU_MEM_UPLOAD:
		*strict = true;
		return VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	case GPU_MEM_READBACK:
		*strict = true;
		return VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	}
	return 0;
}

/* The first type allowed by `bits` with all of `flags` (and for readback preferably cached);
 * for non-strict kinds, fall back to fewer flags rather than fail. */
static int memory_type(const struct gpu *g, uint32_t bits, enum gpu_mem kind, uint32_t *out)
{
	bool strict;
	uint32_t want = wanted_flags(g, kind, &strict);
	const VkPhysicalDeviceMemoryProperties *mp = &g->mem_props;
	for (int pass = 0; pass < 3; pass++) {
		uint32_t need = want;
		if (pass == 0 && kind == GPU_MEM_READBACK) need |= VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
		if (pass == 0 && kind != GPU_MEM_READBACK) continue;
		if (pass == 2) {
			if (strict) break;
			need = want & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
		}
		for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
			if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & need) == need) {
				*out = i;
				return VKLLM_OK;
			}
	}
	return fail(VKLLM_E_UNSUPPORTED, "device %s has no memory type with flags 0x%x for this buffer (allowed types 0x%x)",
	            g->profile.name, want, bits);
}

static int block_create(struct gpu *g, struct gpu_block **out, VkDeviceSize size, uint32_t type_index,
                        bool dedicated, const char *name)
{
	struct gpu_block *b = calloc(1, sizeof *b);
	if (!b) return fail(VKLLM_E_NOMEM, "out of host memory");
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = size,
		.memoryTypeIndex = type_index,
	};
	VkResult r = g->vk.vkAllocateMemory(g->device, &ai, NULL, &b->memory);
	if (r != VK_SUCCESS) {
		free(b);
		int st = gpu_fail(g, r, "vkAllocateMemory", __FILE__, __LINE__);
		uint32_t heap = g->mem_props.memoryTypes[type_index].heapIndex;
		return fail(st, "allocating %.1f MiB for buffer '%s' (heap %u of %.1f GiB): %s", size / 1048576.0,
		            name ? name : "?", heap, g->mem_props.memoryHeaps[heap].size / 1073741824.0, vkllm_error());
	}
	if (g->mem_props.memoryTypes[type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
		r = g->vk.vkMapMemory(g->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
		if (r != VK_SUCCESS) {
			g->vk.vkFreeMemory(g->device, b->memory, NULL);
			free(b);
			return gpu_fail(g, r, "vkMapMemory", __FILE__, __LINE__);
		}
	}
	b->size = size;
	b->type_index = type_index;
	b->dedicated = dedicated;
	b->cap_free = 8;
	b->free = malloc(b->cap_free * sizeof *b->free);
	if (!b->free) {
		g->vk.vkFreeMemory(g->device, b->memory, NULL);
		free(b);
		return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	b->free[0] = (struct free_range){0, size};
	b->n_free = 1;
	b->next = g->blocks;
	g->blocks = b;
	*out = b;
	return VKLLM_OK;
}

static void block_destroy(struct gpu *g, struct gpu_block *b)
{
	struct gpu_block **pp = &g->blocks;
	while (*pp && *pp != b) pp = &(*pp)->next;
	if (*pp) *pp = b->next;
	if (b->mapped) g->vk.vkUnmapMemory(g->device, b->memory);
	g->vk.vkFreeMemory(g->device, b->memory, NULL);
	free(b->free);
	free(b);
}

static bool free_list_grow(struct gpu_block *b)
{
	if (b->n_free < b->cap_free) return true;
	struct free_range *nf = realloc(b->free, 2 * b->cap_free * sizeof *nf);
	if (!nf) return false;
	b->free = nf, b->cap_free *= 2;
	return true;
}

/* First fit: returns the aligned offset, or UINT64_MAX when nothing fits. The alignment gap in
 * front of the buffer stays free as a range of its own. */
static VkDeviceSize block_take(struct gpu_block *b, VkDeviceSize size, VkDeviceSize align)
{
	for (uint32_t i = 0; i < b->n_free; i++) {
		VkDeviceSize f_begin = b->free[i].offset, f_end = f_begin + b->free[i].size;
		VkDeviceSize start = (f_begin + align - 1) / align * align;
		if (start + size > f_end) continue;
		VkDeviceSize end = start + size;
		bool keep_gap = start > f_begin, keep_tail = end < f_end;
		if (keep_gap && keep_tail) {
			if (!free_list_grow(b)) return UINT64_MAX;
			memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
			b->n_free++;
			b->free[i] = (struct free_range){f_begin, start - f_begin};
			b->free[i + 1] = (struct free_range){end, f_end - end};
		} else if (keep_gap) {
			b->free[i] = (struct free_range){f_begin, start - f_begin};
		} else if (keep_tail) {
			b->free[i] = (struct free_range){end, f_end - end};
		} else {
			memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
			b->n_free--;
		}
		return start;
	}
	return UINT64_MAX;
}

/* Returns a range to the free list and merges it with its neighbours. */
static int block_give(struct gpu_block *b, VkDeviceSize offset, VkDeviceSize size)
{
	uint32_t i = 0;
	while (i < b->n_free && b->free[i].offset < offset) i++;
	bool merge_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
	bool merge_next = i < b->n_free && offset + size == b->free[i].offset;
	if (merge_prev && merge_next) {
		b->free[i - 1].size += size + b->free[i].size;
		memmove(&b->free[i], &b->free[i + 1], (--b->n_free - i) * sizeof *b->free);
	} else if (merge_prev) {
		b->free[i - 1].size += size;
	} else if (merge_next) {
		b->free[i].offset = offset, b->free[i].size += size;
	} else {
		if (!free_list_grow(b)) return VKLLM_E_NOMEM; /* the range leaks until the block is freed */
		memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
		b->free[i] = (struct free_range){offset, size};
		b->n_free++;
	}
	return VKLLM_OK;
}

int gpu_buffer_create(struct gpu *g, struct gpu_buffer *out, VkDeviceSize size, enum gpu_mem kind, const char *name)
{
	memset(out, 0, sizeof *out);
	out->name = name;
	const struct gpu_profile *p = &g->profile;
	if (g->lost) return fail(VKLLM_E_DEVICE_LOST, "device lost: cannot create buffer '%s'", name ? name : "?");
	if (size == 0) return fail(VKLLM_E_ARG, "buffer '%s': size 0", name ? name : "?");
	if (size > p->max_allocation_size || (p->max_buffer_size && size > p->max_buffer_size))
		return fail(VKLLM_E_UNSUPPORTED,
		            "buffer '%s': %llu bytes is more than device %s allows in one allocation (%llu) or buffer (%llu)",
		            name ? name : "?", (unsigned long long)size, p->name, (unsigned long long)p->max_allocation_size,
		            (unsigned long long)p->max_buffer_size);

	VkBufferCreateInfo bci = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.size = size,
		/* every buffer may also be bound as a storage texel buffer (vk/record.c makes the view) */
		.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
		         VK_BUFFER_USAGE_TRANSFER_DST_BIT |
		         (p->texel_buffers ? VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT : 0),
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	GPU_TRY(g, g->vk.vkCreateBuffer(g->device, &bci, NULL, &out->buffer));
	VkMemoryRequirements req;
	g->vk.vkGetBufferMemoryRequirements(g->device, out->buffer, &req);
	uint32_t type_index = 0;
	int st = memory_type(g, req.memoryTypeBits, kind, &type_index);
	/* Bind at an offset aligned for both the buffer and storage-buffer views. */
	VkDeviceSize align = req.alignment > p->min_storage_offset_alignment ? req.alignment : p->min_storage_offset_alignment;

	struct gpu_block *b = NULL;
	VkDeviceSize offset = UINT64_MAX;
	if (st == VKLLM_OK && req.size < BLOCK_SIZE / 2) {
		for (b = g->blocks; b; b = b->next) {
			if (b->dedicated || b->type_index != type_index) continue;
			offset = block_take(b, req.size, align);
			if (offset != UINT64_MAX) break;
		}
		if (!b) {
			VkDeviceSize bs = BLOCK_SIZE < p->max_allocation_size ? BLOCK_SIZE : p->max_allocation_size;
			st = block_create(g, &b, bs, type_index, false, name);
			if (st == VKLLM_OK) offset = block_take(b, req.size, align);
		}
	} else if (st == VKLLM_OK) {
		st = block_create(g, &b, req.size, type_index, true, name);
		if (st == VKLLM_OK) offset = block_take(b, req.size, align);
	}
	if (st == VKLLM_OK && offset == UINT64_MAX) st = fail(VKLLM_E_NOMEM, "out of host memory tracking buffers");
	if (st == VKLLM_OK) {
		VkResult r = g->vk.vkBindBufferMemory(g->device, out->buffer, b->memory, offset);
		if (r != VK_SUCCESS) {
			block_give(b, offset, req.size);
			st = gpu_fail(g, r, "vkBindBufferMemory", __FILE__, __LINE__);
		}
	}
	if (st != VKLLM_OK) {
		if (b && b->n_live == 0 && b->n_free == 1 && b->free[0].size == b->size) block_destroy(g, b);
		g->vk.vkDestroyBuffer(g->device, out->buffer, NULL);
		out->buffer = VK_NULL_HANDLE;
		return st;
	}
	b->n_live++;
	out->block = b;
	out->offset = offset;
	out->size = size;
	out->mapped = b->mapped ? (char *)b->mapped + offset : NULL;
	return VKLLM_OK;
}

void gpu_buffer_destroy(struct gpu *g, struct gpu_buffer *buf)
{
	if (!buf || !buf->buffer) return;
	VkMemoryRequirements req;
	g->vk.vkGetBufferMemoryRequirements(g->device, buf->buffer, &req);
	g->vk.vkDestroyBuffer(g->device, buf->buffer, NULL);
	struct gpu_block *b = buf->block;
	block_give(b, buf->offset, req.size);
	/* Keep one empty shared block around for reuse; free dedicated ones at once. */
	if (--b->n_live == 0 && b->dedicated) block_destroy(g, b);
	memset(buf, 0, sizeof *buf);
}

uint64_t gpu_memory_allocated(const struct gpu *g)
{
	uint64_t total = 0;
	for (const struct gpu_block *b = g->blocks; b; b = b->next) total += b->size;
	return total;
}

void gpu_memory_release_all(struct gpu *g)
{
	while (g->blocks) block_destroy(g, g->blocks);
}

/* ---- synchronous copies through staging ---- */

static int staging_get(struct gpu *g)
{
	if (g->staging) return VKLLM_OK;
	g->staging = calloc(1, sizeof *g->staging);
	if (!g->staging) return fail(VKLLM_E_NOMEM, "out of host memory");
	int st = gpu_buffer_create(g, g->staging, STAGING_SIZE, GPU_MEM_READBACK, "staging");
	if (st != VKLLM_OK) {
		free(g->staging);
		g->staging = NULL;
	}
	return st;
}

static int copy_and_wait(struct gpu *g, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                         VkDeviceSize n)
{
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	GPU_TRY(g, g->vk.vkBeginCommandBuffer(g->xfer_cmd, &bi));
	/* Order the copy after earlier submissions' shader work and make it visible to later ones. */
	VkMemoryBarrier before = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
	};
	g->vk.vkCmdPipelineBarrier(g->xfer_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
	                           VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
	VkBufferCopy region = {src_off, dst_off, n};
	g->vk.vkCmdCopyBuffer(g->xfer_cmd, src, dst, 1, &region);
	VkMemoryBarrier after = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT,
	};
	g->vk.vkCmdPipelineBarrier(g->xfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
	                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0,
	                           NULL, 0, NULL);
	GPU_TRY(g, g->vk.vkEndCommandBuffer(g->xfer_cmd));
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.commandBufferCount = 1,
		.pCommandBuffers = &g->xfer_cmd,
	};
	GPU_TRY(g, g->vk.vkQueueSubmit(g->queue, 1, &si, g->xfer_fence));
	GPU_TRY(g, g->vk.vkWaitForFences(g->device, 1, &g->xfer_fence, VK_TRUE, g->timeout_ns));
	GPU_TRY(g, g->vk.vkResetFences(g->device, 1, &g->xfer_fence));
	return VKLLM_OK;
}

static int check_range(const struct gpu_buffer *b, VkDeviceSize off, VkDeviceSize n, const char *what)
{
	if (off > b->size || n > b->size - off)
		return fail(VKLLM_E_ARG, "%s buffer '%s': offset %llu + size %llu past its end (%llu)", what,
		            b->name ? b->name : "?", (unsigned long long)off, (unsigned long long)n,
		            (unsigned long long)b->size);
	return VKLLM_OK;
}

int gpu_upload(struct gpu *g, struct gpu_buffer *dst, VkDeviceSize dst_offset, const void *src, VkDeviceSize size)
{
	TRY(check_range(dst, dst_offset, size, "upload to"));
	if (g->lost) return fail(VKLLM_E_DEVICE_LOST, "device lost: cannot upload");
	if (dst->mapped) {
		memcpy((char *)dst->mapped + dst_offset, src, size);
		return VKLLM_OK;
	}
	TRY(staging_get(g));
	for (VkDeviceSize done = 0; done < size;) {
		VkDeviceSize n = size - done < STAGING_SIZE ? size - done : STAGING_SIZE;
		memcpy(g->staging->mapped, (const char *)src + done, n);
		TRY(copy_and_wait(g, g->staging->buffer, 0, dst->buffer, dst_offset + done, n));
		done += n;
	}
	return VKLLM_OK;
}

int gpu_download(struct gpu *g, void *dst, const struct gpu_buffer *src, VkDeviceSize src_offset, VkDeviceSize size)
{
	TRY(check_range(src, src_offset, size, "download from"));
	if (g->lost) return fail(VKLLM_E_DEVICE_LOST, "device lost: cannot download");
	if (src->mapped) {
		memcpy(dst, (const char *)src->mapped + src_offset, size);
		return VKLLM_OK;
	}
	TRY(staging_get(g));
	for (VkDeviceSize done = 0; done < size;) {
		VkDeviceSize n = size - done < STAGING_SIZE ? size - done : STAGING_SIZE;
		TRY(copy_and_wait(g, src->buffer, src_offset + done, g->staging->buffer, 0, n));
		memcpy((char *)dst + done, g->staging->mapped, n);
		done += n;
	}
	return VKLLM_OK;
}
