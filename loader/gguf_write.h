/* GGUF v3 writer, in llama.cpp's conventions (default alignment 32, tensors contiguous in the
 * order they were added, each padded with zeros). Used by `vkllm synth` and by tests that make
 * good and bad files. Streaming: the header is built in memory, tensor data is written by the
 * caller one tensor at a time, so a model larger than memory can be written. */
#ifndef VKLLM_GGUF_WRITE_H
#define VKLLM_GGUF_WRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct gguf_wtensor {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[4];
	uint32_t type;
	uint64_t size;   /* bytes */
	uint64_t offset; /* relative to the data section */
};

struct gguf_writer {
	uint8_t *kv;  /* serialized key-values */
	uint64_t kv_len, kv_cap, n_kv;
	struct gguf_wtensor *tensors;
	uint64_t n_tensors, cap_tensors;
	uint32_t alignment;
	uint64_t data_size;
	uint64_t next_tensor; /* for gguf_write_tensor_data: tensors go in order */
	uint64_t part_written; /* bytes of tensor next_tensor written so far by gguf_write_tensor_part */
	bool oom;             /* a host allocation failed; reported by gguf_write_header */
};

void gguf_writer_init(struct gguf_writer *w);
void gguf_writer_free(struct gguf_writer *w);

void gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v);
void gguf_w_f32(struct gguf_writer *w, const char *key, float v);
void gguf_w_bool(struct gguf_writer *w, const char *key, bool v);
void gguf_w_str(struct gguf_writer *w, const char *key, const char *v);
void gguf_w_arr_i32(struct gguf_writer *w, const char *key, const int32_t *v, uint64_t n);
void gguf_w_arr_u32(struct gguf_writer *w, const char *key, const uint32_t *v, uint64_t n);
void gguf_w_arr_f32(struct gguf_writer *w, const char *key, const float *v, uint64_t n);
void gguf_w_arr_bool(struct gguf_writer *w, const char *key, const bool *v, uint64_t n);
/* strings given with their lengths (they may contain NUL bytes) */
void gguf_w_arr_str(struct gguf_writer *w, const char *key, const char *const *v, const uint64_t *len, uint64_t n);
/* Raw: any value type and bytes, for tests that write malformed files. */
void gguf_w_raw(struct gguf_writer *w, const void *bytes, uint64_t n, bool counts_as_kv);

/* Declares a tensor; its byte size comes from the type's block layout. */
int gguf_w_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne);

/* Writes magic, counts, key-values, tensor infos and the padding before the data. */
int gguf_write_header(struct gguf_writer *w, FILE *f, const char *path);
/* Writes the next tensor's data (exactly its size) and its padding. */
int gguf_write_tensor_data(struct gguf_writer *w, FILE *f, const void *data, uint64_t size, const char *path);
/* The same in pieces, for tensors larger than memory: the padding follows the piece that
 * completes the tensor. Pieces must not cross into the next tensor. */
int gguf_write_tensor_part(struct gguf_writer *w, FILE *f, const void *data, uint64_t size, const char *path);

#endif
