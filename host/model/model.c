/* Opening a model: GGUF validation, architecture, hyperparameters, vocabulary keys, then the
 * tensor set against the recipe. The same checks llama.cpp's loader makes, so a file that passes
 * here is one llama.cpp would load (and a file it refuses, we refuse with the tensor's name). */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "loader/quant.h"

void model_describe_layers(const struct arch *a, const struct hparams *hp, struct layer_desc *layers)
{
	for (uint32_t il = 0; il < hp->n_layer; il++) a->layer(hp, il, &layers[il]);
}

/* head_count_kv 0 marks a hybrid's recurrent layer: on a layer with attention it is an error */
static int check_kv_heads(const struct model_file *m)
{
	for (uint32_t il = 0; il < m->hp.n_layer; il++)
		if (!attn_is_recurrent(m->layers[il].attn) && m->hp.n_head_kv[il] == 0)
			return fail(VKLLM_E_FORMAT, "%s: layer %u has attention but %s.attention.head_count_kv is 0 there", m->gguf.path,
			            il, m->hp.arch);
	return VKLLM_OK;
}

static int load_vocab_info(struct model_file *m)
{
	const struct gguf_file *f = &m->gguf;
	struct vocab_info *v = &m->vocab;
	TRY(gguf_get_str(f, "tokenizer.ggml.model", false, v->model, sizeof v->model));
	TRY(gguf_get_str(f, "tokenizer.ggml.pre", true, v->pre, sizeof v->pre));
	if (strcmp(v->model, "gpt2") && strcmp(v->model, "llama"))
		return fail(VKLLM_E_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported (gpt2 and llama are)", f->path, v->model);
	const struct gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
	if (!tokens || tokens->type != GGUF_ARRAY || tokens->elem_type != GGUF_STRING || tokens->n == 0 || tokens->n > UINT32_MAX)
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.tokens must be a non-empty array of strings", f->path);
	v->n_tokens = (uint32_t)tokens->n;
	/* per-token arrays must cover every token (llama.cpp reads them by token id) */
	const char *per_token[] = {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"};
	const uint32_t elem[] = {GGUF_F32, GGUF_I32};
	for (int i = 0; i < 2; i++) {
		const struct gguf_kv *kv = gguf_find(f, per_token[i]);
		if (!kv) continue;
		if (kv->type != GGUF_ARRAY || kv->elem_type != elem[i] || kv->n < tokens->n)
			return fail(VKLLM_E_FORMAT, "%s: %s must be an array of %s with %u entries (one per token)", f->path,
			            per_token[i], gguf_type_name(elem[i]), v->n_tokens);
	}
	const struct gguf_kv *merges = gguf_find(f, "tokenizer.ggml.merges");
	if (merges && (merges->type != GGUF_ARRAY || merges->elem_type != GGUF_STRING))
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.merges must be an array of strings", f->path);
	if (!merges && !strcmp(v->model, "gpt2"))
		return fail(VKLLM_E_FORMAT, "%s: a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges", f->path);
	v->n_merges = merges ? (uint32_t)merges->n : 0;
	v->has_chat_template = gguf_find(f, "tokenizer.chat_template") != NULL;
	/* special token ids out of range are ignored by llama.cpp with a warning; we refuse nothing */
	if (m->hp.n_vocab < v->n_tokens)
		return fail(VKLLM_E_FORMAT, "%s: %s.vocab_size %u is smaller than the tokenizer's %u tokens", f->path, m->hp.arch,
		            m->hp.n_vocab, v->n_tokens);
	return VKLLM_OK;
}

static bool same_shape(const struct tensor_spec *s, const struct gguf_tensor *t)
{
	for (int d = 0; d < 4; d++)
		if (s->ne[d] != t->ne[d]) return false;
	return true;
}

/* Every required tensor present, every present tensor the right shape and a type vkllm can run,
 * and no tensor the recipe does not know (llama.cpp: "wrong number of tensors"). */
static int check_tensors(struct model_file *m)
{
	const struct gguf_file *f = &m->gguf;
	m->tensors = calloc(m->specs.n ? m->specs.n : 1, sizeof *m->tensors);
	bool *used = calloc(f->n_tensors ? f->n_tensors : 1, 1);
	if (!m->tensors || !used) {
		free(used);
		return fail(VKLLM_E_NOMEM, "out of host memory");
	}
	int st = VKLLM_OK;
	char want[64], got[64];
	for (uint32_t i = 0; i < m->specs.n && !st; i++) {
		const struct tensor_spec *s = &m->specs.items[i];
		const struct gguf_tensor *t = gguf_tensor(f, s->name);
		tensor_shape_str(want, sizeof want, s->n_dims, s->ne);
		if (!t) {
			if (s->required) st = fail(VKLLM_E_FORMAT, "%s: missing tensor '%s' (expected shape %s)", f->path, s->name, want);
			continue;
		}
		used[t - f->tensors] = true;
		if (!same_shape(s, t)) {
			tensor_shape_str(got, sizeof got, t->n_dims, t->ne);
			st = fail(VKLLM_E_FORMAT, "%s: tensor '%s' has shape %s, expected %s", f->path, s->name, got, want);
			continue;
		}
		const struct quant_type *qt = quant_type_info(t->type);
		if (!qt->can_dequantize)
			st = fail(VKLLM_E_UNSUPPORTED, "%s: tensor '%s' has type %s, which vkllm cannot run yet", f->path, s->name, qt->name);
		m->tensors[i] = t;
	}
	/* the multi-token-prediction blocks after the trunk are loaded and skipped, whatever they hold */
	for (uint64_t i = 0; i < f->n_tensors && m->hp.n_layer_nextn; i++) {
		unsigned il;
		if (sscanf(f->tensors[i].name, "blk.%u.", &il) == 1 && il >= m->hp.n_layer && il < m->hp.n_layer + m->hp.n_layer_nextn)
			used[i] = true;
	}
	for (uint64_t i = 0; i < f->n_tensors && !st; i++)
		if (!used[i])
			st = fail(VKLLM_E_FORMAT, "%s: unexpected tensor '%s' for architecture %s", f->path, f->tensors[i].name, m->arch->name);
	free(used);
	return st;
}

/* After the GGUF structure is validated: everything the architecture says. */
static int check_model(struct model_file *m)
{
	const struct gguf_file *f = &m->gguf;
	const char *path = f->path;
	TRY(gguf_get_str(f, "general.architecture", false, m->hp.arch, sizeof m->hp.arch));
	m->arch = arch_find(m->hp.arch);
	if (!m->arch) {
		char list[256] = "";
		for (const struct arch *const *a = arch_all(); *a; a++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", (*a)->name);
		return fail(VKLLM_E_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)", path, m->hp.arch, list);
	}
	TRY(hparams_load(&m->hp, f, m->arch->keys));
	if (m->arch->finish) TRY(m->arch->finish(&m->hp, f));
	TRY(load_vocab_info(m));
	model_describe_layers(m->arch, &m->hp, m->layers);
	TRY(check_kv_heads(m));
	TRY(tensor_list_build(&m->specs, m->arch, &m->hp, m->layers));
	TRY(check_tensors(m));
	m->tied_output = gguf_tensor(f, "output.weight") == NULL;
	return VKLLM_OK;
}

int model_file_open(struct model_file *m, const char *path)
{
	memset(m, 0, sizeof *m);
	int st = gguf_open(&m->gguf, path);
	if (!st) st = check_model(m);
	if (st) model_file_close(m);
	return st;
}

int model_file_open_memory(struct model_file *m, const void *data, size_t size, const char *name)
{
	memset(m, 0, sizeof *m);
	int st = gguf_open_memory(&m->gguf, data, size, name);
	if (!st) st = check_model(m);
	if (st) model_file_close(m);
	return st;
}

void model_file_close(struct model_file *m)
{
	gguf_close(&m->gguf);
	tensor_list_free(&m->specs);
	free(m->tensors);
	memset(m, 0, sizeof *m);
}
