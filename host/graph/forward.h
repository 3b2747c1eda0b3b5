/* The forward pass as recorded command buffers (DESIGN.md, host/graph/): the layer recipe of
 * host/model/ turned into dispatches of host/ops/, recorded once per chunk size and replayed for
 * every chunk of that size. A graph is n_layer + 2 command buffers (the embedding, one per layer,
 * the head), submitted together; what changes from one submit to the next (positions, token ids,
 * the KV length) lives in the step buffer, which the host writes before each submit.
 *
 * The GPU side of tests/ref/forward_ref*.c: the same blocks in the same order, in f32 with an f16
 * or f32 KV cache. docs/graph.md explains the choices. */
#ifndef VKLLM_FORWARD_H
#define VKLLM_FORWARD_H

#include "graph/weights.h"
#include "ops/ops.h"

/* The step buffer (host-visible, written before each submit), in uint32 words:
 * [0] n_kv = p0 + n_tokens, [1] p0 (op_attention and op_kv_store read them there);
 * at STEP_POS_BYTES the positions p0..p0+n-1 (int32, op_rope), at fwd_step_ids_bytes() the ids. */
#define STEP_POS_BYTES 256u
/* profiling capacity per command buffer: a layer of a 512-token prefill on lavapipe streams each
 * projection 2 tokens a dispatch (about 1800 dispatches); beyond it the profile says how many it missed */
#define FWD_MAX_DISPATCHES_PER_REC 4096

/* The device buffers one inference context owns; every graph of the context binds the same ones,
 * sized for the largest chunk (n_batch tokens). */
struct fwd_state {
	struct gpu *g;
	const struct model_file *m;
	const struct model_weights *w;
	uint32_t n_ctx;                 /* KV positions */
	uint32_t n_batch;               /* the largest chunk a graph runs */
	uint32_t n_logits;              /* rows the logits buffer holds: 1, or n_batch for all-token logits */
	uint32_t n_cand;                /* top-k candidates of the last token, 1..TOPK_MAX_K */
	enum attn_kv_type kv_type;
	float ext_factor, attn_factor;  /* YaRN, as llama_context derives them (fwd_rope_yarn) */
	bool profile;                   /* record with a timestamp after every dispatch */
	bool span;                      /* record two timestamps a graph: its first and last command */
	struct gpu_buffer *k_cache, *v_cache; /* [n_layer]: [n_ctx][n_head_kv][head_dim] */
	struct gpu_buffer step;         /* GPU_MEM_UPLOAD */
	struct gpu_buffer x, h, q, k, v, att, proj, ff_gate, ff_up; /* activations, [n_batch][width] f32 */
	struct gpu_buffer attn_scratch; /* split-K partials (may be empty) */
	/* mixture of experts (models with FFN_MOE layers; docs/moe.md), [n_batch * k] assignments */
	struct gpu_buffer router_logits;          /* [n_batch][n_expert] */
	struct gpu_buffer moe_ids, moe_w;         /* the router's choice and weights */
	struct gpu_buffer moe_counts, moe_offsets, moe_perm, moe_inv; /* the expert-order index */
	struct gpu_buffer moe_identity;           /* inv for the decode path: assignment a at row a */
	struct gpu_buffer moe_x;                  /* [n_batch * k][n_embd]: inputs in expert order */
	struct gpu_buffer moe_gate, moe_up;       /* [n_batch * k][n_ff_exp] */
	struct gpu_buffer moe_down;               /* [n_batch * k][n_embd] */
	/* multi-head latent attention (host/graph/attn_mla.c), for mla_tokens_per_pass() tokens; the
	 * latent cache of layer il is k_cache[il] ([n_ctx][kv_lora + rope]; v_cache[il] has no buffer) */
	struct gpu_buffer mla_qa, mla_kv;           /* [n_batch][q_lora], [n_batch][kv_lora + rope] */
	struct gpu_buffer mla_qn, mla_qp;           /* [pass][n_head][nope], [pass][n_head][rope] */
	struct gpu_buffer mla_qabs, mla_olat;       /* [pass][n_head][kv_lora] */
	struct gpu_buffer mla_head_ids;             /* [pass * n_head] uint32: a % n_head */
	struct gpu_buffer mla_k, mla_v;             /* the decompressed form's K [n_ctx][H][nope + rope], V [n_ctx][H][v] */
	/* gated DeltaNet and KDA (host/graph/attn_gdn.c, attn_kda.c), [n_batch] rows; a recurrent
	 * layer's state is in its k_cache (the conv state) and v_cache (S) slots */
	struct gpu_buffer gdn_qkv, gdn_conv, gdn_z, gdn_o;  /* [n_batch][conv channels], .., [n_batch][value_dim] */
	struct gpu_buffer gdn_b, gdn_a, gdn_g, gdn_beta;    /* [n_batch][2 Hv] (b and a), [n_batch][gate width] x2, [n_batch][Hv] */
	struct gpu_buffer kda_lr;                           /* KDA's low-rank projections: [n_batch][head size] */
	struct gpu_buffer gdn_scratch;                      /* the chunked delta rule's */
	struct gpu_buffer attn_gate;                        /* qwen3next's gated attention: [n_batch][n_head * head_dim] */
	/* Gemma 3n (host/graph/altup.c), per chunk: the streams and their prediction [4][n][E], the
	 * per-layer inputs [L][n][P], two [n][max(L P, 3 E)] work buffers, LAuReL's output and a row
	 * buffer [n][E], its low rank / the per-layer gate [n][max(64, P)], the router's output [n][4] */
	struct gpu_buffer altup_s, altup_pred, altup_inp, altup_big, altup_big2, altup_laurel, altup_tmp, altup_low, altup_mod;
	struct gpu_buffer logits;       /* [n_logits][n_vocab] f32 */
	struct gpu_buffer cand_idx, cand_val; /* GPU_MEM_READBACK: [n_cand] uint32, [n_cand] f32 */
	struct gpu_buffer cand_scratch;
};

struct fwd_graph {
	uint32_t n_tokens;
	bool all_logits;                /* logits of every token, else of the last one only */
	struct gpu_rec *recs;           /* [n_recs]: embed, layers, head */
	struct gpu_rec **order;         /* pointers to recs, for the submit */
	uint32_t n_recs;
	uint64_t runs;                  /* replays so far (the profile may leave out the first) */
	struct gpu_timer span;          /* fwd_state.span: stamps 0 and 1 around the whole graph */
};

/* The largest activation widths of a model (n_embd, Q, K, V, FFN), for sizing fwd_state. */
struct fwd_widths {
	uint32_t embd, q, k, v, att, ff;
};
void fwd_widths(const struct model_file *m, struct fwd_widths *wd);
/* Bytes of attention scratch a chunk of n tokens needs at the widest layer. */
uint64_t fwd_attn_scratch_bytes(const struct fwd_state *s, uint32_t n_tokens);
/* Bytes of top-k scratch for the candidates. */
uint64_t fwd_cand_scratch_bytes(const struct fwd_state *s);
uint32_t fwd_step_ids_bytes(const struct fwd_state *s);
/* llama_context's YaRN ext_factor and attn_factor for the model's RoPE scaling. */
void fwd_rope_yarn(const struct hparams *hp, float *ext_factor, float *attn_factor);

/* Records a graph for chunks of n_tokens (1..n_batch). all_logits needs n_logits >= n_tokens. */
int fwd_graph_record(struct fwd_state *s, struct fwd_graph *gr, uint32_t n_tokens, bool all_logits);
/* Submits every command buffer of the graph at once and waits. The step buffer must hold the chunk. */
int fwd_graph_run(struct fwd_graph *gr);
/* After a run of a graph recorded with fwd_state.span: the GPU time from its first command to the
 * end of its last, and the dispatches and barriers it holds (bench -m: the decode loop's cost). */
int fwd_graph_span(const struct fwd_graph *gr, double *ns, uint32_t *dispatches, uint32_t *barriers);
void fwd_graph_destroy(struct fwd_graph *gr);

#endif
