/* The device profile: every property and feature vkllm tunes for, read once per physical device.
 * `vkllm devices` prints it; ops read it to choose variants and specialization constants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopmat_khr.h"
#include "instance.h"

bool gpu_device_has_extension(VkPhysicalDevice phys, const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
	VkExtensionProperties *props = calloc(n, sizeof *props);
	if (!props) return false;
	bool found = false;
	if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(props[i].extensionName, name) == 0) found = true;
	free(props);
	return found;
}

static const char *vendor_name(uint32_t id)
{
	switch (id) {
	case 0x1002: return "AMD";
	case 0x10DE: return "NVIDIA";
	case 0x8086: return "Intel";
	case 0x13B5: return "ARM";
	case 0x5143: return "Qualcomm";
	case 0x1010: return "Imagination";
	case 0x106B: return "Apple";
	case 0x10005: return "Mesa";
	case 0x1AE0: return "Google";
	case 0x1414: return "Microsoft";
	default: return "unknown";
	}
}

/* Vendors encode driverVersion their own way; the Vulkan macros are right only for the rest. */
static void decode_driver_version(char *out, size_t n, uint32_t vendor, uint32_t driver_id, uint32_t v)
{
	if (vendor == 0x10DE)
		snprintf(out, n, "%u.%u.%u.%u", (v >> 22) & 0x3ff, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
	else if (driver_id == VK_DRIVER_ID_INTEL_PROPRIETARY_WINDOWS)
		snprintf(out, n, "%u.%u", v >> 14, v & 0x3fff);
	else
		snprintf(out, n, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static void device_type(struct gpu_profile *p, VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: p->type = "discrete", p->type_rank = 0; break;
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: p->type = "integrated", p->type_rank = 1; break;
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: p->type = "virtual", p->type_rank = 2; break;
	case VK_PHYSICAL_DEVICE_TYPE_CPU: p->type = "cpu", p->type_rank = 3; break;
	default: p->type = "other", p->type_rank = 4; break;
	}
}

static void fill_coopmat(struct gpu_profile *p, VkPhysicalDevice phys)
{
	PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get =
		(PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)vkGetInstanceProcAddr(
			volkGetLoadedInstance(), "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
	uint32_t n = 0;
	if (!get || get(phys, &n, NULL) != VK_SUCCESS || n == 0) return;
	VkCooperativeMatrixPropertiesKHR *props = calloc(n, sizeof *props);
	p->coopmat_shapes = calloc(n, sizeof *p->coopmat_shapes);
	if (!props || !p->coopmat_shapes) {
		free(props);
		free(p->coopmat_shapes);
		p->coopmat_shapes = NULL;
		return;
	}
	for (uint32_t i = 0; i < n; i++) props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
	if (get(phys, &n, props) == VK_SUCCESS) {
		for (uint32_t i = 0; i < n; i++) {
			struct gpu_coopmat_shape *s = &p->coopmat_shapes[i];
			s->m = props[i].MSize, s->n = props[i].NSize, s->k = props[i].KSize;
			s->a_type = props[i].AType, s->b_type = props[i].BType;
			s->c_type = props[i].CType, s->result_type = props[i].ResultType;
			s->saturating = props[i].saturatingAccumulation;
			s->scope = props[i].scope;
		}
		p->n_coopmat = n;
	}
	free(props);
}

void gpu_profile_fill(struct gpu_profile *p, VkPhysicalDevice phys)
{
	memset(p, 0, sizeof *p);
	VkPhysicalDeviceProperties base;
	vkGetPhysicalDeviceProperties(phys, &base);
	snprintf(p->name, sizeof p->name, "%s", base.deviceName);
	p->vendor_id = base.vendorID;
	p->device_id = base.deviceID;
	p->vendor = vendor_name(base.vendorID);
	device_type(p, base.deviceType);
	p->api_version = base.apiVersion;
	p->driver_version = base.driverVersion;
	memcpy(p->pipeline_cache_uuid, base.pipelineCacheUUID, 16);
	const VkPhysicalDeviceLimits *lim = &base.limits;
	p->max_shared_memory = lim->maxComputeSharedMemorySize;
	memcpy(p->max_workgroup_size, lim->maxComputeWorkGroupSize, sizeof p->max_workgroup_size);
	memcpy(p->max_workgroup_count, lim->maxComputeWorkGroupCount, sizeof p->max_workgroup_count);
	p->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
	p->max_push_constants = lim->maxPushConstantsSize;
	p->min_storage_offset_alignment = (uint32_t)lim->minStorageBufferOffsetAlignment;
	p->max_storage_buffer_range = lim->maxStorageBufferRange;
	p->min_texel_offset_alignment = (uint32_t)lim->minTexelBufferOffsetAlignment;
	p->max_texel_buffer_elements = lim->maxTexelBufferElements;
	p->texel_buffers = true;
	const VkFormat texel_formats[] = {VK_FORMAT_R32_UINT, VK_FORMAT_R32G32_UINT, VK_FORMAT_R32G32B32A32_UINT};
	for (size_t i = 0; i < sizeof texel_formats / sizeof *texel_formats; i++) {
		VkFormatProperties fp;
		vkGetPhysicalDeviceFormatProperties(phys, texel_formats[i], &fp);
		if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT)) p->texel_buffers = false;
	}
	p->timestamp_period = lim->timestampPeriod;

	uint32_t nq = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, NULL);
	VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
	bool has_compute = false;
	if (qf) {
		vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, qf);
		for (uint32_t i = 0; i < nq; i++)
			if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
				if (!has_compute || qf[i].timestampValidBits > p->timestamp_valid_bits)
					p->timestamp_valid_bits = qf[i].timestampValidBits;
				has_compute = true;
			}
		free(qf);
	}

	VkPhysicalDeviceMemoryProperties mem;
	vkGetPhysicalDeviceMemoryProperties(phys, &mem);
	VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
	p->memory_budget = gpu_device_has_extension(phys, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
	if (p->memory_budget && base.apiVersion >= VK_API_VERSION_1_1) {
		VkPhysicalDeviceMemoryProperties2 mem2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &budget};
		vkGetPhysicalDeviceMemoryProperties2(phys, &mem2);
	}
	p->n_heaps = mem.memoryHeapCount;
	p->uma = mem.memoryHeapCount > 0;
	for (uint32_t i = 0; i < mem.memoryHeapCount; i++) {
		p->heaps[i].size = mem.memoryHeaps[i].size;
		p->heaps[i].device_local = (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
		p->heaps[i].budget = p->memory_budget ? budget.heapBudget[i] : 0;
		if (!p->heaps[i].device_local) p->uma = false;
	}
	if (p->type_rank == 1 || p->type_rank == 3) p->uma = true;

	if (base.apiVersion < VK_API_VERSION_1_2) {
		snprintf(p->unusable_reason, sizeof p->unusable_reason, "Vulkan %u.%u device; vkllm needs 1.2",
		         VK_API_VERSION_MAJOR(base.apiVersion), VK_API_VERSION_MINOR(base.apiVersion));
		decode_driver_version(p->driver_version_str, sizeof p->driver_version_str, p->vendor_id, 0, p->driver_version);
		return;
	}
	bool v13 = base.apiVersion >= VK_API_VERSION_1_3;
	bool has_sizectl = v13 || gpu_device_has_extension(phys, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
	bool has_dot = v13 || gpu_device_has_extension(phys, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
	bool has_m4 = v13 || gpu_device_has_extension(phys, VK_KHR_MAINTENANCE_4_EXTENSION_NAME);
	bool has_coopmat = gpu_device_has_extension(phys, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);

	/* properties: chain only what the device knows about */
	VkPhysicalDeviceVulkan11Properties p11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
	VkPhysicalDeviceVulkan12Properties p12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES, .pNext = &p11};
	VkPhysicalDeviceSubgroupSizeControlProperties psz = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
	VkPhysicalDeviceShaderIntegerDotProductProperties pdot = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
	VkPhysicalDeviceMaintenance4Properties pm4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
	void *chain = &p12;
	if (has_sizectl) psz.pNext = chain, chain = &psz;
	if (has_dot) pdot.pNext = chain, chain = &pdot;
	if (has_m4) pm4.pNext = chain, chain = &pm4;
	VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = chain};
	vkGetPhysicalDeviceProperties2(phys, &props2);

	/* features */
	VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f11};
	VkPhysicalDeviceSubgroupSizeControlFeatures fsz = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	VkPhysicalDeviceShaderIntegerDotProductFeatures fdot = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
	VkPhysicalDeviceCooperativeMatrixFeaturesKHR fcm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
	chain = &f12;
	if (has_sizectl) fsz.pNext = chain, chain = &fsz;
	if (has_dot) fdot.pNext = chain, chain = &fdot;
	if (has_coopmat) fcm.pNext = chain, chain = &fcm;
	VkPhysicalDeviceFeatures2 feat2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = chain};
	vkGetPhysicalDeviceFeatures2(phys, &feat2);

	snprintf(p->driver_name, sizeof p->driver_name, "%s", p12.driverName);
	snprintf(p->driver_info, sizeof p->driver_info, "%s", p12.driverInfo);
	p->driver_id = p12.driverID;
	decode_driver_version(p->driver_version_str, sizeof p->driver_version_str, p->vendor_id, p->driver_id,
	                      p->driver_version);

	p->subgroup_size = p11.subgroupSize;
	p->subgroup_min = p->subgroup_max = p11.subgroupSize;
	if (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) p->subgroup_ops = p11.subgroupSupportedOperations;
	if (has_sizectl && fsz.subgroupSizeControl && (psz.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT)) {
		p->subgroup_size_control = true;
		p->subgroup_min = psz.minSubgroupSize;
		p->subgroup_max = psz.maxSubgroupSize;
		p->compute_full_subgroups = fsz.computeFullSubgroups;
	}
	p->max_allocation_size = p11.maxMemoryAllocationSize;
	p->max_buffer_size = has_m4 ? pm4.maxBufferSize : 0;

	p->fp16 = f12.shaderFloat16;
	p->memory_model = f12.vulkanMemoryModel;
	p->int8 = f12.shaderInt8;
	p->int16 = feat2.features.shaderInt16;
	p->int64 = feat2.features.shaderInt64;
	p->storage16 = f11.storageBuffer16BitAccess;
	p->storage8 = f12.storageBuffer8BitAccess;
	p->integer_dot = has_dot && fdot.shaderIntegerDotProduct;
	p->int8_dot_accelerated = p->integer_dot && pdot.integerDotProduct4x8BitPackedSignedAccelerated;
	p->coopmat = has_coopmat && fcm.cooperativeMatrix;
	if (p->coopmat) fill_coopmat(p, phys);

	if (!has_compute)
		snprintf(p->unusable_reason, sizeof p->unusable_reason, "no compute queue");
	else
		p->usable = true;
}

bool gpu_is_cpu(const struct gpu *g) { return g->profile.type && strcmp(g->profile.type, "cpu") == 0; }

void gpu_profile_free(struct gpu_profile *p)
{
	free(p->coopmat_shapes);
	p->coopmat_shapes = NULL;
	p->n_coopmat = 0;
}
