/* The Vulkan loader, the instance, the validation layer and the mapping of VkResult to status.
 *
 * The loader is opened by hand (not volkInitialize) so that a missing loader becomes one clear
 * message naming the Debian package, and so tests can point VKLLM_VULKAN_LOADER at a library
 * that does not exist. Device selection and creation live in vk/device.c. */
#include "instance.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

int gpu_loader_init(void)
{
	static int loaded;
	if (loaded) return VKLLM_OK;
	const char *name = getenv("VKLLM_VULKAN_LOADER");
	if (!name || !*name) name = "libvulkan.so.1";
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return fail(VKLLM_E_NO_LOADER,
		            "no Vulkan loader: cannot load %s (install the Debian package libvulkan1)", name);
	PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
	if (!gipa)
		return fail(VKLLM_E_NO_LOADER, "no Vulkan loader: %s has no vkGetInstanceProcAddr (install libvulkan1)",
		            name);
	volkInitializeCustom(gipa);
	if (volkGetInstanceVersion() < VK_API_VERSION_1_1)
		return fail(VKLLM_E_NO_LOADER, "the Vulkan loader %s is older than Vulkan 1.1 (install a newer libvulkan1)",
		            name);
	loaded = 1;
	return VKLLM_OK;
}

static bool has_layer(const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
	VkLayerProperties *props = calloc(n, sizeof *props);
	if (!props) return false;
	bool found = false;
	if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(props[i].layerName, name) == 0) found = true;
	free(props);
	return found;
}

static bool has_instance_extension(const char *name)
{
	uint32_t n = 0;
	if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
	VkExtensionProperties *props = calloc(n, sizeof *props);
	if (!props) return false;
	bool found = false;
	if (vkEnumerateInstanceExtensionProperties(NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(props[i].extensionName, name) == 0) found = true;
	free(props);
	return found;
}

/* Validation messages are failures in tests: count every warning and error, echo them. */
static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
	VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT type,
	const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	(void)type;
	struct gpu *g = user;
	if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
	g->validation_messages++;
	if (!g->quiet)
		fprintf(stderr, "vkllm: validation %s: %s\n",
		        severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
		        data->pMessage ? data->pMessage : "(no message)");
	return VK_FALSE;
}

int gpu_instance_create(struct gpu *g, bool validation)
{
	TRY(gpu_loader_init());
	if (validation && !has_layer(VALIDATION_LAYER))
		return fail(VKLLM_E_NO_DEVICE,
		            "validation requested but the layer %s is not installed (install vulkan-validationlayers)",
		            VALIDATION_LAYER);

	const char *exts[4];
	uint32_t n_exts = 0;
	VkInstanceCreateFlags flags = 0;
	if (validation) exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
	/* MoltenVK and other non-conformant drivers only show up when we ask for them. */
	if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
		exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
		flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
	}

	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "vkllm",
		.pEngineName = "vkllm",
		/* the highest version we use; devices older than 1.2 are listed but not used */
		.apiVersion = volkGetInstanceVersion() >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2,
	};
	/* Synchronization validation catches a missing barrier between dependent dispatches. */
	VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
	VkValidationFeaturesEXT features = {
		.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
		.enabledValidationFeatureCount = 1,
		.pEnabledValidationFeatures = enables,
	};
	const char *layers[] = {VALIDATION_LAYER};
	VkInstanceCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pNext = validation ? &features : NULL,
		.flags = flags,
		.pApplicationInfo = &app,
		.enabledLayerCount = validation ? 1 : 0,
		.ppEnabledLayerNames = layers,
		.enabledExtensionCount = n_exts,
		.ppEnabledExtensionNames = exts,
	};
	VkResult r = vkCreateInstance(&ci, NULL, &g->instance);
	if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
		return fail(VKLLM_E_NO_DEVICE,
		            "no Vulkan driver found (install mesa-vulkan-drivers for lavapipe on the CPU, or your GPU's driver)");
	if (r != VK_SUCCESS) return gpu_fail(g, r, "vkCreateInstance", __FILE__, __LINE__);
	volkLoadInstanceOnly(g->instance);

	if (validation) {
		VkDebugUtilsMessengerCreateInfoEXT mci = {
			.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
			.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
			                   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
			.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			               VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT,
			.pfnUserCallback = on_validation_message,
			.pUserData = g,
		};
		GPU_TRY(g, vkCreateDebugUtilsMessengerEXT(g->instance, &mci, NULL, &g->messenger));
	}
	return VKLLM_OK;
}

void gpu_instance_destroy(struct gpu *g)
{
	if (!g->instance) return;
	if (g->messenger) vkDestroyDebugUtilsMessengerEXT(g->instance, g->messenger, NULL);
	vkDestroyInstance(g->instance, NULL);
	g->messenger = VK_NULL_HANDLE;
	g->instance = VK_NULL_HANDLE;
}

const char *gpu_result_name(VkResult r)
{
	switch (r) {
#define R(x) \
	case x: return #x;
		R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
		R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
		R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED)
		R(VK_ERROR_LAYER_NOT_PRESENT) R(VK_ERROR_EXTENSION_NOT_PRESENT) R(VK_ERROR_FEATURE_NOT_PRESENT)
		R(VK_ERROR_INCOMPATIBLE_DRIVER) R(VK_ERROR_TOO_MANY_OBJECTS) R(VK_ERROR_FORMAT_NOT_SUPPORTED)
		R(VK_ERROR_FRAGMENTED_POOL) R(VK_ERROR_UNKNOWN) R(VK_ERROR_OUT_OF_POOL_MEMORY)
		R(VK_ERROR_INVALID_EXTERNAL_HANDLE) R(VK_ERROR_FRAGMENTATION)
		R(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) R(VK_PIPELINE_COMPILE_REQUIRED)
#undef R
	default: return "VK_RESULT_UNKNOWN";
	}
}

int gpu_fail(struct gpu *g, VkResult r, const char *call, const char *file, int line)
{
	enum vkllm_status st = VKLLM_E_VULKAN;
	const char *hint = "";
	if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
		st = VKLLM_E_DEVICE_NOMEM;
		hint = " (hint: a smaller model, context or batch needs less memory)";
	} else if (r == VK_ERROR_DEVICE_LOST) {
		st = VKLLM_E_DEVICE_LOST;
		if (g) g->lost = true;
		hint = " (the GPU reset or the driver crashed; this session cannot continue)";
	} else if (r == VK_TIMEOUT) {
		st = VKLLM_E_TIMEOUT;
	}
	/* Keep the innermost message when a caller adds no detail of its own. */
	return fail(st, "%s failed: %s at %s:%d%s", call, gpu_result_name(r), file, line, hint);
}
