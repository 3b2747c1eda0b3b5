/* Internal to host/vk: instance creation shared by enumeration and device creation. */
#ifndef VKLLM_INSTANCE_H
#define VKLLM_INSTANCE_H

#include "gpu.h"

int gpu_instance_create(struct gpu *g, bool validation);
void gpu_instance_destroy(struct gpu *g);
bool gpu_device_has_extension(VkPhysicalDevice phys, const char *name);

#endif
