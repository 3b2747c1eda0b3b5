/* The GGUF writer of gguf_write.h. */
#include "gguf_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf.h"
#include "quant.h"

void gguf_writer_init(struct gguf_writer *w)
{
	memset(w, 0, sizeof *w);
	w->alignment = GGUF_DEFAULT_ALIGNMENT;
}

void gguf_writer_free(struct gguf_writer *w)
{
	free(w->kv);
	free(w->tensors);
	memset(w, 0, sizeof *w);
}

static void put(struct gguf_writer *w, const void *p, uint64_t n)
{
	if (w->oom) return;
	if (w->kv_len + n > w->kv_cap) {
		uint64_t cap = w->kv_cap ? w->kv_cap : 4096;
		while (cap < w->kv_len + n) cap *= 2;
		uint8_t *nk = realloc(w->kv, cap);
		if (!nk) {
			w->oom = true;
			return;
		}
		w->kv = nk, w->kv_cap = cap;
	}
	memcpy(w->kv + w->kv_len, p, n);
	w->kv_len += n;
}

static void put_u32(struct gguf_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct gguf_writer *w, uint64_t v) { put(w, &v, 8); }
static void put_str(struct gguf_writer *w, const char *s, uint64_t len)
{
	put_u64(w, len);
	put(w, s, len);
}

static void head(struct gguf_writer *w, const char *key, uint32_t type)
{
	put_str(w, key, strlen(key));
	put_u32(w, type);
	w->n_kv++;
}

void gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v) { head(w, key, GGUF_U32), put(w, &v, 4); }
void gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v) { head(w, key, GGUF_I32), put(w, &v, 4); }
void gguf_w_f32(struct gguf_writer *w, const char *key, float v) { head(w, key, GGUF_F32), put(w, &v, 4); }
void gguf_w_bool(struct gguf_writer *w, const char *key, bool v)
{
	uint8_t b = v;
	head(w, key, GGUF_BOOL), put(w, &b, 1);
}
void gguf_w_str(struct gguf_writer *w, const char *key, const char *v) { head(w, key, GGUF_STRING), put_str(w, v, strlen(v)); }

static void arr(struct gguf_writer *w, const char *key, uint32_t elem, const void *v, uint64_t n, uint64_t each)
{
	head(w, key, GGUF_ARRAY);
	put_u32(w, elem);
	put_u64(w, n);
	put(w, v, n * each);
}

void gguf_w_arr_i32(struct gguf_writer *w, const char *key, const int32_t *v, uint64_t n) { arr(w, key, GGUF_I32, v, n, 4); }
void gguf_w_arr_u32(struct gguf_writer *w, const char *key, const uint32_t *v, uint64_t n) { arr(w, key, GGUF_U32, v, n, 4); }
void gguf_w_arr_f32(struct gguf_writer *w, const char *key, const float *v, uint64_t n) { arr(w, key, GGUF_F32, v, n, 4); }
void gguf_w_arr_bool(struct gguf_writer *w, const char *key, const bool *v, uint64_t n)
{
	head(w, key, GGUF_ARRAY);
	put_u32(w, GGUF_BOOL);
	put_u64(w, n);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t b = v[i];
		put(w, &b, 1);
	}
}

void gguf_w_arr_str(struct gguf_writer *w, const char *key, const char *const *v, const uint64_t *len, uint64_t n)
{
	head(w, key, GGUF_ARRAY);
	put_u32(w, GGUF_STRING);
	put_u64(w, n);
	for (uint64_t i = 0; i < n; i++) put_str(w, v[i], len ? len[i] : strlen(v[i]));
}

void gguf_w_raw(struct gguf_writer *w, const void *bytes, uint64_t n, bool counts_as_kv)
{
	put(w, bytes, n);
	if (counts_as_kv) w->n_kv++;
}

int gguf_w_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne)
{
	const struct quant_type *qt = quant_type_info(type);
	if (!qt) return fail(VKLLM_E_ARG, "tensor '%s': unknown type id %u", name, type);
	if (strlen(name) >= GGUF_MAX_NAME) return fail(VKLLM_E_ARG, "tensor name '%s' is longer than 63 bytes", name);
	if (n_dims < 1 || n_dims > 4) return fail(VKLLM_E_ARG, "tensor '%s': %u dimensions", name, n_dims);
	if (ne[0] % qt->block_size)
		return fail(VKLLM_E_ARG, "tensor '%s': row length %llu is not a multiple of the %s block size %u", name,
		            (unsigned long long)ne[0], qt->name, qt->block_size);
	if (w->n_tensors == w->cap_tensors) {
		uint64_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
		struct gguf_wtensor *nt = realloc(w->tensors, cap * sizeof *nt);
		if (!nt) return fail(VKLLM_E_NOMEM, "out of host memory");
		w->tensors = nt, w->cap_tensors = cap;
	}
	struct gguf_wtensor *t = &w->tensors[w->n_tensors++];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->n_dims = n_dims;
	t->type = type;
	uint64_t rows = 1;
	for (uint32_t d = 0; d < 4; d++) {
		t->ne[d] = d < n_dims ? ne[d] : 1;
		if (d > 0) rows *= t->ne[d];
	}
	t->size = t->ne[0] / qt->block_size * qt->type_size * rows;
	t->offset = w->data_size;
	uint64_t a = w->alignment;
	w->data_size += (t->size + a - 1) / a * a;
	return VKLLM_OK;
}

static int write_all(FILE *f, const void *p, uint64_t n, const char *path)
{
	if (n && fwrite(p, 1, n, f) != n) return fail(VKLLM_E_IO, "writing '%s': %s", path, strerror(errno));
	return VKLLM_OK;
}

static int pad(FILE *f, uint64_t pos, uint64_t a, const char *path)
{
	static const uint8_t zeros[64];
	uint64_t n = (a - pos % a) % a;
	while (n) {
		uint64_t c = n < sizeof zeros ? n : sizeof zeros;
		TRY(write_all(f, zeros, c, path));
		n -= c;
	}
	return VKLLM_OK;
}

int gguf_write_header(struct gguf_writer *w, FILE *f, const char *path)
{
	if (w->oom) return fail(VKLLM_E_NOMEM, "out of host memory building '%s'", path);
	uint32_t version = 3;
	uint64_t counts[2] = {w->n_tensors, w->n_kv};
	TRY(write_all(f, "GGUF", 4, path));
	TRY(write_all(f, &version, 4, path));
	TRY(write_all(f, counts, 16, path));
	TRY(write_all(f, w->kv, w->kv_len, path));
	uint64_t pos = 24 + w->kv_len;
	for (uint64_t i = 0; i < w->n_tensors; i++) {
		const struct gguf_wtensor *t = &w->tensors[i];
		uint64_t len = strlen(t->name);
		TRY(write_all(f, &len, 8, path));
		TRY(write_all(f, t->name, len, path));
		TRY(write_all(f, &t->n_dims, 4, path));
		TRY(write_all(f, t->ne, 8ull * t->n_dims, path));
		TRY(write_all(f, &t->type, 4, path));
		TRY(write_all(f, &t->offset, 8, path));
		pos += 8 + len + 4 + 8ull * t->n_dims + 4 + 8;
	}
	if (w->n_tensors) TRY(pad(f, pos, w->alignment, path));
	w->next_tensor = 0;
	w->part_written = 0;
	return VKLLM_OK;
}

int gguf_write_tensor_data(struct gguf_writer *w, FILE *f, const void *data, uint64_t size, const char *path)
{
	CHECK(w->next_tensor < w->n_tensors);
	const struct gguf_wtensor *t = &w->tensors[w->next_tensor++];
	CHECK(size == t->size);
	TRY(write_all(f, data, size, path));
	return pad(f, t->size, w->alignment, path);
}

int gguf_write_tensor_part(struct gguf_writer *w, FILE *f, const void *data, uint64_t size, const char *path)
{
	CHECK(w->next_tensor < w->n_tensors);
	const struct gguf_wtensor *t = &w->tensors[w->next_tensor];
	CHECK(w->part_written + size <= t->size);
	TRY(write_all(f, data, size, path));
	w->part_written += size;
	if (w->part_written < t->size) return VKLLM_OK;
	w->next_tensor++;
	w->part_written = 0;
	return pad(f, t->size, w->alignment, path);
}
