/* `vkllm devices [--json]`: every Vulkan device with the profile vkllm tunes for (vk/profile.c).
 * The device marked "default" is the one `vkllm run` uses without --device or VKLLM_DEVICE. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli.h"
#include "vk/gpu.h"

static const char *component_name(uint32_t t)
{
	static const char *names[] = {"f16", "f32", "f64", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"};
	return t < sizeof names / sizeof names[0] ? names[t] : "other";
}

static const char *scope_name(uint32_t s)
{
	switch (s) {
	case 1: return "device";
	case 2: return "workgroup";
	case 3: return "subgroup";
	case 5: return "queue_family";
	default: return "other";
	}
}

static void subgroup_ops_string(char *out, size_t n, uint32_t ops)
{
	static const char *names[] = {"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad"};
	out[0] = 0;
	for (int i = 0; i < 8; i++)
		if (ops & (1u << i)) {
			size_t len = strlen(out);
			snprintf(out + len, n - len, "%s%s", len ? " " : "", names[i]);
		}
}

static int default_device(const struct gpu_profile *p, uint32_t n)
{
	int best = -1;
	for (uint32_t i = 0; i < n; i++)
		if (p[i].usable && (best < 0 || p[i].type_rank < p[best].type_rank)) best = (int)i;
	return best;
}

static void print_json(const struct gpu_profile *ps, uint32_t n)
{
	struct json j;
	json_init(&j, stdout);
	json_object_begin(&j);
	json_key(&j, "default_device");
	int def = default_device(ps, n);
	if (def >= 0)
		json_u64(&j, (uint64_t)def);
	else
		json_null(&j);
	json_key(&j, "devices");
	json_array_begin(&j);
	for (uint32_t i = 0; i < n; i++) {
		const struct gpu_profile *p = &ps[i];
		char buf[256];
		json_object_begin(&j);
		json_key(&j, "index"), json_u64(&j, i);
		json_key(&j, "name"), json_string(&j, p->name);
		json_key(&j, "vendor"), json_string(&j, p->vendor);
		snprintf(buf, sizeof buf, "0x%04x", p->vendor_id);
		json_key(&j, "vendor_id"), json_string(&j, buf);
		snprintf(buf, sizeof buf, "0x%04x", p->device_id);
		json_key(&j, "device_id"), json_string(&j, buf);
		json_key(&j, "type"), json_string(&j, p->type);
		json_key(&j, "usable"), json_bool(&j, p->usable);
		if (!p->usable) json_key(&j, "unusable_reason"), json_string(&j, p->unusable_reason);
		snprintf(buf, sizeof buf, "%u.%u.%u", VK_API_VERSION_MAJOR(p->api_version), VK_API_VERSION_MINOR(p->api_version),
		         VK_API_VERSION_PATCH(p->api_version));
		json_key(&j, "vulkan_version"), json_string(&j, buf);
		json_key(&j, "driver");
		json_object_begin(&j);
		json_key(&j, "name"), json_string(&j, p->driver_name);
		json_key(&j, "info"), json_string(&j, p->driver_info);
		json_key(&j, "id"), json_u64(&j, p->driver_id);
		json_key(&j, "version"), json_string(&j, p->driver_version_str);
		json_key(&j, "version_raw"), json_u64(&j, p->driver_version);
		json_object_end(&j);

		json_key(&j, "subgroup");
		json_object_begin(&j);
		json_key(&j, "size"), json_u64(&j, p->subgroup_size);
		json_key(&j, "min_size"), json_u64(&j, p->subgroup_min);
		json_key(&j, "max_size"), json_u64(&j, p->subgroup_max);
		json_key(&j, "size_control"), json_bool(&j, p->subgroup_size_control);
		json_key(&j, "compute_full_subgroups"), json_bool(&j, p->compute_full_subgroups);
		subgroup_ops_string(buf, sizeof buf, p->subgroup_ops);
		json_key(&j, "operations"), json_string(&j, buf);
		json_object_end(&j);

		json_key(&j, "compute");
		json_object_begin(&j);
		json_key(&j, "max_shared_memory"), json_u64(&j, p->max_shared_memory);
		json_key(&j, "max_workgroup_invocations"), json_u64(&j, p->max_workgroup_invocations);
		json_key(&j, "max_workgroup_size");
		json_array_begin(&j);
		for (int k = 0; k < 3; k++) json_u64(&j, p->max_workgroup_size[k]);
		json_array_end(&j);
		json_key(&j, "max_workgroup_count");
		json_array_begin(&j);
		for (int k = 0; k < 3; k++) json_u64(&j, p->max_workgroup_count[k]);
		json_array_end(&j);
		json_key(&j, "max_push_constants"), json_u64(&j, p->max_push_constants);
		json_object_end(&j);

		json_key(&j, "features");
		json_object_begin(&j);
		json_key(&j, "fp16"), json_bool(&j, p->fp16);
		json_key(&j, "int8"), json_bool(&j, p->int8);
		json_key(&j, "int16"), json_bool(&j, p->int16);
		json_key(&j, "int64"), json_bool(&j, p->int64);
		json_key(&j, "storage_16bit"), json_bool(&j, p->storage16);
		json_key(&j, "storage_8bit"), json_bool(&j, p->storage8);
		json_key(&j, "integer_dot_product"), json_bool(&j, p->integer_dot);
		json_key(&j, "int8_dot_accelerated"), json_bool(&j, p->int8_dot_accelerated);
		json_key(&j, "cooperative_matrix"), json_bool(&j, p->coopmat);
		json_key(&j, "memory_budget"), json_bool(&j, p->memory_budget);
		json_object_end(&j);

		json_key(&j, "cooperative_matrix_shapes");
		json_array_begin(&j);
		for (uint32_t k = 0; k < p->n_coopmat; k++) {
			const struct gpu_coopmat_shape *s = &p->coopmat_shapes[k];
			json_object_begin(&j);
			json_key(&j, "m"), json_u64(&j, s->m);
			json_key(&j, "n"), json_u64(&j, s->n);
			json_key(&j, "k"), json_u64(&j, s->k);
			json_key(&j, "a"), json_string(&j, component_name(s->a_type));
			json_key(&j, "b"), json_string(&j, component_name(s->b_type));
			json_key(&j, "c"), json_string(&j, component_name(s->c_type));
			json_key(&j, "result"), json_string(&j, component_name(s->result_type));
			json_key(&j, "saturating"), json_bool(&j, s->saturating);
			json_key(&j, "scope"), json_string(&j, scope_name(s->scope));
			json_object_end(&j);
		}
		json_array_end(&j);

		json_key(&j, "memory");
		json_object_begin(&j);
		json_key(&j, "uma"), json_bool(&j, p->uma);
		json_key(&j, "max_storage_buffer_range"), json_u64(&j, p->max_storage_buffer_range);
		json_key(&j, "max_allocation_size"), json_u64(&j, p->max_allocation_size);
		json_key(&j, "max_buffer_size"), json_u64(&j, p->max_buffer_size);
		json_key(&j, "min_storage_offset_alignment"), json_u64(&j, p->min_storage_offset_alignment);
		json_key(&j, "heaps");
		json_array_begin(&j);
		for (uint32_t k = 0; k < p->n_heaps; k++) {
			json_object_begin(&j);
			json_key(&j, "size"), json_u64(&j, p->heaps[k].size);
			json_key(&j, "device_local"), json_bool(&j, p->heaps[k].device_local);
			json_key(&j, "budget");
			if (p->memory_budget)
				json_u64(&j, p->heaps[k].budget);
			else
				json_null(&j);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);

		json_key(&j, "timestamps");
		json_object_begin(&j);
		json_key(&j, "valid_bits"), json_u64(&j, p->timestamp_valid_bits);
		json_key(&j, "period_ns"), json_double(&j, p->timestamp_period);
		json_object_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
}

static const char *yes(bool b) { return b ? "yes" : "no"; }

static void print_text(const struct gpu_profile *ps, uint32_t n)
{
	int def = default_device(ps, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct gpu_profile *p = &ps[i];
		char ops[256];
		subgroup_ops_string(ops, sizeof ops, p->subgroup_ops);
		printf("device %u: %s%s\n", i, p->name, (int)i == def ? "  (default)" : "");
		printf("  vendor      %s (0x%04x), device 0x%04x, %s\n", p->vendor, p->vendor_id, p->device_id, p->type);
		printf("  driver      %s %s, version %s\n", p->driver_name, p->driver_info, p->driver_version_str);
		printf("  vulkan      %u.%u.%u\n", VK_API_VERSION_MAJOR(p->api_version), VK_API_VERSION_MINOR(p->api_version),
		       VK_API_VERSION_PATCH(p->api_version));
		if (!p->usable) {
			printf("  not usable: %s\n\n", p->unusable_reason);
			continue;
		}
		printf("  subgroup    %u (range %u..%u, size control %s, full subgroups %s)\n", p->subgroup_size,
		       p->subgroup_min, p->subgroup_max, yes(p->subgroup_size_control), yes(p->compute_full_subgroups));
		printf("              operations: %s\n", ops);
		printf("  workgroup   up to %u invocations (%u x %u x %u), %u KiB shared memory\n", p->max_workgroup_invocations,
		       p->max_workgroup_size[0], p->max_workgroup_size[1], p->max_workgroup_size[2], p->max_shared_memory / 1024);
		printf("  grid        up to %u x %u x %u workgroups, %u bytes of push constants\n", p->max_workgroup_count[0],
		       p->max_workgroup_count[1], p->max_workgroup_count[2], p->max_push_constants);
		printf("  arithmetic  fp16 %s, int8 %s, int16 %s, int64 %s, integer dot %s (int8 accelerated %s)\n", yes(p->fp16),
		       yes(p->int8), yes(p->int16), yes(p->int64), yes(p->integer_dot), yes(p->int8_dot_accelerated));
		printf("  storage     16-bit %s, 8-bit %s\n", yes(p->storage16), yes(p->storage8));
		printf("  coopmat     %s", p->coopmat ? "VK_KHR_cooperative_matrix" : "no");
		for (uint32_t k = 0; k < p->n_coopmat; k++) {
			const struct gpu_coopmat_shape *s = &p->coopmat_shapes[k];
			printf("%s%ux%ux%u %s*%s+%s->%s (%s)", k % 3 ? ", " : "\n              ", s->m, s->n, s->k,
			       component_name(s->a_type), component_name(s->b_type), component_name(s->c_type),
			       component_name(s->result_type), scope_name(s->scope));
		}
		printf("\n");
		printf("  memory      %s; one binding up to %.0f MiB, one allocation up to %.0f MiB\n",
		       p->uma ? "unified (UMA)" : "dedicated", p->max_storage_buffer_range / 1048576.0,
		       p->max_allocation_size / 1048576.0);
		for (uint32_t k = 0; k < p->n_heaps; k++) {
			printf("              heap %u: %.2f GiB%s", k, p->heaps[k].size / 1073741824.0,
			       p->heaps[k].device_local ? " device-local" : "");
			if (p->memory_budget) printf(", budget %.2f GiB", p->heaps[k].budget / 1073741824.0);
			printf("\n");
		}
		if (p->timestamp_valid_bits)
			printf("  timestamps  %u bits, %.3g ns per tick\n\n", p->timestamp_valid_bits, p->timestamp_period);
		else
			printf("  timestamps  none on the compute queue\n\n");
	}
}

int cmd_devices(int argc, char **argv)
{
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_usage(stdout, "devices");
			return 0;
		} else
			return cli_bad_arg("devices", argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
	}
	struct gpu_profile *ps;
	uint32_t n;
	int st = gpu_enumerate(&ps, &n);
	if (st != VKLLM_OK) return cli_error(st);
	if (as_json)
		print_json(ps, n);
	else
		print_text(ps, n);
	gpu_profiles_free(ps, n);
	return 0;
}
