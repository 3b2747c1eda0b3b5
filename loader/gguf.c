/* The GGUF reader and validator of gguf.h. One pass with a bounds-checked cursor; every read says
 * what it was reading so that an error names the field, the values and the file offset. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"
#include "quant.h"

#define MAX_STRING (1ull << 30) /* GGUF_MAX_STRING_LENGTH in gguf.cpp */
#define MAX_ARRAY (1ull << 30)  /* GGUF_MAX_ARRAY_ELEMENTS */

static const uint8_t value_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *gguf_type_name(uint32_t type)
{
	static const char *names[GGUF_TYPE_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
	                                             "bool", "string", "array", "u64", "i64", "f64"};
	return type < GGUF_TYPE_COUNT ? names[type] : "invalid";
}

struct reader {
	const uint8_t *base;
	uint64_t size, pos;
	const char *name;
};

static int need(struct reader *r, uint64_t n, const char *what)
{
	if (n > r->size - r->pos)
		return fail(VKLLM_E_FORMAT, "%s: %s at offset %llu needs %llu bytes but the file ends at %llu", r->name, what,
		            (unsigned long long)r->pos, (unsigned long long)n, (unsigned long long)r->size);
	return VKLLM_OK;
}

static int rd(struct reader *r, void *out, uint64_t n, const char *what)
{
	TRY(need(r, n, what));
	memcpy(out, r->base + r->pos, n); /* little-endian hosts only; see docs/gguf.md */
	r->pos += n;
	return VKLLM_OK;
}

static int rd_str(struct reader *r, struct gguf_str *s, const char *what)
{
	uint64_t at = r->pos;
	TRY(rd(r, &s->len, 8, what));
	if (s->len > MAX_STRING)
		return fail(VKLLM_E_FORMAT, "%s: %s at offset %llu has length %llu (more than 1 GiB)", r->name, what,
		            (unsigned long long)at, (unsigned long long)s->len);
	TRY(need(r, s->len, what));
	s->ptr = (const char *)r->base + r->pos;
	r->pos += s->len;
	return VKLLM_OK;
}

static int skip_value(struct reader *r, uint32_t type, const char *key)
{
	if (type == GGUF_STRING) {
		struct gguf_str s;
		return rd_str(r, &s, key);
	}
	TRY(need(r, value_size[type], key));
	r->pos += value_size[type];
	return VKLLM_OK;
}

static int read_kv(struct reader *r, struct gguf_kv *kv, uint64_t index)
{
	kv->offset = r->pos;
	TRY(rd_str(r, &kv->key, "key"));
	if (kv->key.len == 0)
		return fail(VKLLM_E_FORMAT, "%s: key %llu at offset %llu is empty", r->name, (unsigned long long)index,
		            (unsigned long long)kv->offset);
	char key[128];
	snprintf(key, sizeof key, "key '%.*s'", (int)(kv->key.len < 100 ? kv->key.len : 100), kv->key.ptr);
	int32_t type;
	TRY(rd(r, &type, 4, key));
	if (type < 0 || type >= GGUF_TYPE_COUNT)
		return fail(VKLLM_E_FORMAT, "%s: %s at offset %llu has invalid value type %d", r->name, key,
		            (unsigned long long)kv->offset, type);
	kv->type = (uint32_t)type;
	kv->n = 1;
	if (type != GGUF_ARRAY) {
		kv->data = r->base + r->pos;
		return skip_value(r, kv->type, key);
	}
	int32_t elem;
	TRY(rd(r, &elem, 4, key));
	if (elem < 0 || elem >= GGUF_TYPE_COUNT || elem == GGUF_ARRAY)
		return fail(VKLLM_E_FORMAT, "%s: %s at offset %llu is an array of invalid type %d (nested arrays are not allowed)",
		            r->name, key, (unsigned long long)kv->offset, elem);
	kv->elem_type = (uint32_t)elem;
	TRY(rd(r, &kv->n, 8, key));
	/* the smallest possible encoding of n elements must fit in what is left */
	uint64_t min_each = elem == GGUF_STRING ? 8 : value_size[elem];
	if (kv->n > MAX_ARRAY || kv->n * min_each > r->size - r->pos)
		return fail(VKLLM_E_FORMAT, "%s: %s at offset %llu claims %llu elements, more than the %llu bytes left can hold",
		            r->name, key, (unsigned long long)kv->offset, (unsigned long long)kv->n,
		            (unsigned long long)(r->size - r->pos));
	kv->data = r->base + r->pos;
	if (elem != GGUF_STRING) {
		r->pos += kv->n * min_each;
		return VKLLM_OK;
	}
	for (uint64_t i = 0; i < kv->n; i++) TRY(skip_value(r, GGUF_STRING, key));
	return VKLLM_OK;
}

static int key_order(const void *a, const void *b)
{
	const struct gguf_kv *x = *(const struct gguf_kv *const *)a, *y = *(const struct gguf_kv *const *)b;
	uint64_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.ptr, y->key.ptr, n);
	return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

static int name_order(const void *a, const void *b)
{
	return strcmp((*(const struct gguf_tensor *const *)a)->name, (*(const struct gguf_tensor *const *)b)->name);
}

/* Duplicates are found by sorting pointers: O(n log n), so a hostile file cannot make it hang. */
static int check_unique(struct gguf_file *f, const char *name)
{
	uint64_t n = f->n_kv > f->n_tensors ? f->n_kv : f->n_tensors;
	if (n < 2) return VKLLM_OK;
	const void **p = malloc(n * sizeof *p);
	if (!p) return fail(VKLLM_E_NOMEM, "%s: out of host memory", name);
	int st = VKLLM_OK;
	for (uint64_t i = 0; i < f->n_kv; i++) p[i] = &f->kv[i];
	qsort(p, f->n_kv, sizeof *p, key_order);
	for (uint64_t i = 1; i < f->n_kv && !st; i++)
		if (key_order(&p[i - 1], &p[i]) == 0) {
			const struct gguf_kv *kv = p[i];
			st = fail(VKLLM_E_FORMAT, "%s: duplicate key '%.*s' (at offset %llu)", name, (int)kv->key.len, kv->key.ptr,
			          (unsigned long long)kv->offset);
		}
	for (uint64_t i = 0; i < f->n_tensors && !st; i++) p[i] = &f->tensors[i];
	if (!st) qsort(p, f->n_tensors, sizeof *p, name_order);
	for (uint64_t i = 1; i < f->n_tensors && !st; i++)
		if (name_order(&p[i - 1], &p[i]) == 0) {
			const struct gguf_tensor *t = p[i];
			st = fail(VKLLM_E_FORMAT, "%s: duplicate tensor name '%s' (at offset %llu)", name, t->name,
			          (unsigned long long)t->info_offset);
		}
	free(p);
	return st;
}

static int read_alignment(struct gguf_file *f, const char *name)
{
	f->alignment = GGUF_DEFAULT_ALIGNMENT;
	const struct gguf_kv *kv = gguf_find(f, "general.alignment");
	if (!kv) return VKLLM_OK;
	if (kv->type != GGUF_U32)
		return fail(VKLLM_E_FORMAT, "%s: key 'general.alignment' must be u32 but is %s", name, gguf_type_name(kv->type));
	memcpy(&f->alignment, kv->data, 4);
	if (f->alignment == 0 || (f->alignment & (f->alignment - 1)))
		return fail(VKLLM_E_FORMAT, "%s: general.alignment %u is not a power of two", name, f->alignment);
	return VKLLM_OK;
}

static int read_tensor_info(struct reader *r, struct gguf_tensor *t)
{
	t->info_offset = r->pos;
	struct gguf_str s;
	TRY(rd_str(r, &s, "tensor name"));
	unsigned long long at = t->info_offset;
	if (s.len >= GGUF_MAX_NAME)
		return fail(VKLLM_E_FORMAT, "%s: tensor name at offset %llu is %llu bytes (at most %d)", r->name, at,
		            (unsigned long long)s.len, GGUF_MAX_NAME - 1);
	memcpy(t->name, s.ptr, s.len);
	t->name[s.len] = 0;
	char what[96];
	snprintf(what, sizeof what, "tensor '%s'", t->name);
	TRY(rd(r, &t->n_dims, 4, what));
	if (t->n_dims < 1 || t->n_dims > 4)
		return fail(VKLLM_E_FORMAT, "%s: tensor '%s' at offset %llu has %u dimensions (1 to 4 allowed)", r->name, t->name,
		            at, t->n_dims);
	uint64_t n_elements = 1;
	for (uint32_t d = 0; d < 4; d++) {
		int64_t ne = 1;
		if (d < t->n_dims) TRY(rd(r, &ne, 8, what));
		if (ne <= 0)
			return fail(VKLLM_E_FORMAT, "%s: tensor '%s' at offset %llu has dimension %u = %lld (must be positive)",
			            r->name, t->name, at, d, (long long)ne);
		if ((uint64_t)ne > (uint64_t)INT64_MAX / n_elements)
			return fail(VKLLM_E_FORMAT, "%s: tensor '%s' at offset %llu: element count overflows at dimension %u", r->name,
			            t->name, at, d);
		n_elements *= (uint64_t)ne;
		t->ne[d] = (uint64_t)ne;
	}
	int32_t type;
	TRY(rd(r, &type, 4, what));
	t->type = (uint32_t)type;
	const struct quant_type *qt = quant_type_info(t->type);
	if (!qt)
		return fail(VKLLM_E_FORMAT, "%s: tensor '%s' at offset %llu has %s type id %d", r->name, t->name, at,
		            quant_type_removed(t->type) ? "the removed" : "unknown", type);
	if (t->ne[0] % qt->block_size)
		return fail(VKLLM_E_FORMAT, "%s: tensor '%s': row length %llu is not a multiple of the %s block size %u", r->name,
		            t->name, (unsigned long long)t->ne[0], qt->name, qt->block_size);
	uint64_t row = t->ne[0] / qt->block_size * qt->type_size, rows = n_elements / t->ne[0];
	if (row && rows > UINT64_MAX / 2 / row)
		return fail(VKLLM_E_FORMAT, "%s: tensor '%s': byte size overflows", r->name, t->name);
	t->size = row * rows;
	TRY(rd(r, &t->offset, 8, what));
	return VKLLM_OK;
}

static int parse(struct gguf_file *f, const char *name)
{
	struct reader r = {f->map, f->size, 0, name};
	char magic[4];
	TRY(rd(&r, magic, 4, "magic"));
	if (memcmp(magic, "GGUF", 4) != 0)
		return fail(VKLLM_E_FORMAT, "%s: not a GGUF file (magic %02x %02x %02x %02x, expected \"GGUF\")", name,
		            (uint8_t)magic[0], (uint8_t)magic[1], (uint8_t)magic[2], (uint8_t)magic[3]);
	TRY(rd(&r, &f->version, 4, "version"));
	if (f->version != 2 && f->version != 3) {
		const char *why = f->version == 1 ? " (GGUF v1 is no longer supported; re-convert the model)"
		                  : (f->version & 0xffff) == 0 ? " (a big-endian file?)"
		                                               : "";
		return fail(VKLLM_E_FORMAT, "%s: GGUF version %u is not supported (2 and 3 are)%s", name, f->version, why);
	}
	int64_t n_tensors, n_kv;
	TRY(rd(&r, &n_tensors, 8, "tensor count"));
	TRY(rd(&r, &n_kv, 8, "key-value count"));
	/* each key-value takes at least 13 bytes and each tensor info at least 32: counts beyond
	 * what the file could hold are refused before anything is allocated */
	if (n_tensors < 0 || (uint64_t)n_tensors > (r.size - r.pos) / 32)
		return fail(VKLLM_E_FORMAT, "%s: tensor count %lld at offset 8 is impossible for a file of %llu bytes", name,
		            (long long)n_tensors, (unsigned long long)r.size);
	if (n_kv < 0 || (uint64_t)n_kv > (r.size - r.pos) / 13)
		return fail(VKLLM_E_FORMAT, "%s: key-value count %lld at offset 16 is impossible for a file of %llu bytes", name,
		            (long long)n_kv, (unsigned long long)r.size);
	f->n_tensors = (uint64_t)n_tensors;
	f->n_kv = (uint64_t)n_kv;
	f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
	f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
	if (!f->kv || !f->tensors) return fail(VKLLM_E_NOMEM, "%s: out of host memory", name);
	for (uint64_t i = 0; i < f->n_kv; i++) TRY(read_kv(&r, &f->kv[i], i));
	TRY(read_alignment(f, name));
	for (uint64_t i = 0; i < f->n_tensors; i++) TRY(read_tensor_info(&r, &f->tensors[i]));
	TRY(check_unique(f, name));

	uint64_t a = f->alignment;
	f->data_offset = f->n_tensors ? (r.pos + a - 1) / a * a : r.pos;
	if (f->data_offset > f->size)
		return fail(VKLLM_E_FORMAT, "%s: the tensor data should start at offset %llu but the file ends at %llu", name,
		            (unsigned long long)f->data_offset, (unsigned long long)f->size);
	/* as llama.cpp: tensors are contiguous, in order, each padded to the alignment */
	uint64_t expected = 0;
	for (uint64_t i = 0; i < f->n_tensors; i++) {
		struct gguf_tensor *t = &f->tensors[i];
		if (t->offset != expected)
			return fail(VKLLM_E_FORMAT, "%s: tensor '%s' has data offset %llu, expected %llu (tensors must be contiguous and %u-aligned)",
			            name, t->name, (unsigned long long)t->offset, (unsigned long long)expected, f->alignment);
		uint64_t avail = f->size - f->data_offset;
		if (t->offset > avail || t->size > avail - t->offset)
			return fail(VKLLM_E_FORMAT, "%s: tensor '%s': offset %llu + size %llu past end of file (%llu)", name, t->name,
			            (unsigned long long)(f->data_offset + t->offset), (unsigned long long)t->size,
			            (unsigned long long)f->size);
		t->data = f->map + f->data_offset + t->offset;
		expected = t->offset + (t->size + a - 1) / a * a;
	}
	return VKLLM_OK;
}

int gguf_open_memory(struct gguf_file *f, const void *data, size_t size, const char *name)
{
	memset(f, 0, sizeof *f);
	snprintf(f->path, sizeof f->path, "%s", name);
	f->map = (uint8_t *)data;
	f->size = size;
	int st = parse(f, f->path);
	if (st != VKLLM_OK) gguf_close(f);
	return st;
}

int gguf_open(struct gguf_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return fail(VKLLM_E_IO, "model '%s': %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int err = errno;
		close(fd);
		return fail(VKLLM_E_IO, "model '%s': %s", path, strerror(err));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(VKLLM_E_IO, "model '%s': %s", path, S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
	}
	if (sb.st_size == 0) {
		close(fd);
		return fail(VKLLM_E_FORMAT, "model '%s': the file is empty", path);
	}
	void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int err = errno;
	close(fd); /* the mapping keeps the file */
	if (map == MAP_FAILED) return fail(VKLLM_E_IO, "model '%s': cannot map %lld bytes: %s", path, (long long)sb.st_size, strerror(err));
	int st = gguf_open_memory(f, map, (size_t)sb.st_size, path);
	if (st != VKLLM_OK) {
		munmap(map, (size_t)sb.st_size);
		return st;
	}
	f->mapped = true;
	return VKLLM_OK;
}

void gguf_close(struct gguf_file *f)
{
	if (f->mapped && f->map) munmap(f->map, f->size);
	free(f->kv);
	free(f->tensors);
	memset(f, 0, sizeof *f);
}

const struct gguf_kv *gguf_find(const struct gguf_file *f, const char *key)
{
	size_t len = strlen(key);
	for (uint64_t i = 0; i < f->n_kv; i++)
		if (f->kv[i].key.len == len && memcmp(f->kv[i].key.ptr, key, len) == 0) return &f->kv[i];
	return NULL;
}

const struct gguf_tensor *gguf_tensor(const struct gguf_file *f, const char *name)
{
	for (uint64_t i = 0; i < f->n_tensors; i++)
		if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
	return NULL;
}

/* ---- typed getters ---- */

static int typed(const struct gguf_file *f, const char *key, bool optional, uint32_t type, const struct gguf_kv **out)
{
	*out = gguf_find(f, key);
	if (!*out) return optional ? VKLLM_OK : fail(VKLLM_E_FORMAT, "%s: key '%s' is missing", f->path, key);
	if ((*out)->type != type)
		return fail(VKLLM_E_FORMAT, "%s: key '%s' has type %s, expected %s", f->path, key, gguf_type_name((*out)->type),
		            gguf_type_name(type));
	return VKLLM_OK;
}

int gguf_get_u32(const struct gguf_file *f, const char *key, bool optional, uint32_t *out)
{
	const struct gguf_kv *kv = gguf_find(f, key);
	/* converters write some counts as i32; accept a non-negative i32 where a u32 is asked for */
	if (kv && kv->type == GGUF_I32) {
		int32_t v;
		memcpy(&v, kv->data, 4);
		if (v < 0) return fail(VKLLM_E_FORMAT, "%s: key '%s' is %d, expected a non-negative count", f->path, key, v);
		*out = (uint32_t)v;
		return VKLLM_OK;
	}
	TRY(typed(f, key, optional, GGUF_U32, &kv));
	if (kv) memcpy(out, kv->data, 4);
	return VKLLM_OK;
}

int gguf_get_f32(const struct gguf_file *f, const char *key, bool optional, float *out)
{
	const struct gguf_kv *kv;
	TRY(typed(f, key, optional, GGUF_F32, &kv));
	if (kv) memcpy(out, kv->data, 4);
	return VKLLM_OK;
}

int gguf_get_bool(const struct gguf_file *f, const char *key, bool optional, bool *out)
{
	const struct gguf_kv *kv;
	TRY(typed(f, key, optional, GGUF_BOOL, &kv));
	if (kv) *out = kv->data[0] != 0;
	return VKLLM_OK;
}

int gguf_get_str(const struct gguf_file *f, const char *key, bool optional, char *out, size_t n)
{
	const struct gguf_kv *kv;
	TRY(typed(f, key, optional, GGUF_STRING, &kv));
	if (!kv) return VKLLM_OK;
	uint64_t len;
	memcpy(&len, kv->data, 8);
	size_t c = len < n - 1 ? (size_t)len : n - 1;
	memcpy(out, kv->data + 8, c);
	out[c] = 0;
	return VKLLM_OK;
}

int gguf_get_arr_int(const struct gguf_file *f, const struct gguf_kv *kv, uint64_t i, int64_t *out)
{
	if (kv->type != GGUF_ARRAY || i >= kv->n)
		return fail(VKLLM_E_FORMAT, "%s: key '%.*s': element %llu of a %s", f->path, (int)kv->key.len, kv->key.ptr,
		            (unsigned long long)i, kv->type == GGUF_ARRAY ? "shorter array" : "non-array");
	const uint8_t *p = kv->data + i * value_size[kv->elem_type];
	switch (kv->elem_type) {
	case GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *out = v; return VKLLM_OK; }
	case GGUF_I32: { int32_t v; memcpy(&v, p, 4); *out = v; return VKLLM_OK; }
	case GGUF_BOOL: *out = p[0] != 0; return VKLLM_OK;
	default:
		return fail(VKLLM_E_FORMAT, "%s: key '%.*s' is an array of %s, expected integers", f->path, (int)kv->key.len,
		            kv->key.ptr, gguf_type_name(kv->elem_type));
	}
}

int gguf_get_arr_str(const struct gguf_file *f, const struct gguf_kv *kv, struct gguf_str *out)
{
	if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING)
		return fail(VKLLM_E_FORMAT, "%s: key '%.*s' is not an array of strings", f->path, (int)kv->key.len, kv->key.ptr);
	const uint8_t *p = kv->data; /* validated at open: every length fits */
	for (uint64_t i = 0; i < kv->n; i++) {
		memcpy(&out[i].len, p, 8);
		out[i].ptr = (const char *)p + 8;
		p += 8 + out[i].len;
	}
	return VKLLM_OK;
}

int gguf_fuzz_one(const uint8_t *data, size_t size)
{
	struct gguf_file f;
	int st = gguf_open_memory(&f, data, size, "fuzz");
	if (st == VKLLM_OK) {
		/* touch everything the validator vouched for */
		volatile uint8_t sink = 0;
		for (uint64_t i = 0; i < f.n_tensors; i++)
			if (f.tensors[i].size) sink ^= ((const uint8_t *)f.tensors[i].data)[f.tensors[i].size - 1];
		for (uint64_t i = 0; i < f.n_kv; i++)
			if (f.kv[i].type == GGUF_ARRAY && f.kv[i].elem_type == GGUF_STRING) {
				struct gguf_str *s = malloc(f.kv[i].n * sizeof *s + 1);
				if (s && gguf_get_arr_str(&f, &f.kv[i], s) == VKLLM_OK && f.kv[i].n) sink ^= (uint8_t)s[f.kv[i].n - 1].len;
				free(s);
			}
		(void)sink;
		gguf_close(&f);
	}
	return st;
}
