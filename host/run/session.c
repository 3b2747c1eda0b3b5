/* The inference context: buffers, the step buffer protocol, chunking and graph reuse. */
#include "run/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "graph/attn_gdn.h"
#include "graph/altup.h"
#include "graph/attn_mla.h"
#include "graph/weights.h"

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int buffer(struct session *s, struct gpu_buffer *b, uint64_t bytes, enum gpu_mem kind, const char *name)
{
	TRY(gpu_buffer_create(s->g, b, bytes ? bytes : 4, kind, name));
	s->scratch_bytes += b->size;
	return VKLLM_OK;
}

/* multi-head latent attention's scratch (host/graph/attn_mla.c), and its head index a % n_head */
static int create_mla(struct session *s)
{
	struct fwd_state *fs = &s->fs;
	struct mla_widths w;
	mla_widths(s->m, &w);
	if (!w.heads) return VKLLM_OK;
	uint64_t B = fs->n_batch, P = mla_tokens_per_pass(s->g, s->m);
	if (P > B) P = B;
	if (P == 0) return fail(VKLLM_E_UNSUPPORTED, "device %s cannot hold one token's latent attention rows", s->g->profile.name);
	TRY(buffer(s, &fs->mla_qa, B * (w.qa ? w.qa : 1) * 4, GPU_MEM_DEVICE, "mla q low rank"));
	TRY(buffer(s, &fs->mla_kv, B * w.kv * 4, GPU_MEM_DEVICE, "mla kv"));
	TRY(buffer(s, &fs->mla_qn, P * w.qn * 4, GPU_MEM_DEVICE, "mla q nope"));
	TRY(buffer(s, &fs->mla_qp, P * w.qp * 4, GPU_MEM_DEVICE, "mla q rope"));
	TRY(buffer(s, &fs->mla_qabs, P * w.lat * 4, GPU_MEM_DEVICE, "mla q absorbed"));
	TRY(buffer(s, &fs->mla_olat, P * w.lat * 4, GPU_MEM_DEVICE, "mla latent out"));
	TRY(buffer(s, &fs->mla_head_ids, P * w.heads * 4, GPU_MEM_DEVICE, "mla head ids"));
	/* the decompressed form's K and V, when the device's prefill takes it and they fit a binding
	 * (else prefill stays absorbed) */
	uint64_t kb, vb, range = s->g->profile.max_storage_buffer_range;
	mla_decompress_bytes(s->m, fs->n_ctx, 4, &kb, &vb); /* f32: attn_mla.c says why */
	if (mla_decompress_prefill(s->g) && fs->n_batch > 1 && kb <= range && vb <= range) {
		TRY(buffer(s, &fs->mla_k, kb, GPU_MEM_DEVICE, "mla decompressed k"));
		TRY(buffer(s, &fs->mla_v, vb, GPU_MEM_DEVICE, "mla decompressed v"));
	}
	uint32_t *ids = malloc(P * w.heads * 4);
	if (!ids) return fail(VKLLM_E_NOMEM, "out of host memory");
	for (uint64_t a = 0; a < P * w.heads; a++) ids[a] = (uint32_t)(a % w.heads);
	int st = gpu_upload(s->g, &fs->mla_head_ids, 0, ids, P * w.heads * 4);
	free(ids);
	return st;
}

/* gated DeltaNet's scratch (host/graph/attn_gdn.c) and qwen3next's attention output gate */
static int create_gdn(struct session *s)
{
	struct fwd_state *fs = &s->fs;
	uint64_t B = fs->n_batch;
	bool gated = false;
	for (uint32_t il = 0; il < s->m->hp.n_layer; il++) gated = gated || s->m->layers[il].attn_out_gate;
	if (gated) {
		struct fwd_widths wd;
		fwd_widths(s->m, &wd);
		TRY(buffer(s, &fs->attn_gate, B * wd.q * 4, GPU_MEM_DEVICE, "attention gate"));
	}
	struct gdn_widths w;
	gdn_widths(s->m, &w);
	if (!w.heads) return VKLLM_OK;
	TRY(buffer(s, &fs->gdn_qkv, B * w.conv * 4, GPU_MEM_DEVICE, "deltanet qkv"));
	TRY(buffer(s, &fs->gdn_conv, B * w.conv * 4, GPU_MEM_DEVICE, "deltanet conv out"));
	TRY(buffer(s, &fs->gdn_z, B * w.value * 4, GPU_MEM_DEVICE, "deltanet z"));
	TRY(buffer(s, &fs->gdn_o, B * w.value * 4, GPU_MEM_DEVICE, "deltanet out"));
	TRY(buffer(s, &fs->gdn_b, B * w.ba * 4, GPU_MEM_DEVICE, "deltanet b|a"));
	TRY(buffer(s, &fs->gdn_a, B * w.gate * 4, GPU_MEM_DEVICE, "deltanet a"));
	TRY(buffer(s, &fs->gdn_g, B * w.gate * 4, GPU_MEM_DEVICE, "deltanet g"));
	if (w.low_rank) TRY(buffer(s, &fs->kda_lr, B * w.low_rank * 4, GPU_MEM_DEVICE, "kda low rank"));
	TRY(buffer(s, &fs->gdn_beta, B * w.heads * 4, GPU_MEM_DEVICE, "deltanet beta"));
	return VKLLM_OK; /* the chunked scratch is sized with the attention scratch, per chunk size */
}

/* A recurrent layer's state starts at zero: the conv sees zeros before the first token, S is empty. */
static int zero_states(struct session *s)
{
	uint64_t conv, delta;
	gdn_state_bytes(s->m, &conv, &delta);
	if (!delta) return VKLLM_OK;
	void *zeros = calloc(1, conv > delta ? conv : delta);
	if (!zeros) return fail(VKLLM_E_NOMEM, "out of host memory");
	int st = VKLLM_OK;
	for (uint32_t il = 0; !st && il < s->m->hp.n_layer; il++)
		if (attn_is_recurrent(s->m->layers[il].attn)) {
			st = gpu_upload(s->g, &s->fs.k_cache[il], 0, zeros, conv);
			if (!st) st = gpu_upload(s->g, &s->fs.v_cache[il], 0, zeros, delta);
		}
	free(zeros);
	return st;
}

static bool has_recurrent_state(const struct model_file *m)
{
	struct gdn_widths w;
	gdn_widths(m, &w);
	return w.heads > 0;
}

static int create(struct session *s)
{
	struct fwd_state *fs = &s->fs;
	const struct hparams *hp = &s->m->hp;
	uint32_t L = hp->n_layer, B = fs->n_batch;
	struct fwd_widths wd;
	fwd_widths(s->m, &wd);

	/* the KV cache: per layer [n_ctx][n_head_kv][head_dim], f16 or f32 */
	fs->k_cache = calloc(L, sizeof *fs->k_cache);
	fs->v_cache = calloc(L, sizeof *fs->v_cache);
	if (!fs->k_cache || !fs->v_cache) return fail(VKLLM_E_NOMEM, "out of host memory");
	uint32_t elem = fs->kv_type == ATTN_KV_F16 ? 2 : 4;
	for (uint32_t il = 0; il < L; il++) {
		const struct layer_desc *d = &s->m->layers[il];
		uint64_t kb = (uint64_t)fs->n_ctx * d->n_head_kv * hp->head_dim_k * elem;
		uint64_t vb = (uint64_t)fs->n_ctx * d->n_head_kv * hp->head_dim_v * elem;
		if (d->attn == ATTN_MLA) kb = mla_cache_bytes(s->m, fs->n_ctx, elem), vb = 0; /* one latent cache */
		if (attn_is_recurrent(d->attn)) gdn_state_bytes(s->m, &kb, &vb); /* the recurrent state: conv, then S */
		if (d->kv_shared) continue; /* Gemma 3n: reads layer kv_from's cache */
		if (kb > s->g->profile.max_storage_buffer_range || vb > s->g->profile.max_storage_buffer_range)
			return fail(VKLLM_E_UNSUPPORTED,
			            "a KV cache of %u positions needs %llu MiB per layer, more than one binding of device %s allows "
			            "(%llu MiB); use a smaller -c", fs->n_ctx, (unsigned long long)(kb >> 20), s->g->profile.name,
			            (unsigned long long)(s->g->profile.max_storage_buffer_range >> 20));
		TRY(gpu_buffer_create(s->g, &fs->k_cache[il], kb, GPU_MEM_DEVICE, "k_cache"));
		if (vb) TRY(gpu_buffer_create(s->g, &fs->v_cache[il], vb, GPU_MEM_DEVICE, "v_cache"));
		s->kv_bytes += fs->k_cache[il].size + fs->v_cache[il].size;
	}

	TRY(buffer(s, &fs->step, fwd_step_ids_bytes(fs) + (uint64_t)B * 4, GPU_MEM_UPLOAD, "step"));
	TRY(buffer(s, &fs->x, (uint64_t)B * wd.embd * 4, GPU_MEM_DEVICE, "x"));
	TRY(buffer(s, &fs->h, (uint64_t)B * wd.embd * 4, GPU_MEM_DEVICE, "h"));
	TRY(buffer(s, &fs->proj, (uint64_t)B * wd.embd * 4, GPU_MEM_DEVICE, "proj"));
	/* q also holds a decode step's fused q|k|v, ff_gate its fused gate|up (forward.c) */
	uint64_t qb = (uint64_t)B * wd.q, gb = (uint64_t)B * wd.ff;
	if (qb < (uint64_t)wd.q + wd.k + wd.v) qb = (uint64_t)wd.q + wd.k + wd.v;
	if (gb < 2ull * wd.ff) gb = 2ull * wd.ff;
	TRY(buffer(s, &fs->q, qb * 4, GPU_MEM_DEVICE, "q"));
	TRY(buffer(s, &fs->k, (uint64_t)B * wd.k * 4, GPU_MEM_DEVICE, "k"));
	TRY(buffer(s, &fs->v, (uint64_t)B * wd.v * 4, GPU_MEM_DEVICE, "v"));
	TRY(buffer(s, &fs->att, (uint64_t)B * wd.att * 4, GPU_MEM_DEVICE, "att"));
	TRY(buffer(s, &fs->ff_gate, gb * 4, GPU_MEM_DEVICE, "ff_gate"));
	TRY(buffer(s, &fs->ff_up, (uint64_t)B * wd.ff * 4, GPU_MEM_DEVICE, "ff_up"));
	TRY(buffer(s, &fs->logits, (uint64_t)fs->n_logits * hp->n_vocab * 4, GPU_MEM_DEVICE, "logits"));
	TRY(buffer(s, &fs->cand_idx, (uint64_t)fs->n_cand * 4, GPU_MEM_READBACK, "candidates"));
	TRY(buffer(s, &fs->cand_val, (uint64_t)fs->n_cand * 4, GPU_MEM_READBACK, "candidate logits"));
	if (hp->n_expert) {
		/* mixture of experts: the router's output, the expert-order index, the experts' in and outs */
		uint64_t A = (uint64_t)B * hp->n_expert_used, X = hp->n_expert;
		TRY(buffer(s, &fs->router_logits, (uint64_t)B * X * 4, GPU_MEM_DEVICE, "router logits"));
		TRY(buffer(s, &fs->moe_ids, A * 4, GPU_MEM_DEVICE, "expert ids"));
		TRY(buffer(s, &fs->moe_w, A * 4, GPU_MEM_DEVICE, "expert weights"));
		TRY(buffer(s, &fs->moe_counts, X * 4, GPU_MEM_DEVICE, "expert counts"));
		TRY(buffer(s, &fs->moe_offsets, (X + 1) * 4, GPU_MEM_DEVICE, "expert offsets"));
		TRY(buffer(s, &fs->moe_perm, A * 4, GPU_MEM_DEVICE, "expert order"));
		TRY(buffer(s, &fs->moe_inv, A * 4, GPU_MEM_DEVICE, "token order"));
		TRY(buffer(s, &fs->moe_identity, A * 4, GPU_MEM_DEVICE, "identity order"));
		TRY(buffer(s, &fs->moe_x, A * hp->n_embd * 4, GPU_MEM_DEVICE, "expert inputs"));
		TRY(buffer(s, &fs->moe_gate, A * hp->n_ff_exp * 4, GPU_MEM_DEVICE, "expert gate"));
		TRY(buffer(s, &fs->moe_up, A * hp->n_ff_exp * 4, GPU_MEM_DEVICE, "expert up"));
		TRY(buffer(s, &fs->moe_down, A * hp->n_embd * 4, GPU_MEM_DEVICE, "expert outputs"));
		uint32_t *identity = malloc(A * 4);
		if (!identity) return fail(VKLLM_E_NOMEM, "out of host memory");
		for (uint32_t a = 0; a < A; a++) identity[a] = a;
		int st = gpu_upload(s->g, &fs->moe_identity, 0, identity, A * 4);
		free(identity);
		TRY(st);
	}
	if (hp->n_altup) {
		/* Gemma 3n's AltUp state (host/graph/altup.c) */
		struct altup_widths aw;
		altup_widths(s->m, B, &aw);
		TRY(buffer(s, &fs->altup_s, aw.streams, GPU_MEM_DEVICE, "altup streams"));
		TRY(buffer(s, &fs->altup_pred, aw.streams, GPU_MEM_DEVICE, "altup predictions"));
		TRY(buffer(s, &fs->altup_inp, aw.inp, GPU_MEM_DEVICE, "per-layer inputs"));
		TRY(buffer(s, &fs->altup_big, aw.big, GPU_MEM_DEVICE, "altup work"));
		TRY(buffer(s, &fs->altup_big2, aw.inp, GPU_MEM_DEVICE, "per-layer embeddings"));
		TRY(buffer(s, &fs->altup_laurel, aw.row, GPU_MEM_DEVICE, "laurel"));
		TRY(buffer(s, &fs->altup_tmp, aw.row, GPU_MEM_DEVICE, "altup row"));
		TRY(buffer(s, &fs->altup_low, aw.low, GPU_MEM_DEVICE, "altup low rank"));
		TRY(buffer(s, &fs->altup_mod, aw.mod, GPU_MEM_DEVICE, "altup router"));
	}
	TRY(create_mla(s));
	TRY(create_gdn(s));
	uint64_t cs = fwd_cand_scratch_bytes(fs);
	if (cs) TRY(buffer(s, &fs->cand_scratch, cs, GPU_MEM_DEVICE, "top-k scratch"));

	/* chunk sizes: 1, 2, 4, ... below n_batch, and n_batch */
	for (uint32_t n = 1; n < B && s->n_sizes < SESSION_MAX_SIZES - 1; n *= 2) s->sizes[s->n_sizes++] = n;
	s->sizes[s->n_sizes++] = B;
	uint64_t as = 0, gs = 0;
	for (uint32_t i = 0; i < s->n_sizes; i++) {
		uint64_t b = fwd_attn_scratch_bytes(fs, s->sizes[i]), c = gdn_scratch_bytes(fs, s->sizes[i]);
		if (b > as) as = b;
		if (c > gs) gs = c;
	}
	if (as) TRY(buffer(s, &fs->attn_scratch, as, GPU_MEM_DEVICE, "attention scratch"));
	if (gs) TRY(buffer(s, &fs->gdn_scratch, gs, GPU_MEM_DEVICE, "deltanet chunk scratch"));
	s->history = calloc(fs->n_ctx, sizeof *s->history);
	if (!s->history) return fail(VKLLM_E_NOMEM, "out of host memory");
	TRY(zero_states(s));
	if (!fs->step.mapped || !fs->cand_idx.mapped || !fs->cand_val.mapped)
		return fail(VKLLM_E_UNSUPPORTED, "device %s gave no host-visible memory for the step buffer", s->g->profile.name);
	return VKLLM_OK;
}

int session_create(struct session *s, struct gpu *g, const struct model_file *m, const struct model_weights *w,
                   const struct session_options *o)
{
	memset(s, 0, sizeof *s);
	s->g = g;
	s->m = m;
	struct fwd_state *fs = &s->fs;
	fs->g = g;
	fs->m = m;
	fs->w = w;
	fs->n_ctx = o->n_ctx ? o->n_ctx : (m->hp.n_ctx_train && m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096);
	fs->n_batch = o->n_batch ? o->n_batch : 512;
	if (fs->n_batch > fs->n_ctx) fs->n_batch = fs->n_ctx;
	fs->n_logits = o->all_logits ? fs->n_batch : 1;
	fs->n_cand = o->n_cand ? o->n_cand : TOPK_MAX_K;
	if (fs->n_cand > TOPK_MAX_K) fs->n_cand = TOPK_MAX_K;
	if (fs->n_cand > m->hp.n_vocab) fs->n_cand = m->hp.n_vocab;
	fs->kv_type = o->kv_type;
	fs->profile = o->profile;
	fs->span = o->span;
	fwd_rope_yarn(&m->hp, &fs->ext_factor, &fs->attn_factor);
	int st = create(s);
	if (st) session_destroy(s);
	return st;
}

void session_destroy(struct session *s)
{
	if (!s->g) return;
	for (uint32_t i = 0; i < SESSION_MAX_SIZES; i++) {
		fwd_graph_destroy(&s->last[i]);
		fwd_graph_destroy(&s->all[i]);
	}
	struct fwd_state *fs = &s->fs;
	for (uint32_t il = 0; il < s->m->hp.n_layer; il++) {
		if (fs->k_cache && fs->k_cache[il].buffer) gpu_buffer_destroy(s->g, &fs->k_cache[il]);
		if (fs->v_cache && fs->v_cache[il].buffer) gpu_buffer_destroy(s->g, &fs->v_cache[il]);
	}
	free(fs->k_cache);
	free(fs->v_cache);
	struct gpu_buffer *bufs[] = {&fs->step, &fs->x, &fs->h, &fs->proj, &fs->q, &fs->k, &fs->v, &fs->att,
	                             &fs->ff_gate, &fs->ff_up, &fs->logits, &fs->cand_idx, &fs->cand_val,
	                             &fs->altup_s, &fs->altup_pred, &fs->altup_inp, &fs->altup_big, &fs->altup_big2,
	                             &fs->altup_laurel, &fs->altup_tmp, &fs->altup_low, &fs->altup_mod,
	                             &fs->cand_scratch, &fs->attn_scratch, &fs->router_logits, &fs->moe_ids, &fs->moe_w,
	                             &fs->moe_counts, &fs->moe_offsets, &fs->moe_perm, &fs->moe_inv, &fs->moe_identity,
	                             &fs->moe_x, &fs->moe_gate, &fs->moe_up, &fs->moe_down, &fs->mla_qa, &fs->mla_kv,
	                             &fs->mla_qn, &fs->mla_qp, &fs->mla_qabs, &fs->mla_olat, &fs->mla_head_ids,
	                             &fs->mla_k, &fs->mla_v, &fs->gdn_qkv, &fs->gdn_conv, &fs->gdn_z, &fs->gdn_o,
	                             &fs->gdn_b, &fs->gdn_a, &fs->gdn_g, &fs->gdn_beta, &fs->gdn_scratch, &fs->attn_gate, &fs->kda_lr};
	free(s->history);
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		if (bufs[i]->buffer) gpu_buffer_destroy(s->g, bufs[i]);
	memset(s, 0, sizeof *s);
}

/* the graph for a chunk of sizes[i] tokens, recorded on first use */
static int graph(struct session *s, uint32_t i, bool all, struct fwd_graph **out)
{
	struct fwd_graph *gr = all ? &s->all[i] : &s->last[i];
	if (!gr->recs) {
		double t0 = now_seconds();
		TRY(fwd_graph_record(&s->fs, gr, s->sizes[i], all));
		s->record_seconds += now_seconds() - t0;
		s->n_graphs++;
	}
	*out = gr;
	return VKLLM_OK;
}

static int profile_add(struct session *s, struct fwd_graph *gr)
{
	static double ns[FWD_MAX_DISPATCHES_PER_REC];
	static const char *names[FWD_MAX_DISPATCHES_PER_REC];
	static uint64_t bytes[FWD_MAX_DISPATCHES_PER_REC];
	s->prof_tokens[gr->n_tokens > 1] += gr->n_tokens;
	for (uint32_t r = 0; r < gr->n_recs; r++) {
		uint32_t n, part = r == 0 ? 0 : r + 1 < gr->n_recs ? 1 : 2;
		TRY(gpu_rec_profile(&gr->recs[r], ns, names, bytes, &n));
		if (gr->recs[r].n_dispatches > n) s->prof_untimed += gr->recs[r].n_dispatches - n;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = 0;
			while (e < s->n_prof && (s->prof[e].part != part || strcmp(s->prof[e].kernel, names[i]))) e++;
			if (e == s->n_prof) {
				if (e == SESSION_PROFILE_MAX) continue;
				s->prof[s->n_prof++] = (struct session_profile_entry){names[i], part, 0, 0, 0};
			}
			s->prof[e].ns += ns[i];
			s->prof[e].bytes += bytes[i];
			if (gr->n_tokens == 1) s->prof_decode_bytes += bytes[i];
			s->prof[e].count++;
			s->prof_ns += ns[i];
		}
	}
	return VKLLM_OK;
}

static int by_time(const void *a, const void *b)
{
	const struct session_profile_entry *x = a, *y = b;
	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

void session_profile_print(const struct session *s, FILE *f)
{
	static const char *parts[] = {"embedding", "layers", "head"};
	struct session_profile_entry e[SESSION_PROFILE_MAX];
	memcpy(e, s->prof, s->n_prof * sizeof *e);
	qsort(e, s->n_prof, sizeof *e, by_time);
	fprintf(f, "GPU time by kernel (%llu tokens in chunks of 1, %llu in larger chunks; %.1f ms in all):\n",
	        (unsigned long long)s->prof_tokens[0], (unsigned long long)s->prof_tokens[1], s->prof_ns / 1e6);
	if (s->prof_untimed)
		fprintf(f, "  (%llu dispatches past a recording's %u timestamps were not timed: the table misses them)\n",
		        (unsigned long long)s->prof_untimed, FWD_MAX_DISPATCHES_PER_REC);
	if (s->prof_skipped)
		fprintf(f, "  (%llu tokens of each graph's first run left out: %s compiles each kernel at its first dispatch)\n",
		        (unsigned long long)s->prof_skipped, s->g->profile.name);
	fprintf(f, "  %-24s %-10s %10s %7s %9s %10s %8s\n", "kernel", "part", "ms", "share", "calls", "us/call", "GB/s");
	for (uint32_t i = 0; i < s->n_prof; i++) {
		char gbs[16] = "";
		if (e[i].bytes && e[i].ns > 0) snprintf(gbs, sizeof gbs, "%8.2f", e[i].bytes / e[i].ns);
		fprintf(f, "  %-24s %-10s %10.2f %6.1f%% %9llu %10.1f %8s\n", e[i].kernel, parts[e[i].part], e[i].ns / 1e6,
		        s->prof_ns > 0 ? 100.0 * e[i].ns / s->prof_ns : 0.0, (unsigned long long)e[i].count,
		        e[i].count ? e[i].ns / 1e3 / e[i].count : 0.0, gbs);
	}
	fprintf(f, "  GB/s: bytes the kernel must move (weights, inputs, outputs) over its time, where its op says\n");
	/* what a decode step moves by the kernels' own counts, against the weights a token needs (all but
	 * the embedding table's other rows and the experts it is not routed to): MoE shows here whether
	 * only the chosen experts are read */
	if (s->prof_tokens[0] && !s->prof_untimed) {
		uint64_t need = model_weights_decode_bytes(s->fs.w, s->fs.m->hp.n_expert_used);
		double per = (double)s->prof_decode_bytes / (double)s->prof_tokens[0];
		fprintf(f, "decode: the kernels move %.3f MB a token; the weights a token needs are %.3f MB (%.3fx)\n", per / 1e6,
		        need / 1e6, need ? per / need : 0.0);
	}
}

int session_last_span(const struct session *s, double *ns, uint32_t *dispatches, uint32_t *barriers)
{
	if (!s->last_run) return fail(VKLLM_E_ARG, "session: nothing has run yet");
	return fwd_graph_span(s->last_run, ns, dispatches, barriers);
}

void session_profile_reset(struct session *s)
{
	s->n_prof = 0;
	s->prof_ns = 0;
	s->prof_tokens[0] = s->prof_tokens[1] = 0;
	s->prof_skipped = 0;
	s->prof_untimed = 0;
	s->prof_decode_bytes = 0;
}

/* the host's half of the step protocol: what the next submit's shaders read */
static void write_step(struct session *s, const uint32_t *tokens, uint32_t n, uint32_t p0)
{
	uint8_t *base = s->fs.step.mapped;
	uint32_t words[2] = {p0 + n, p0};
	memcpy(base, words, sizeof words);
	int32_t *pos = (int32_t *)(base + STEP_POS_BYTES);
	for (uint32_t t = 0; t < n; t++) pos[t] = (int32_t)(p0 + t);
	memcpy(base + fwd_step_ids_bytes(&s->fs), tokens, (size_t)n * 4);
}

int session_eval(struct session *s, const uint32_t *tokens, uint32_t n, bool all, float *logits)
{
	const struct hparams *hp = &s->m->hp;
	if (n == 0) return fail(VKLLM_E_ARG, "session: no tokens to run");
	if (all && s->fs.n_logits < s->fs.n_batch)
		return fail(VKLLM_E_ARG, "session: every token's logits were asked for, but the session keeps only the last");
	if (n > s->fs.n_ctx - s->n_past)
		return fail(VKLLM_E_CONTEXT_FULL, "the context is full: %u tokens do not fit after %u of %u positions (raise -c)",
		            n, s->n_past, s->fs.n_ctx);
	for (uint32_t t = 0; t < n; t++)
		if (tokens[t] >= hp->n_vocab)
			return fail(VKLLM_E_ARG, "token id %u is outside the vocabulary of %u", tokens[t], hp->n_vocab);
	uint32_t done = 0;
	while (done < n) {
		uint32_t i = s->n_sizes - 1;
		while (s->sizes[i] > n - done) i--;
		uint32_t c = s->sizes[i];
		struct fwd_graph *gr;
		TRY(graph(s, i, all, &gr));
		write_step(s, tokens + done, c, s->n_past);
		/* memmove: a rewind reruns the history from itself */
		memmove(s->history + s->n_past, tokens + done, (size_t)c * sizeof *tokens);
		TRY(fwd_graph_run(gr));
		s->last_run = gr;
		/* llvmpipe JIT-compiles each kernel at its first dispatch, not at pipeline creation
		 * (a 16-token run showed the f32 router matvec at 8.5 ms a call instead of 0.2): on CPU
		 * devices a graph's first replay is left out of the profile, which then shows the
		 * steady state */
		if (s->fs.profile && gr->runs++ == 0 && gpu_is_cpu(s->g)) s->prof_skipped += c;
		else if (s->fs.profile) TRY(profile_add(s, gr));
		s->n_past += c;
		if (all && logits)
			TRY(gpu_download(s->g, logits + (uint64_t)done * hp->n_vocab, &s->fs.logits, 0, (uint64_t)c * hp->n_vocab * 4));
		done += c;
	}
	if (!all && logits) {
		/* a last-token graph writes logits row 0; an all-token graph row c-1 of its chunk */
		TRY(gpu_download(s->g, logits, &s->fs.logits, 0, (uint64_t)hp->n_vocab * 4));
	}
	return VKLLM_OK;
}

void session_candidates(const struct session *s, const uint32_t **ids, const float **logits)
{
	*ids = s->fs.cand_idx.mapped;
	*logits = s->fs.cand_val.mapped;
}

int session_rewind(struct session *s, uint32_t n_past)
{
	if (n_past >= s->n_past) return VKLLM_OK;
	if (!has_recurrent_state(s->m)) {
		s->n_past = n_past; /* the KV cache's later rows are overwritten by the next eval */
		return VKLLM_OK;
	}
	/* a recurrent state holds every token so far and cannot be taken apart: start it again and
	 * run the kept tokens through (prefill-sized chunks, so it costs one prefill of n_past) */
	s->n_past = 0;
	TRY(zero_states(s));
	return n_past ? session_eval(s, s->history, n_past, false, NULL) : VKLLM_OK;
}
