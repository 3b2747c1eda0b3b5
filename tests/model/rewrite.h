/* Rewrites a GGUF file with one thing changed, for tests and the bad-file corpus: keys and tensor
 * infos are copied byte for byte unless an edit touches them, and tensor data is copied (or zeros
 * when a tensor's size changed). An edit with nothing set writes an identical file. */
#ifndef VKLLM_TEST_REWRITE_H
#define VKLLM_TEST_REWRITE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"
#include "loader/quant.h"

struct edit {
	const char *drop_key;       /* leave this key out */
	const char *set_arch;       /* general.architecture */
	const char *f32_key;        /* replace this key with an f32 1.0 */
	const char *u32_key;        /* replace this key with u32 u32_value */
	const char *extra_u32_key;  /* add this key as u32 u32_value */
	uint32_t u32_value;
	const char *drop_tensor;
	const char *grow_tensor;    /* ne[1] += 32 */
	const char *extra_tensor;   /* add a [64] f32 tensor */
};

static inline int rewrite(const char *src, const char *dst, const struct edit *e)
{
	struct gguf_file f;
	TRY(gguf_open(&f, src));
	struct gguf_writer w;
	gguf_writer_init(&w);
	for (uint64_t i = 0; i < f.n_kv; i++) {
		const struct gguf_kv *kv = &f.kv[i];
		uint64_t end = i + 1 < f.n_kv ? f.kv[i + 1].offset : f.tensors ? f.tensors[0].info_offset : f.data_offset;
		char key[128];
		snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
		if (e->drop_key && !strcmp(key, e->drop_key)) continue;
		if (e->set_arch && !strcmp(key, "general.architecture")) {
			gguf_w_str(&w, key, e->set_arch);
			continue;
		}
		if (e->f32_key && !strcmp(key, e->f32_key)) {
			gguf_w_f32(&w, key, 1.0f);
			continue;
		}
		if (e->u32_key && !strcmp(key, e->u32_key)) {
			gguf_w_u32(&w, key, e->u32_value);
			continue;
		}
		gguf_w_raw(&w, f.map + kv->offset, end - kv->offset, true);
	}
	if (e->extra_u32_key) gguf_w_u32(&w, e->extra_u32_key, e->u32_value);
	for (uint64_t i = 0; i < f.n_tensors; i++) {
		struct gguf_tensor *t = &f.tensors[i];
		if (e->drop_tensor && !strcmp(t->name, e->drop_tensor)) continue;
		uint64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
		if (e->grow_tensor && !strcmp(t->name, e->grow_tensor)) ne[1] += 32;
		TRY(gguf_w_tensor(&w, t->name, t->type, t->n_dims, ne));
	}
	uint64_t ne64[1] = {64};
	if (e->extra_tensor) TRY(gguf_w_tensor(&w, e->extra_tensor, QT_F32, 1, ne64));
	FILE *out = fopen(dst, "wb");
	int st = gguf_write_header(&w, out, dst);
	for (uint64_t i = 0; !st && i < w.n_tensors; i++) {
		const struct gguf_tensor *t = gguf_tensor(&f, w.tensors[i].name);
		uint8_t *zeros = NULL;
		const void *data = t && t->size == w.tensors[i].size ? t->data : (zeros = calloc(1, w.tensors[i].size));
		st = gguf_write_tensor_data(&w, out, data, w.tensors[i].size, dst);
		free(zeros);
	}
	fclose(out);
	gguf_writer_free(&w);
	gguf_close(&f);
	return st;
}

#endif
