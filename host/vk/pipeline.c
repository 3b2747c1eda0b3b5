/* Compute pipelines from the SPIR-V embedded in the binary, and the pipeline cache on disk.
 *
 * A pipeline is identified by (shader, specialization constants) and created once per device;
 * its descriptor-set layout and push-constant range come from reflection (vk/reflect.c). The
 * driver's pipeline cache is kept in $XDG_CACHE_HOME/vkllm (or ~/.cache/vkllm), one file per
 * device and driver version, so the second run skips the shader compiler. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu.h"

static int create_pipeline(struct gpu *g, struct gpu_pipeline *p)
{
	const struct shader_spirv *sh = &shader_table[p->shader];
	TRY(gpu_reflect(&p->refl, sh->words, sh->n_words, sh->name));
	/* A mismatch here is a bug in an op, not bad input. */
	CHECK(p->n_spec == p->refl.n_spec);
	if (p->refl.push_size > g->profile.max_push_constants)
		return fail(VKLLM_E_UNSUPPORTED, "shader %s: %u bytes of push constants, device allows %u", sh->name,
		            p->refl.push_size, g->profile.max_push_constants);
	if (p->local_size == 0 || p->local_size > g->profile.max_workgroup_invocations)
		return fail(VKLLM_E_UNSUPPORTED, "shader %s: workgroup size %u, device allows 1..%u", sh->name, p->local_size,
		            g->profile.max_workgroup_invocations);

	if (p->refl.texel_mask && !g->profile.texel_buffers)
		return fail(VKLLM_E_UNSUPPORTED, "shader %s: device %s has no storage texel buffers of 32-bit uint formats",
		            sh->name, g->profile.name);
	VkDescriptorSetLayoutBinding bindings[GPU_MAX_BINDINGS];
	for (uint32_t b = 0; b < p->refl.n_bindings; b++)
		bindings[b] = (VkDescriptorSetLayoutBinding){
			.binding = b,
			.descriptorType = p->refl.texel_mask & (1u << b) ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
			                                                 : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.descriptorCount = 1,
			.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
		};
	VkDescriptorSetLayoutCreateInfo dl = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.bindingCount = p->refl.n_bindings,
		.pBindings = bindings,
	};
	GPU_TRY(g, g->vk.vkCreateDescriptorSetLayout(g->device, &dl, NULL, &p->set_layout));
	VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, p->refl.push_size};
	VkPipelineLayoutCreateInfo pl = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1,
		.pSetLayouts = &p->set_layout,
		.pushConstantRangeCount = p->refl.push_size ? 1 : 0,
		.pPushConstantRanges = &range,
	};
	GPU_TRY(g, g->vk.vkCreatePipelineLayout(g->device, &pl, NULL, &p->layout));

	VkShaderModuleCreateInfo mci = {
		.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
		.codeSize = sh->n_words * 4,
		.pCode = sh->words,
	};
	VkShaderModule module;
	GPU_TRY(g, g->vk.vkCreateShaderModule(g->device, &mci, NULL, &module));
	VkSpecializationMapEntry entries[GPU_MAX_SPEC];
	for (uint32_t i = 0; i < p->n_spec; i++) entries[i] = (VkSpecializationMapEntry){i, i * 4, 4};
	VkSpecializationInfo spec = {p->n_spec, entries, p->n_spec * 4, p->spec};
	VkComputePipelineCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			.stage = VK_SHADER_STAGE_COMPUTE_BIT,
			.module = module,
			.pName = "main",
			.pSpecializationInfo = p->n_spec ? &spec : NULL,
		},
		.layout = p->layout,
	};
	/* Where the subgroup size may vary (AMD wave32/64, Intel SIMD8-32), pin it to the profile's:
	 * the tuning (workgroup = subgroups x size, the coopmat GEMM's 4 subgroups) assumes it. */
	VkPipelineShaderStageRequiredSubgroupSizeCreateInfo req = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
		.requiredSubgroupSize = g->profile.subgroup_size,
	};
	if (g->profile.subgroup_size_control && g->profile.subgroup_min != g->profile.subgroup_max) {
		ci.stage.pNext = &req;
		if (g->profile.compute_full_subgroups && p->local_size % g->profile.subgroup_size == 0)
			ci.stage.flags |= VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT;
	}
	VkResult r = g->vk.vkCreateComputePipelines(g->device, g->pipeline_cache, 1, &ci, NULL, &p->pipeline);
	g->vk.vkDestroyShaderModule(g->device, module, NULL);
	if (r != VK_SUCCESS) {
		int st = gpu_fail(g, r, "vkCreateComputePipelines", __FILE__, __LINE__);
		return fail(st, "shader %s: %s", sh->name, vkllm_error());
	}
	return VKLLM_OK;
}

static void pipeline_free(struct gpu *g, struct gpu_pipeline *p)
{
	if (p->pipeline) g->vk.vkDestroyPipeline(g->device, p->pipeline, NULL);
	if (p->layout) g->vk.vkDestroyPipelineLayout(g->device, p->layout, NULL);
	if (p->set_layout) g->vk.vkDestroyDescriptorSetLayout(g->device, p->set_layout, NULL);
	free(p);
}

int gpu_pipeline_get(struct gpu *g, const struct gpu_pipeline **out, enum shader_id shader, const uint32_t *spec,
                     uint32_t n_spec)
{
	CHECK(shader < SH_COUNT && n_spec >= 1 && n_spec <= GPU_MAX_SPEC);
	for (uint32_t i = 0; i < g->n_pipelines; i++) {
		struct gpu_pipeline *p = g->pipelines[i];
		if (p->shader == shader && p->n_spec == n_spec && memcmp(p->spec, spec, n_spec * 4) == 0) {
			*out = p;
			return VKLLM_OK;
		}
	}
	if (g->lost) return fail(VKLLM_E_DEVICE_LOST, "device lost: cannot create pipeline %s", shader_table[shader].name);
	if (shader_table[shader].n_words == 0)
		return fail(VKLLM_E_UNSUPPORTED, "shader %s is not in this build (its compiler was missing: docs/matmul.md)",
		            shader_table[shader].name);
	if (g->n_pipelines == g->cap_pipelines) {
		uint32_t cap = g->cap_pipelines ? 2 * g->cap_pipelines : 16;
		struct gpu_pipeline **np = realloc(g->pipelines, cap * sizeof *np);
		if (!np) return fail(VKLLM_E_NOMEM, "out of host memory");
		g->pipelines = np, g->cap_pipelines = cap;
	}
	struct gpu_pipeline *p = calloc(1, sizeof *p);
	if (!p) return fail(VKLLM_E_NOMEM, "out of host memory");
	p->shader = shader;
	p->name = shader_table[shader].name;
	p->n_spec = n_spec;
	memcpy(p->spec, spec, n_spec * 4);
	p->local_size = spec[0];
	int st = create_pipeline(g, p);
	if (st != VKLLM_OK) {
		pipeline_free(g, p);
		return st;
	}
	g->pipelines[g->n_pipelines++] = p;
	*out = p;
	return VKLLM_OK;
}

void gpu_pipelines_destroy(struct gpu *g)
{
	for (uint32_t i = 0; i < g->n_pipelines; i++) pipeline_free(g, g->pipelines[i]);
	free(g->pipelines);
	g->pipelines = NULL;
	g->n_pipelines = g->cap_pipelines = 0;
	if (g->pipeline_cache) g->vk.vkDestroyPipelineCache(g->device, g->pipeline_cache, NULL);
	g->pipeline_cache = VK_NULL_HANDLE;
}

/* ---- pipeline cache on disk ---- */

static int mkdir_p(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
			*s = '/';
		}
	return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static bool cache_dir(char *out, size_t n)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		snprintf(out, n, "%s/vkllm", xdg);
	else if (home && *home)
		snprintf(out, n, "%s/.cache/vkllm", home);
	else
		return false;
	return true;
}

/* The header the driver writes (VkPipelineCacheHeaderVersionOne); data for another device or
 * driver is not handed to it. */
static bool cache_header_matches(const struct gpu *g, const uint8_t *d, size_t n)
{
	if (n < 32) return false;
	uint32_t h[4];
	memcpy(h, d, sizeof h);
	return h[0] >= 32 && h[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && h[2] == g->profile.vendor_id &&
	       h[3] == g->profile.device_id && memcmp(d + 16, g->profile.pipeline_cache_uuid, 16) == 0;
}

int gpu_pipeline_cache_open(struct gpu *g)
{
	char dir[900];
	g->pipeline_cache_path[0] = 0;
	if (cache_dir(dir, sizeof dir)) {
		const struct gpu_profile *p = &g->profile;
		char uuid[33];
		for (int i = 0; i < 16; i++) snprintf(uuid + 2 * i, 3, "%02x", p->pipeline_cache_uuid[i]);
		snprintf(g->pipeline_cache_path, sizeof g->pipeline_cache_path, "%s/%04x-%04x-%s.bin", dir, p->vendor_id,
		         p->device_id, uuid);
	}
	uint8_t *data = NULL;
	size_t size = 0;
	FILE *f = g->pipeline_cache_path[0] ? fopen(g->pipeline_cache_path, "rb") : NULL;
	if (f) {
		if (fseek(f, 0, SEEK_END) == 0) {
			long len = ftell(f);
			if (len > 0 && len < (256l << 20) && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)len)))
				size = fread(data, 1, (size_t)len, f);
		}
		fclose(f);
		if (!cache_header_matches(g, data, size)) size = 0; /* stale or damaged: start empty */
	}
	VkPipelineCacheCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
		.initialDataSize = size,
		.pInitialData = size ? data : NULL,
	};
	VkResult r = g->vk.vkCreatePipelineCache(g->device, &ci, NULL, &g->pipeline_cache);
	free(data);
	if (r != VK_SUCCESS) return gpu_fail(g, r, "vkCreatePipelineCache", __FILE__, __LINE__);
	return VKLLM_OK;
}

int gpu_pipeline_cache_save(struct gpu *g)
{
	if (!g->pipeline_cache || !g->pipeline_cache_path[0] || g->n_pipelines == 0) return VKLLM_OK;
	size_t size = 0;
	GPU_TRY(g, g->vk.vkGetPipelineCacheData(g->device, g->pipeline_cache, &size, NULL));
	void *data = malloc(size ? size : 1);
	if (!data) return fail(VKLLM_E_NOMEM, "out of host memory");
	VkResult r = g->vk.vkGetPipelineCacheData(g->device, g->pipeline_cache, &size, data);
	if (r != VK_SUCCESS) {
		free(data);
		return gpu_fail(g, r, "vkGetPipelineCacheData", __FILE__, __LINE__);
	}
	char dir[1024], tmp[1100];
	snprintf(dir, sizeof dir, "%s", g->pipeline_cache_path);
	char *slash = strrchr(dir, '/');
	if (slash) *slash = 0;
	int st = VKLLM_OK;
	/* write then rename: a crash or a concurrent run never leaves half a file behind */
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", g->pipeline_cache_path, (long)getpid());
	FILE *f = mkdir_p(dir) == 0 ? fopen(tmp, "wb") : NULL;
	bool ok = f && fwrite(data, 1, size, f) == size;
	if (f && fclose(f) != 0) ok = false;
	if (ok && rename(tmp, g->pipeline_cache_path) != 0) ok = false;
	if (!ok) {
		st = fail(VKLLM_E_IO, "cannot write pipeline cache %s: %s", g->pipeline_cache_path, strerror(errno));
		if (f) remove(tmp);
	}
	free(data);
	return st;
}
