/* Enumerating, choosing and creating the device.
 *
 * Choice: --device N (gpu_options.device_index) or VKLLM_DEVICE=N pick by index in enumeration
 * order (the order `vkllm devices` prints); otherwise the first usable device of the best kind:
 * discrete, then integrated, then virtual, then CPU (lavapipe). Features the kernels can use are
 * enabled whenever the device has them; the profile says which. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopmat_khr.h"
#include "instance.h"

static int physical_devices(struct gpu *g, VkPhysicalDevice **out, uint32_t *n)
{
	*out = NULL;
	*n = 0;
	GPU_TRY(g, vkEnumeratePhysicalDevices(g->instance, n, NULL));
	if (*n == 0)
		return fail(VKLLM_E_NO_DEVICE,
		            "no Vulkan device found (install mesa-vulkan-drivers for lavapipe on the CPU, or your GPU's driver)");
	*out = calloc(*n, sizeof **out);
	if (!*out) return fail(VKLLM_E_NOMEM, "out of host memory listing %u devices", *n);
	VkResult r = vkEnumeratePhysicalDevices(g->instance, n, *out);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		free(*out);
		*out = NULL;
		return gpu_fail(g, r, "vkEnumeratePhysicalDevices", __FILE__, __LINE__);
	}
	return VKLLM_OK;
}

int gpu_enumerate(struct gpu_profile **out, uint32_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	struct gpu tmp = {0};
	TRY(gpu_instance_create(&tmp, false));
	VkPhysicalDevice *phys;
	uint32_t n;
	int st = physical_devices(&tmp, &phys, &n);
	if (st == VKLLM_OK) {
		*out = calloc(n, sizeof **out);
		if (!*out)
			st = fail(VKLLM_E_NOMEM, "out of host memory");
		else
			for (uint32_t i = 0; i < n; i++) gpu_profile_fill(&(*out)[i], phys[i]);
		*n_out = *out ? n : 0;
		free(phys);
	}
	gpu_instance_destroy(&tmp);
	return st;
}

void gpu_profiles_free(struct gpu_profile *p, uint32_t n)
{
	for (uint32_t i = 0; p && i < n; i++) gpu_profile_free(&p[i]);
	free(p);
}

static int parse_index(const char *s, const char *what, uint32_t n, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return fail(VKLLM_E_ARG, "%s: '%s' is not a device index (see `vkllm devices`)", what, s);
	if ((uint32_t)v >= n)
		return fail(VKLLM_E_ARG, "%s: device %ld does not exist; this machine has %u (see `vkllm devices`)", what, v, n);
	*out = (int)v;
	return VKLLM_OK;
}

static int choose(struct gpu *g, const struct gpu_options *opt, VkPhysicalDevice *phys, uint32_t n)
{
	int index = opt->device_index;
	const char *env = getenv("VKLLM_DEVICE");
	if (index >= 0) {
		if ((uint32_t)index >= n)
			return fail(VKLLM_E_ARG, "--device %d does not exist; this machine has %u (see `vkllm devices`)", index, n);
	} else if (env && *env) {
		TRY(parse_index(env, "VKLLM_DEVICE", n, &index));
	}
	if (index >= 0) {
		gpu_profile_fill(&g->profile, phys[index]);
		if (!g->profile.usable)
			return fail(VKLLM_E_UNSUPPORTED, "device %d (%s) cannot run vkllm: %s", index, g->profile.name,
			            g->profile.unusable_reason);
		g->index = index;
		return VKLLM_OK;
	}
	int best = -1, best_rank = 99;
	for (uint32_t i = 0; i < n; i++) {
		struct gpu_profile p;
		gpu_profile_fill(&p, phys[i]);
		if (p.usable && p.type_rank < best_rank) best = (int)i, best_rank = p.type_rank;
		gpu_profile_free(&p);
	}
	if (best < 0)
		return fail(VKLLM_E_NO_DEVICE, "none of the %u Vulkan devices supports Vulkan 1.2 compute (see `vkllm devices`)", n);
	gpu_profile_fill(&g->profile, phys[best]);
	g->index = best;
	return VKLLM_OK;
}

static uint32_t compute_queue_family(VkPhysicalDevice phys)
{
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
	VkQueueFamilyProperties *qf = calloc(n ? n : 1, sizeof *qf);
	uint32_t best = UINT32_MAX;
	if (!qf) return best;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, qf);
	/* prefer a compute family that has timestamps, then any compute family */
	for (uint32_t i = 0; i < n; i++)
		if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
		    (best == UINT32_MAX || (qf[best].timestampValidBits == 0 && qf[i].timestampValidBits > 0)))
			best = i;
	free(qf);
	return best;
}

static int create_device(struct gpu *g)
{
	const struct gpu_profile *p = &g->profile;
	bool v13 = p->api_version >= VK_API_VERSION_1_3;
	g->queue_family = compute_queue_family(g->phys);
	if (g->queue_family == UINT32_MAX) return fail(VKLLM_E_UNSUPPORTED, "device %s has no compute queue", p->name);

	const char *exts[8];
	uint32_t n_exts = 0;
	if (!v13 && p->subgroup_size_control) exts[n_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
	if (!v13 && p->integer_dot) exts[n_exts++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
	if (p->coopmat) exts[n_exts++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
	if (p->memory_budget) exts[n_exts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;

	/* enable exactly what the profile found */
	VkPhysicalDeviceVulkan11Features f11 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
		.storageBuffer16BitAccess = p->storage16,
	};
	VkPhysicalDeviceVulkan12Features f12 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
		.pNext = &f11,
		.shaderFloat16 = p->fp16,
		.vulkanMemoryModel = p->memory_model,
		.shaderInt8 = p->int8,
		.storageBuffer8BitAccess = p->storage8,
	};
	VkPhysicalDeviceSubgroupSizeControlFeatures fsz = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
		.subgroupSizeControl = p->subgroup_size_control,
		.computeFullSubgroups = p->compute_full_subgroups,
	};
	VkPhysicalDeviceShaderIntegerDotProductFeatures fdot = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
		.shaderIntegerDotProduct = p->integer_dot,
	};
	VkPhysicalDeviceCooperativeMatrixFeaturesKHR fcm = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
		.cooperativeMatrix = p->coopmat,
	};
	void *chain = &f12;
	if (p->subgroup_size_control) fsz.pNext = chain, chain = &fsz;
	if (p->integer_dot) fdot.pNext = chain, chain = &fdot;
	if (p->coopmat) fcm.pNext = chain, chain = &fcm;
	VkPhysicalDeviceFeatures2 feat2 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
		.pNext = chain,
		.features = {.shaderInt16 = p->int16, .shaderInt64 = p->int64},
	};

	float priority = 1.0f;
	VkDeviceQueueCreateInfo qci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = g->queue_family,
		.queueCount = 1,
		.pQueuePriorities = &priority,
	};
	VkDeviceCreateInfo dci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.pNext = &feat2,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &qci,
		.enabledExtensionCount = n_exts,
		.ppEnabledExtensionNames = exts,
	};
	GPU_TRY(g, vkCreateDevice(g->phys, &dci, NULL, &g->device));
	volkLoadDeviceTable(&g->vk, g->device);
	g->vk.vkGetDeviceQueue(g->device, g->queue_family, 0, &g->queue);
	vkGetPhysicalDeviceMemoryProperties(g->phys, &g->mem_props);

	VkCommandPoolCreateInfo pci = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
		.queueFamilyIndex = g->queue_family,
	};
	GPU_TRY(g, g->vk.vkCreateCommandPool(g->device, &pci, NULL, &g->cmd_pool));
	VkCommandBufferAllocateInfo cai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = g->cmd_pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	GPU_TRY(g, g->vk.vkAllocateCommandBuffers(g->device, &cai, &g->xfer_cmd));
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	GPU_TRY(g, g->vk.vkCreateFence(g->device, &fci, NULL, &g->xfer_fence));
	return VKLLM_OK;
}

static bool env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

int gpu_create(struct gpu *g, const struct gpu_options *opt)
{
	memset(g, 0, sizeof *g);
	g->validation = opt->validation || env_flag("VKLLM_VALIDATION");
	g->quiet = opt->quiet;
	/* Long enough for any single submit we make (per-layer and per-chunk work is far shorter),
	 * short enough that a hung driver is reported instead of waited on forever. */
	g->timeout_ns = 120ull * 1000 * 1000 * 1000;
	int st = gpu_instance_create(g, g->validation);
	VkPhysicalDevice *phys = NULL;
	uint32_t n = 0;
	if (st == VKLLM_OK) st = physical_devices(g, &phys, &n);
	if (st == VKLLM_OK) st = choose(g, opt, phys, n);
	if (st == VKLLM_OK) g->phys = phys[g->index];
	free(phys);
	if (st == VKLLM_OK) st = create_device(g);
	if (st == VKLLM_OK) st = gpu_pipeline_cache_open(g);
	if (st != VKLLM_OK) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", vkllm_error());
		gpu_destroy(g);
		fail(st, "%s", msg); /* keep the first message, not one from teardown */
	}
	return st;
}

int gpu_destroy(struct gpu *g)
{
	int st = VKLLM_OK;
	if (g->device) {
		if (!g->lost) g->vk.vkDeviceWaitIdle(g->device);
		gpu_pipeline_cache_save(g); /* best effort: a cache that cannot be written is not an error */
		gpu_pipelines_destroy(g);
		if (g->staging) {
			gpu_buffer_destroy(g, g->staging);
			free(g->staging);
			g->staging = NULL;
		}
		gpu_memory_release_all(g);
		if (g->xfer_fence) g->vk.vkDestroyFence(g->device, g->xfer_fence, NULL);
		if (g->cmd_pool) g->vk.vkDestroyCommandPool(g->device, g->cmd_pool, NULL);
		g->vk.vkDestroyDevice(g->device, NULL);
		g->device = VK_NULL_HANDLE;
	}
	gpu_instance_destroy(g);
	gpu_profile_free(&g->profile);
	if (g->validation && g->validation_messages)
		st = fail(VKLLM_E_VALIDATION, "the validation layer reported %u message(s) (printed above)", g->validation_messages);
	return st;
}
