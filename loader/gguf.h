/* GGUF v2/v3 reader: maps the file and validates everything before anything uses it.
 *
 * Rules are llama.cpp's (gguf.cpp + llama-model-loader), so a file vkllm accepts is one llama.cpp
 * accepts and vice versa: magic and version; counts against the bytes left; string and array
 * lengths; value types (no nested arrays); unique, non-empty keys; general.alignment a u32 power
 * of two; tensor names < 64 bytes and unique; n_dims 1..4; dims >= 0 with no overflow; known
 * tensor types and row lengths that are whole blocks; offsets equal to the running padded sum
 * (tensors are contiguous and in order); the data inside the file. Every error names the field,
 * the values and the file offset. Nothing is copied: strings and tensor data point into the map. */
#ifndef VKLLM_GGUF_H
#define VKLLM_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gguf_value_type {
	GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6,
	GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12,
	GGUF_TYPE_COUNT = 13,
};

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NAME 64 /* tensor names are at most 63 bytes, as in ggml */

/* A string inside the mapping: not NUL-terminated. */
struct gguf_str {
	const char *ptr;
	uint64_t len;
};

struct gguf_kv {
	struct gguf_str key;
	uint32_t type;       /* enum gguf_value_type */
	uint32_t elem_type;  /* for arrays */
	uint64_t n;          /* array length; 1 otherwise */
	const uint8_t *data; /* the value, or the first array element */
	uint64_t offset;     /* file offset of the key, for messages */
};

struct gguf_tensor {
	char name[GGUF_MAX_NAME];
	uint32_t n_dims;
	uint64_t ne[4];      /* ne[0] is the row length (contiguous); missing dims are 1 */
	uint32_t type;       /* ggml type id (loader/quant.h) */
	uint64_t offset;     /* relative to the data section */
	uint64_t size;       /* bytes */
	const void *data;    /* in the mapping */
	uint64_t info_offset; /* file offset of the tensor info, for messages */
};

struct gguf_file {
	char path[512];
	uint8_t *map;        /* the mapped file (or caller memory for gguf_open_memory) */
	uint64_t size;
	bool mapped;
	uint32_t version;
	uint64_t n_kv, n_tensors;
	struct gguf_kv *kv;  /* [n_kv] */
	struct gguf_tensor *tensors; /* [n_tensors] */
	uint32_t alignment;
	uint64_t data_offset;
};

/* Maps and validates a file. On failure everything is released and the message names the file. */
int gguf_open(struct gguf_file *f, const char *path);
/* Validates a file already in memory (tests, fuzzing). The memory must outlive f. */
int gguf_open_memory(struct gguf_file *f, const void *data, size_t size, const char *name);
void gguf_close(struct gguf_file *f);

const struct gguf_kv *gguf_find(const struct gguf_file *f, const char *key);
const struct gguf_tensor *gguf_tensor(const struct gguf_file *f, const char *name);
const char *gguf_type_name(uint32_t type);

/* Typed getters: VKLLM_E_FORMAT naming the key and both types when the stored type differs (as
 * llama.cpp's get_key does); a missing key is VKLLM_E_FORMAT too unless `optional` (then the
 * output is left untouched and VKLLM_OK is returned). */
int gguf_get_u32(const struct gguf_file *f, const char *key, bool optional, uint32_t *out);
int gguf_get_f32(const struct gguf_file *f, const char *key, bool optional, float *out);
int gguf_get_bool(const struct gguf_file *f, const char *key, bool optional, bool *out);
/* Copies a string value into out (NUL-terminated, truncated to n-1 bytes). */
int gguf_get_str(const struct gguf_file *f, const char *key, bool optional, char *out, size_t n);
/* An array whose elements are u32/i32 (or bool for per-layer flags): element i as an integer. */
int gguf_get_arr_int(const struct gguf_file *f, const struct gguf_kv *kv, uint64_t i, int64_t *out);
/* Fills out[0..kv->n) with the strings of a string array, in one pass. */
int gguf_get_arr_str(const struct gguf_file *f, const struct gguf_kv *kv, struct gguf_str *out);

/* The fuzzing entry point: validate arbitrary bytes, never crash (tests/fuzz/). */
int gguf_fuzz_one(const uint8_t *data, size_t size);

#endif
