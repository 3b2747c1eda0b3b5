/* The internal GPU layer: one Vulkan device, its profile, buffers, pipelines, recordings, timers.
 *
 * Everything here goes through volk: instance functions are global (volkLoadInstanceOnly), device
 * functions go through the per-device table `g->vk` so that two devices can live in one process.
 * Every Vulkan call is checked with GPU_TRY, which maps the VkResult to a vkllm status and leaves a
 * message naming the call, the file and the line. Ops (host/ops/) sit on top of this layer. */
#ifndef VKLLM_GPU_H
#define VKLLM_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <volk.h>

#include "../base/status.h"
#include "shaders.h" /* generated: enum shader_id and the embedded SPIR-V table */

/* ---- device profile ---- */

/* One VK_KHR_cooperative_matrix configuration: D(MxN) = A(MxK) * B(KxN) + C. Component types
 * use VkComponentTypeKHR numbering (0 f16, 1 f32, 3 s8, 5 s32, 7 u8, 9 u32). */
struct gpu_coopmat_shape {
	uint32_t m, n, k;
	uint32_t a_type, b_type, c_type, result_type;
	uint32_t saturating;
	uint32_t scope; /* VkScopeKHR: 3 = subgroup */
};

/* A subgroup-scope shape multiplying ab_type operands into sum_type sums (VkComponentTypeKHR:
 * f16 0 into f32 1, s8 3 into s32 5), with every size set. */
static inline bool gpu_coopmat_shape_is(const struct gpu_coopmat_shape *s, uint32_t ab_type, uint32_t sum_type)
{
	return s->scope == 3 && s->a_type == ab_type && s->b_type == ab_type && s->c_type == sum_type &&
	       s->result_type == sum_type && s->m && s->n && s->k;
}

struct gpu_heap {
	uint64_t size;
	uint64_t budget; /* VK_EXT_memory_budget's view of what this process may use; 0 when unknown */
	bool device_local;
};

/* Filled once per physical device (vk/profile.c). Tuning numbers reach shaders as specialization
 * constants taken from here; nothing vendor-specific hides inside a kernel. */
struct gpu_profile {
	char name[256];
	uint32_t vendor_id, device_id;
	const char *vendor;      /* "NVIDIA", "AMD", "Intel", "Mesa", ... */
	const char *type;        /* "discrete", "integrated", "virtual", "cpu", "other" */
	int type_rank;           /* preference order: 0 discrete, 1 integrated, 2 virtual, 3 cpu, 4 other */
	char driver_name[256];   /* VkPhysicalDeviceDriverProperties */
	char driver_info[256];
	uint32_t driver_id;
	uint32_t driver_version; /* raw */
	char driver_version_str[32]; /* decoded with the vendor's own scheme */
	uint32_t api_version;
	uint8_t pipeline_cache_uuid[16];

	uint32_t subgroup_size;
	uint32_t subgroup_min, subgroup_max;   /* VK_EXT_subgroup_size_control (core 1.3) */
	bool subgroup_size_control;            /* may set a required size on compute pipelines */
	bool compute_full_subgroups;
	uint32_t subgroup_ops;                 /* VkSubgroupFeatureFlags supported in compute */

	uint32_t max_shared_memory;
	uint32_t max_workgroup_size[3];
	uint32_t max_workgroup_invocations;
	uint32_t max_workgroup_count[3];
	uint32_t max_push_constants;
	uint32_t min_storage_offset_alignment;
	/* storage texel buffers (imageBuffer) viewed as r32ui, rg32ui and rgba32ui: llvmpipe loads
	 * them without a branch per lane (docs/matmul.md); required by Vulkan, checked all the same */
	bool texel_buffers;
	uint32_t min_texel_offset_alignment;
	uint64_t max_texel_buffer_elements;

	bool fp16;          /* shaderFloat16 arithmetic */
	bool memory_model;  /* vulkanMemoryModel (SPIR-V's Vulkan memory model: the coopmat shaders) */
	bool int8;          /* shaderInt8 arithmetic */
	bool int16, int64;
	bool storage16;     /* storageBuffer16BitAccess */
	bool storage8;      /* storageBuffer8BitAccess */
	bool integer_dot;   /* shaderIntegerDotProduct */
	bool int8_dot_accelerated; /* integerDotProduct4x8BitPackedSignedAccelerated */

	bool coopmat;       /* VK_KHR_cooperative_matrix */
	uint32_t n_coopmat;
	struct gpu_coopmat_shape *coopmat_shapes; /* n_coopmat entries, owned */

	uint32_t n_heaps;
	struct gpu_heap heaps[VK_MAX_MEMORY_HEAPS];
	bool uma;           /* every heap is device-local: host-visible memory is the device's own */

	uint64_t max_storage_buffer_range;
	uint64_t max_allocation_size;
	uint64_t max_buffer_size; /* maintenance4; 0 when the device does not say */

	float timestamp_period;      /* ns per tick */
	uint32_t timestamp_valid_bits; /* of the compute queue; 0 = no timestamps */

	bool memory_budget;  /* VK_EXT_memory_budget */

	bool usable;         /* meets vkllm's floor (Vulkan 1.2, a compute queue) */
	char unusable_reason[160];
};

/* ---- the device ---- */

struct gpu_options {
	int device_index;  /* -1: choose (VKLLM_DEVICE, then discrete > integrated > virtual > cpu) */
	bool validation;   /* enable VK_LAYER_KHRONOS_validation (+ sync validation); VKLLM_VALIDATION=1 too */
	bool quiet;        /* do not echo validation messages to stderr (they are still counted) */
};

struct gpu_block; /* a device memory allocation that buffers are carved from (vk/memory.c) */
struct gpu_pipeline;

struct gpu {
	VkInstance instance;
	VkDebugUtilsMessengerEXT messenger;
	VkPhysicalDevice phys;
	VkDevice device;
	struct VolkDeviceTable vk; /* device-level function pointers */
	VkQueue queue;
	uint32_t queue_family;
	VkCommandPool cmd_pool;
	int index;                 /* in enumeration order, as `vkllm devices` lists them */
	struct gpu_profile profile;
	VkPhysicalDeviceMemoryProperties mem_props;

	VkPipelineCache pipeline_cache;
	char pipeline_cache_path[1024]; /* "" when there is no cache directory */
	struct gpu_pipeline **pipelines; /* every pipeline made, looked up by (shader, spec) */
	uint32_t n_pipelines, cap_pipelines;

	struct gpu_block *blocks; /* linked list of memory blocks */

	/* synchronous transfers (upload/download through staging) */
	VkCommandBuffer xfer_cmd;
	VkFence xfer_fence;
	struct gpu_buffer *staging; /* lazily created, host-visible */

	uint64_t timeout_ns;   /* a fence wait longer than this is reported, not waited out */
	bool validation;
	bool quiet;
	uint32_t validation_messages; /* warnings + errors seen by the debug messenger */
	bool lost;                    /* device lost: every later call fails at once */
};

/* Loads the Vulkan loader once per process. VKLLM_VULKAN_LOADER names another library file
 * (used by tests to simulate a machine without a loader). */
int gpu_loader_init(void);

/* Every physical device with its profile, in enumeration order. The caller frees with
 * gpu_profiles_free. Creates and destroys its own instance. */
int gpu_enumerate(struct gpu_profile **out, uint32_t *n_out);
void gpu_profiles_free(struct gpu_profile *p, uint32_t n);

int gpu_create(struct gpu *g, const struct gpu_options *opt);
/* Saves the pipeline cache, frees everything; safe on a zeroed or half-created gpu. Returns
 * VKLLM_E_VALIDATION when validation was on and reported anything, else VKLLM_OK. */
int gpu_destroy(struct gpu *g);

/* Maps a failed VkResult to a status with a message; marks the device lost when it is. */
int gpu_fail(struct gpu *g, VkResult r, const char *call, const char *file, int line);
const char *gpu_result_name(VkResult r);

#define GPU_TRY(g, call)                                                            \
	do {                                                                            \
		VkResult r_ = (call);                                                       \
		if (r_ != VK_SUCCESS) return gpu_fail((g), r_, #call, __FILE__, __LINE__);  \
	} while (0)

/* ---- profile (vk/profile.c) ---- */

void gpu_profile_fill(struct gpu_profile *p, VkPhysicalDevice phys);
void gpu_profile_free(struct gpu_profile *p);
/* Whether the device is a CPU (lavapipe): ops pick their llvmpipe-shaped kernels and paths. */
bool gpu_is_cpu(const struct gpu *g);

/* ---- buffers (vk/memory.c) ---- */

enum gpu_mem {
	GPU_MEM_DEVICE,   /* device-local; on UMA devices also host-visible so uploads are a memcpy */
	GPU_MEM_UPLOAD,   /* host-visible, coherent: staging and small per-submit parameters */
	GPU_MEM_READBACK, /* host-visible, coherent, cached when possible: results read by the host */
};

struct gpu_buffer {
	VkBuffer buffer;
	VkDeviceSize size;
	void *mapped;            /* non-NULL when host-visible */
	struct gpu_block *block; /* the allocation this buffer lives in */
	VkDeviceSize offset;     /* inside block */
	const char *name;        /* for messages; not owned */
};

/* A buffer sub-allocated from a larger block; buffers of half a block or more get their own
 * allocation. Sizes beyond maxMemoryAllocationSize or maxBufferSize are refused with a message
 * (weights are split by the model loader, not here). */
int gpu_buffer_create(struct gpu *g, struct gpu_buffer *out, VkDeviceSize size, enum gpu_mem kind,
                      const char *name);
void gpu_buffer_destroy(struct gpu *g, struct gpu_buffer *b);
/* Copies host bytes into a buffer: a memcpy when mapped, else through staging. Synchronous. */
int gpu_upload(struct gpu *g, struct gpu_buffer *dst, VkDeviceSize dst_offset, const void *src,
               VkDeviceSize size);
/* Copies buffer bytes to the host: a memcpy when mapped, else through staging. Synchronous. */
int gpu_download(struct gpu *g, void *dst, const struct gpu_buffer *src, VkDeviceSize src_offset,
                 VkDeviceSize size);
/* Bytes of device memory allocated in blocks, for reports. */
uint64_t gpu_memory_allocated(const struct gpu *g);
void gpu_memory_release_all(struct gpu *g);

/* ---- pipelines (vk/pipeline.c, vk/reflect.c) ---- */

#define GPU_MAX_BINDINGS 16

/* What a SPIR-V module says about its interface (vk/reflect.c). */
struct gpu_reflection {
	uint32_t n_bindings;     /* storage buffers or storage texel buffers in set 0, bindings 0..n-1 */
	uint32_t writable_mask;  /* bit b: binding b is not NonWritable */
	uint32_t texel_mask;     /* bit b: binding b is a storage texel buffer (imageBuffer) */
	VkFormat texel_format[GPU_MAX_BINDINGS]; /* its view's format, from the shader's layout qualifier */
	uint32_t push_size;      /* bytes of the push-constant block; 0 when none */
	uint32_t n_spec;         /* specialization constant ids 0..n_spec-1 are declared */
};
int gpu_reflect(struct gpu_reflection *out, const uint32_t *words, size_t n_words, const char *name);

#define GPU_MAX_SPEC 16

/* Convention for every shader (shaders/abi.h): spec constant 0 is local_size_x. */
struct gpu_pipeline {
	enum shader_id shader;
	const char *name;
	uint32_t spec[GPU_MAX_SPEC];
	uint32_t n_spec;
	struct gpu_reflection refl;
	uint32_t local_size;     /* = spec[0] */
	VkDescriptorSetLayout set_layout;
	VkPipelineLayout layout;
	VkPipeline pipeline;
};

/* The pipeline for (shader, spec constants), created on first use with the pipeline cache and
 * kept for the device's lifetime. spec[0] is the workgroup size. */
int gpu_pipeline_get(struct gpu *g, const struct gpu_pipeline **out, enum shader_id shader,
                     const uint32_t *spec, uint32_t n_spec);
void gpu_pipelines_destroy(struct gpu *g);
int gpu_pipeline_cache_open(struct gpu *g);
int gpu_pipeline_cache_save(struct gpu *g);

/* ---- recording (vk/record.c) ---- */

/* A range of a buffer bound to a shader; size 0 means "to the end of the buffer". */
struct gpu_view {
	const struct gpu_buffer *buf;
	VkDeviceSize offset, size;
};

static inline struct gpu_view gpu_whole(const struct gpu_buffer *b)
{
	struct gpu_view v = {b, 0, b->size};
	return v;
}

struct gpu_range {
	VkBuffer buffer;
	VkDeviceSize begin, end;
};

struct gpu_timer {
	VkQueryPool pool;
	uint32_t capacity;
};

/* A command buffer recorded once and submitted as often as needed. Descriptor sets are
 * allocated at record time from pools the recording owns, never per submit. Barriers between
 * dependent dispatches are inserted by gpu_dispatch itself: it remembers which ranges were read
 * and written since the last barrier and puts one in front of any dispatch that would race. */
struct gpu_rec {
	struct gpu *g;
	VkCommandBuffer cmd;
	VkFence fence;
	VkDescriptorPool *pools;
	uint32_t n_pools, cap_pools;
	VkBufferView *texel_views; /* made for storage texel buffer bindings, freed with the recording */
	uint32_t n_texel_views, cap_texel_views;
	struct gpu_range *reads, *writes; /* since the last barrier */
	uint32_t n_reads, n_writes, cap_reads, cap_writes;
	uint32_t n_dispatches, n_barriers;
	bool recording;
	/* profiling (gpu_rec_begin_profiled): a timestamp after every dispatch, and its shader's name */
	struct gpu_timer prof;
	const char **prof_names;
	uint64_t *prof_bytes;     /* bytes each dispatch moves, where its op said (gpu_rec_hint_bytes) */
	uint64_t next_bytes;
	uint32_t n_prof;
};

int gpu_rec_begin(struct gpu *g, struct gpu_rec *rec);
/* Records one dispatch of `groups` workgroups. Checks the bindings and the push-constant size
 * against the shader's reflection, and each view against the device's limits. */
int gpu_dispatch(struct gpu_rec *rec, const struct gpu_pipeline *p, const struct gpu_view *views,
                 uint32_t n_views, const void *push, uint32_t push_size, uint32_t gx, uint32_t gy,
                 uint32_t gz);
/* The same, with a timestamp after each of the first max_dispatches dispatches, for
 * gpu_rec_profile (vkllm run --profile). Timestamps cost little but serialize nothing: where
 * dispatches overlap, time is attributed to the one that finishes. */
int gpu_rec_begin_profiled(struct gpu *g, struct gpu_rec *rec, uint32_t max_dispatches);
/* After a submit of a profiled recording: ns[i] is dispatch i's time (from the previous stamp),
 * names[i] its shader and bytes[i] the bytes it moves (0: not said); *n the count. Arrays of
 * max_dispatches entries. */
int gpu_rec_profile(struct gpu_rec *rec, double *ns, const char **names, uint64_t *bytes, uint32_t *n);
/* An op says how many bytes its next dispatch reads and writes, for the profile's GB/s. */
static inline void gpu_rec_hint_bytes(struct gpu_rec *rec, uint64_t bytes) { rec->next_bytes = bytes; }
/* A full compute->compute memory barrier; gpu_dispatch calls it when needed, callers may too. */
void gpu_barrier(struct gpu_rec *rec);
int gpu_rec_end(struct gpu_rec *rec);
/* Submits the recording and waits for it (bounded by g->timeout_ns). */
int gpu_rec_submit_wait(struct gpu_rec *rec);
/* Submits several recordings as one batch, in order, and waits for all of them (the fence of the
 * first is used). Each recording begins with a barrier, so each sees the one before it. */
int gpu_recs_submit_wait(struct gpu_rec *const *recs, uint32_t n);
void gpu_rec_destroy(struct gpu_rec *rec);

/* Splits n workgroups over x and y so that neither exceeds maxComputeWorkGroupCount; shaders
 * rebuild the flat index as (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x). */
void gpu_groups_1d(const struct gpu *g, uint64_t n_groups, uint32_t *gx, uint32_t *gy);

/* ---- timestamps (vk/record.c) ---- */

int gpu_timer_create(struct gpu *g, struct gpu_timer *t, uint32_t capacity);
void gpu_timer_destroy(struct gpu *g, struct gpu_timer *t);
/* Resets the queries inside the recording (so a replay starts clean); call before stamps. */
void gpu_timer_reset(struct gpu_rec *rec, struct gpu_timer *t);
void gpu_timestamp(struct gpu_rec *rec, struct gpu_timer *t, uint32_t index);
/* Nanoseconds between stamps `from` and `to` of the last submit. */
int gpu_timer_elapsed_ns(struct gpu *g, const struct gpu_timer *t, uint32_t from, uint32_t to, double *ns);

#endif
