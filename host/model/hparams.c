/* Generic hyperparameters, read as llama.cpp's llama_model_base::load_hparams reads them (same
 * keys, same defaults, same per-layer arrays), then the architecture's own key table. */
#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"

static void key_name(char *out, size_t n, const char *arch, const char *suffix)
{
	snprintf(out, n, "%s.%s", arch, suffix);
}

/* A scalar, or an array with one value per layer (llama.cpp's get_key_or_arr). */
static int get_u32_or_arr(const struct gguf_file *f, const char *arch, const char *suffix, uint32_t n_layer,
                          bool required, uint32_t *out, bool *found)
{
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	const struct gguf_kv *kv = gguf_find(f, key);
	*found = kv != NULL;
	if (!kv) return required ? fail(VKLLM_E_FORMAT, "%s: key '%s' is missing", f->path, key) : VKLLM_OK;
	if (kv->type != GGUF_ARRAY) {
		uint32_t v;
		TRY(gguf_get_u32(f, key, false, &v));
		for (uint32_t i = 0; i < n_layer; i++) out[i] = v;
		return VKLLM_OK;
	}
	if (kv->n != n_layer)
		return fail(VKLLM_E_FORMAT, "%s: key '%s' has %llu per-layer values, expected %u (block_count)", f->path, key,
		            (unsigned long long)kv->n, n_layer);
	for (uint32_t i = 0; i < n_layer; i++) {
		int64_t v;
		TRY(gguf_get_arr_int(f, kv, i, &v));
		if (v < 0 || v > UINT32_MAX)
			return fail(VKLLM_E_FORMAT, "%s: key '%s'[%u] = %lld is out of range", f->path, key, i, (long long)v);
		out[i] = (uint32_t)v;
	}
	return VKLLM_OK;
}

static int get_u32(const struct gguf_file *f, const char *arch, const char *suffix, bool required, uint32_t *out)
{
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	return gguf_get_u32(f, key, !required, out);
}

static int get_f32(const struct gguf_file *f, const char *arch, const char *suffix, bool required, float *out)
{
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	return gguf_get_f32(f, key, !required, out);
}

static int load_rope(struct hparams *hp, const struct gguf_file *f)
{
	const char *a = hp->arch;
	hp->rope_base = 10000.0f;
	TRY(get_f32(f, a, "rope.freq_base", false, &hp->rope_base));
	char type[32] = "linear", key[128];
	key_name(key, sizeof key, a, "rope.scaling.type");
	TRY(gguf_get_str(f, key, true, type, sizeof type));
	if (!strcmp(type, "none")) hp->rope_scaling = ROPE_SCALING_NONE;
	else if (!strcmp(type, "linear")) hp->rope_scaling = ROPE_SCALING_LINEAR;
	else if (!strcmp(type, "yarn")) hp->rope_scaling = ROPE_SCALING_YARN;
	else if (!strcmp(type, "longrope")) hp->rope_scaling = ROPE_SCALING_LONGROPE;
	else return fail(VKLLM_E_FORMAT, "%s: key '%s' is '%s' (none, linear, yarn or longrope expected)", f->path, key, type);
	float factor = 0.0f;
	TRY(get_f32(f, a, "rope.scaling.factor", false, &factor));
	if (factor == 0.0f) TRY(get_f32(f, a, "rope.scale_linear", false, &factor)); /* the old name */
	if (factor < 0.0f || !isfinite(factor))
		return fail(VKLLM_E_FORMAT, "%s: rope scaling factor %g is invalid", f->path, factor);
	hp->rope_freq_scale = factor == 0.0f || hp->rope_scaling == ROPE_SCALING_NONE ? 1.0f : 1.0f / factor;
	hp->n_ctx_orig_yarn = hp->n_ctx_train;
	TRY(get_u32(f, a, "rope.scaling.original_context_length", false, &hp->n_ctx_orig_yarn));
	hp->rope_attn_factor = 1.0f;
	TRY(get_f32(f, a, "rope.scaling.attn_factor", false, &hp->rope_attn_factor));
	/* what sliding layers use unless the arch says otherwise (llama_hparams defaults) */
	hp->rope_base_swa = 10000.0f;
	hp->rope_freq_scale_swa = 1.0f;
	hp->yarn_ext_factor = -1.0f; /* not in the file */
	hp->yarn_attn_factor = 1.0f;
	return VKLLM_OK;
}

static int load_vocab_size(struct hparams *hp, const struct gguf_file *f)
{
	TRY(get_u32(f, hp->arch, "vocab_size", false, &hp->n_vocab));
	if (hp->n_vocab) return VKLLM_OK;
	const struct gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
	if (!tokens || tokens->type != GGUF_ARRAY || tokens->elem_type != GGUF_STRING)
		return fail(VKLLM_E_FORMAT, "%s: no vocabulary: neither '%s.vocab_size' nor a 'tokenizer.ggml.tokens' string array",
		            f->path, hp->arch);
	if (tokens->n == 0 || tokens->n > UINT32_MAX)
		return fail(VKLLM_E_FORMAT, "%s: tokenizer.ggml.tokens has %llu tokens", f->path, (unsigned long long)tokens->n);
	hp->n_vocab = (uint32_t)tokens->n;
	return VKLLM_OK;
}

static int load_arch_keys(struct hparams *hp, const struct gguf_file *f, const struct hp_key *keys)
{
	for (const struct hp_key *k = keys; k && k->suffix; k++) {
		void *field = (char *)hp + k->offset;
		if (k->kind == HP_U32) TRY(get_u32(f, hp->arch, k->suffix, k->required, field));
		else if (k->kind == HP_BOOL) {
			char key[128];
			key_name(key, sizeof key, hp->arch, k->suffix);
			TRY(gguf_get_bool(f, key, !k->required, field));
		} else TRY(get_f32(f, hp->arch, k->suffix, k->required, field));
	}
	return VKLLM_OK;
}

static int check_sizes(const struct hparams *hp, const char *path)
{
	if (hp->n_embd == 0 || hp->n_ctx_train == 0)
		return fail(VKLLM_E_FORMAT, "%s: embedding_length %u and context_length %u must be positive", path, hp->n_embd,
		            hp->n_ctx_train);
	for (uint32_t il = 0; il < hp->n_layer; il++) {
		if (hp->n_head[il] == 0)
			return fail(VKLLM_E_FORMAT, "%s: layer %u has no attention heads (%s.attention.head_count)", path, il, hp->arch);
		/* head_count_kv 0: a recurrent layer of a hybrid; model.c refuses it on attention layers */
		if (hp->n_head_kv[il] && hp->n_head[il] % hp->n_head_kv[il])
			return fail(VKLLM_E_FORMAT, "%s: layer %u: head_count %u is not a multiple of head_count_kv %u", path, il,
			            hp->n_head[il], hp->n_head_kv[il]);
	}
	if (hp->head_dim_k == 0 || hp->head_dim_v == 0)
		return fail(VKLLM_E_FORMAT, "%s: head dimensions %u/%u must be positive", path, hp->head_dim_k, hp->head_dim_v);
	if (hp->n_rot > hp->head_dim_k || hp->n_rot % 2)
		return fail(VKLLM_E_FORMAT, "%s: rope.dimension_count %u must be even and at most the head dimension %u", path,
		            hp->n_rot, hp->head_dim_k);
	if (hp->n_expert_used > hp->n_expert || (hp->n_expert && !hp->n_expert_used))
		return fail(VKLLM_E_FORMAT, "%s: expert_used_count %u with expert_count %u", path, hp->n_expert_used, hp->n_expert);
	if (hp->norm_eps <= 0.0f || !isfinite(hp->norm_eps))
		return fail(VKLLM_E_FORMAT, "%s: %s.attention.layer_norm_rms_epsilon %g must be positive", path, hp->arch, hp->norm_eps);
	return VKLLM_OK;
}

int hparams_load(struct hparams *hp, const struct gguf_file *f, const struct hp_key *arch_keys)
{
	char arch[32];
	memcpy(arch, hp->arch, sizeof arch);
	memset(hp, 0, sizeof *hp);
	memcpy(hp->arch, arch, sizeof arch);
	const char *a = hp->arch;
	TRY(gguf_get_str(f, "general.name", true, hp->name, sizeof hp->name));
	TRY(get_u32(f, a, "context_length", true, &hp->n_ctx_train));
	TRY(get_u32(f, a, "embedding_length", true, &hp->n_embd));
	TRY(get_u32(f, a, "block_count", true, &hp->n_layer));
	if (hp->n_layer == 0 || hp->n_layer > MODEL_MAX_LAYERS)
		return fail(VKLLM_E_FORMAT, "%s: %s.block_count %u is out of range (1 to %d)", f->path, a, hp->n_layer, MODEL_MAX_LAYERS);
	TRY(get_u32(f, a, "nextn_predict_layers", false, &hp->n_layer_nextn));
	if (hp->n_layer_nextn >= hp->n_layer)
		return fail(VKLLM_E_FORMAT, "%s: %s.nextn_predict_layers %u leaves no trunk of block_count %u", f->path, a,
		            hp->n_layer_nextn, hp->n_layer);
	TRY(get_u32(f, a, "expert_count", false, &hp->n_expert));
	TRY(get_u32(f, a, "expert_group_count", false, &hp->n_expert_groups));
	TRY(get_u32(f, a, "expert_group_used_count", false, &hp->n_group_used));
	TRY(get_u32(f, a, "expert_used_count", false, &hp->n_expert_used));
	TRY(get_u32(f, a, "expert_feed_forward_length", false, &hp->n_ff_exp));
	TRY(get_u32(f, a, "expert_shared_feed_forward_length", false, &hp->n_ff_shexp));
	bool found;
	TRY(get_u32_or_arr(f, a, "feed_forward_length", hp->n_layer, false, hp->n_ff, &found));
	TRY(get_u32_or_arr(f, a, "attention.head_count", hp->n_layer, true, hp->n_head, &found));
	memcpy(hp->n_head_kv, hp->n_head, sizeof hp->n_head_kv);
	TRY(get_u32_or_arr(f, a, "attention.head_count_kv", hp->n_layer, false, hp->n_head_kv, &found));
	if (hp->n_head[0] == 0) return fail(VKLLM_E_FORMAT, "%s: %s.attention.head_count is 0", f->path, a);
	hp->head_dim_k = hp->head_dim_v = hp->n_embd / hp->n_head[0];
	TRY(get_u32(f, a, "attention.key_length", false, &hp->head_dim_k));
	TRY(get_u32(f, a, "attention.value_length", false, &hp->head_dim_v));
	hp->n_rot = hp->head_dim_k;
	TRY(get_u32(f, a, "rope.dimension_count", false, &hp->n_rot));
	TRY(get_f32(f, a, "attention.layer_norm_rms_epsilon", true, &hp->norm_eps));
	TRY(load_rope(hp, f));
	TRY(load_vocab_size(hp, f));
	TRY(load_arch_keys(hp, f, arch_keys));
	/* per-layer arrays cover every block; the trunk is the blocks before the MTP ones */
	hp->n_layer -= hp->n_layer_nextn;
	if (hp->n_expert_groups > 1 &&
	    (hp->n_expert_groups >= hp->n_expert || hp->n_expert % hp->n_expert_groups || !hp->n_group_used ||
	     hp->n_group_used >= hp->n_expert_groups))
		return fail(VKLLM_E_FORMAT, "%s: %s.expert_group_count %u with expert_group_used_count %u and %u experts: the groups "
		            "must divide the experts and more than the used groups", f->path, a, hp->n_expert_groups,
		            hp->n_group_used, hp->n_expert);
	return check_sizes(hp, f->path);
}

void hparams_set_swa_pattern(struct hparams *hp, uint32_t pattern)
{
	hp->swa_pattern = pattern;
	for (uint32_t il = 0; il < hp->n_layer; il++)
		hp->is_swa[il] = pattern > 0 && il % pattern < pattern - 1; /* the last of every period is global */
}

int hparams_load_swa_pattern(struct hparams *hp, const struct gguf_file *f, uint32_t default_period)
{
	char key[128];
	key_name(key, sizeof key, hp->arch, "attention.sliding_window_pattern");
	const struct gguf_kv *kv = f ? gguf_find(f, key) : NULL;
	if (kv && kv->type == GGUF_ARRAY) {
		if (kv->n != hp->n_layer)
			return fail(VKLLM_E_FORMAT, "%s: key '%s' has %llu values, expected %u (block_count)", f->path, key,
			            (unsigned long long)kv->n, hp->n_layer);
		for (uint32_t il = 0; il < hp->n_layer; il++) {
			int64_t v;
			TRY(gguf_get_arr_int(f, kv, il, &v));
			hp->is_swa[il] = v != 0;
		}
		hp->swa_pattern = 0; /* explicit per layer */
		return VKLLM_OK;
	}
	uint32_t period = default_period;
	if (kv) TRY(gguf_get_u32(f, key, false, &period));
	hparams_set_swa_pattern(hp, period);
	return VKLLM_OK;
}

/* ---- writing: the converter's keys for the same values ---- */

static void w_u32(struct gguf_writer *w, const char *arch, const char *suffix, uint32_t v)
{
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	gguf_w_u32(w, key, v);
}

static void w_f32(struct gguf_writer *w, const char *arch, const char *suffix, float v)
{
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	gguf_w_f32(w, key, v);
}

/* A scalar when every layer has the same value (as converters write it), else a per-layer array. */
static void w_u32_or_arr(struct gguf_writer *w, const char *arch, const char *suffix, const uint32_t *v, uint32_t n)
{
	bool same = true;
	for (uint32_t i = 1; i < n; i++) same = same && v[i] == v[0];
	if (same) {
		w_u32(w, arch, suffix, v[0]);
		return;
	}
	char key[128];
	key_name(key, sizeof key, arch, suffix);
	gguf_w_arr_u32(w, key, v, n);
}

void hparams_write(const struct hparams *hp, struct gguf_writer *w, const struct hp_key *arch_keys)
{
	const char *a = hp->arch;
	w_u32(w, a, "vocab_size", hp->n_vocab);
	w_u32(w, a, "context_length", hp->n_ctx_train);
	w_u32(w, a, "embedding_length", hp->n_embd);
	w_u32(w, a, "block_count", hp->n_layer + hp->n_layer_nextn);
	if (hp->n_layer_nextn) w_u32(w, a, "nextn_predict_layers", hp->n_layer_nextn);
	if (hp->n_ff[0]) w_u32_or_arr(w, a, "feed_forward_length", hp->n_ff, hp->n_layer);
	w_u32_or_arr(w, a, "attention.head_count", hp->n_head, hp->n_layer);
	w_u32_or_arr(w, a, "attention.head_count_kv", hp->n_head_kv, hp->n_layer);
	w_u32(w, a, "attention.key_length", hp->head_dim_k);
	w_u32(w, a, "attention.value_length", hp->head_dim_v);
	if (hp->n_rot != hp->head_dim_k) w_u32(w, a, "rope.dimension_count", hp->n_rot);
	w_f32(w, a, "rope.freq_base", hp->rope_base);
	if (hp->rope_freq_scale != 1.0f) {
		char key[128];
		key_name(key, sizeof key, a, "rope.scaling.type");
		gguf_w_str(w, key, hp->rope_scaling == ROPE_SCALING_YARN ? "yarn" : "linear");
		w_f32(w, a, "rope.scaling.factor", 1.0f / hp->rope_freq_scale);
		if (hp->rope_scaling == ROPE_SCALING_YARN) w_u32(w, a, "rope.scaling.original_context_length", hp->n_ctx_orig_yarn);
	}
	w_f32(w, a, "attention.layer_norm_rms_epsilon", hp->norm_eps);
	if (hp->n_expert) {
		w_u32(w, a, "expert_count", hp->n_expert);
		w_u32(w, a, "expert_used_count", hp->n_expert_used);
	}
	if (hp->n_ff_exp) w_u32(w, a, "expert_feed_forward_length", hp->n_ff_exp);
	/* (llama4 derives its shared expert's width from expert_feed_forward_length: not written) */
	if (hp->n_ff_shexp && !hp->n_expert_shared && strcmp(a, "llama4"))
		w_u32(w, a, "expert_shared_feed_forward_length", hp->n_ff_shexp);
	if (hp->n_expert_groups) w_u32(w, a, "expert_group_count", hp->n_expert_groups);
	if (hp->n_group_used) w_u32(w, a, "expert_group_used_count", hp->n_group_used);
	if (hp->rope_sections[0] || hp->rope_sections[1] || hp->rope_sections[2] || hp->rope_sections[3]) {
		int32_t v[4] = {(int32_t)hp->rope_sections[0], (int32_t)hp->rope_sections[1], (int32_t)hp->rope_sections[2],
		                (int32_t)hp->rope_sections[3]};
		char key[128];
		key_name(key, sizeof key, a, "rope.dimension_sections");
		gguf_w_arr_i32(w, key, v, 4);
	}
	if (hp->ssm_d_state && !hp->recurrent_by_kv_heads) {
		/* gated DeltaNet: which layers are recurrent, as the converter writes it from layer_types
		 * (MTP blocks false) */
		bool rec[MODEL_MAX_LAYERS] = {0};
		memcpy(rec, hp->is_recurrent, hp->n_layer * sizeof rec[0]);
		char key[128];
		key_name(key, sizeof key, a, "attention.recurrent_layers");
		gguf_w_arr_bool(w, key, rec, hp->n_layer + hp->n_layer_nextn);
	}
	if (hp->n_altup) {
		/* Gemma 3n, as its converter writes it: the KV-sharing count, the sliding layers from
		 * layer_types, the sparsity's std multipliers (icdf(0.95) on the sparse layers, icdf(0) = -inf
		 * on the others) */
		char key[128];
		key_name(key, sizeof key, a, "attention.shared_kv_layers");
		gguf_w_u32(w, key, hp->n_layer - hp->n_layer_kv);
		bool swa[MODEL_MAX_LAYERS];
		float sparsity[MODEL_MAX_LAYERS];
		for (uint32_t il = 0; il < hp->n_layer; il++) {
			swa[il] = hp->is_swa[il];
			sparsity[il] = il < hp->n_layer_sparse ? 1.6448533535003662f : -INFINITY;
		}
		key_name(key, sizeof key, a, "attention.sliding_window_pattern");
		gguf_w_arr_bool(w, key, swa, hp->n_layer);
		key_name(key, sizeof key, a, "activation_sparsity_scale");
		gguf_w_arr_f32(w, key, sparsity, hp->n_layer);
	}
	for (const struct hp_key *k = arch_keys; k && k->suffix; k++) {
		const void *field = (const char *)hp + k->offset;
		if (k->kind == HP_U32) {
			uint32_t v = *(const uint32_t *)field;
			if (k->required || k->write_zero || v) w_u32(w, a, k->suffix, v);
		} else if (k->kind == HP_BOOL) {
			bool v = *(const bool *)field;
			char key[128];
			key_name(key, sizeof key, a, k->suffix);
			if (k->required || v) gguf_w_bool(w, key, v);
		} else {
			float v = *(const float *)field;
			if (k->required || v != 0.0f) w_f32(w, a, k->suffix, v);
		}
	}
}

/* ---- multi-head latent attention ---- */

bool hparams_is_mla(const struct hparams *hp) { return hp->head_dim_k_mla && hp->head_dim_v_mla; }
uint32_t hparams_mla_head_k(const struct hparams *hp) { return hparams_is_mla(hp) ? hp->head_dim_k_mla : hp->head_dim_k; }
uint32_t hparams_mla_head_v(const struct hparams *hp) { return hparams_is_mla(hp) ? hp->head_dim_v_mla : hp->head_dim_v; }
