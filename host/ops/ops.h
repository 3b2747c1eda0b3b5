/* One C function per kernel: it picks the shader variant and its tuning from the device profile,
 * binds the views and records the dispatch. Outputs first, then inputs, then sizes and options.
 * Offsets and counts are in elements of the view's type, not bytes. */
#ifndef VKLLM_OPS_H
#define VKLLM_OPS_H

#include "vk/gpu.h"

/* out[i] = value for i < n (f32). */
int op_fill(struct gpu_rec *rec, struct gpu_view out, uint32_t n, float value);

enum copy_out { COPY_OUT_F32, COPY_OUT_F16 };
/* out[i] = convert(in[i]) for i < n; in is f32, out f32 or f16 (round to nearest even). */
int op_copy(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, enum copy_out out_type);

/* Decode-time matmul: y[c][r] (+)= sum_k W[r][k] * x[c][k] for r < n_rows, c < n_cols.
 * W is n_rows rows of n_k values in ggml type wtype (loader/quant.h), decoded in registers; x is
 * [n_cols][n_k] f32 and y [n_cols][n_rows] f32. accumulate adds to y (a fused residual add). */
#define MATVEC_MAX_COLS 8
int op_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate);

/* Prefill-time matmul, the same product for any number of columns (tokens), tiled so each decoded
 * weight serves a tile of tokens (shaders/gemm.comp, docs/matmul.md). */
int op_gemm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
            uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate);
/* Whether op_gemm runs this weight type on the device's matrix units (f16 operands, f32 sums). */
bool op_gemm_uses_coopmat(const struct gpu *g, uint32_t wtype);
/* Whether op_moe_gemm (the grouped expert GEMM) runs on matrix units for this weight type. */
bool op_moe_gemm_uses_coopmat(const struct gpu *g, uint32_t wtype);
/* Whether op_matvec takes shaders/matvec_vec.comp (wide loads; Q4_K and Q8_0) for this type and
 * column count, given x on 16 bytes and weights and rows on the type's word. */
bool op_matvec_vec(const struct gpu *g, uint32_t wtype, uint32_t n_cols);

/* The product the model records: op_matvec up to MATMUL_MATVEC_MAX_COLS columns, op_gemm above. */
#define MATMUL_MATVEC_MAX_COLS 4
int op_matmul(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
              uint32_t n_rows, uint32_t n_k, uint32_t n_cols, bool accumulate);

/* Causal attention (docs/attention.md): out[t][h] = softmax(scale * q[t][h] . K[:, h/G]) V[:, h/G]
 * for the n_q tokens of a chunk at positions p0..p0+n_q-1 against KV positions 0..n_kv-1.
 * n_kv = step[step_index] and p0 = step[step_index + 1] (uint32) are read on the device, so one
 * recording replays for every token; everything in attn_desc is fixed at record time.
 * q [n_q][n_head][head_dim_k] f32 (tokens q_stride apart), out [n_q][n_head][head_dim_v] f32;
 * K and V caches f16 or f32, by default [n_ctx][n_head_kv][head_dim] (strides override it);
 * sinks [n_head] f32 or a view with no buffer. scratch holds split-K partials:
 * op_attention_scratch_bytes() bytes (0: not needed, pass a view with no buffer). */
enum attn_kv_type { ATTN_KV_F16, ATTN_KV_F32 };
struct attn_desc {
	uint32_t n_q;                     /* query tokens in the chunk */
	uint32_t n_head, n_head_kv;       /* n_head_kv divides n_head (GQA; 1 = MQA) */
	uint32_t head_dim_k, head_dim_v;  /* 1..512 */
	uint32_t n_ctx;                   /* positions the K/V views hold; n_kv is clamped to it */
	enum attn_kv_type kv_type;
	uint32_t kv_pos_stride, kv_head_stride; /* K, elements; kv_pos_stride 0: [n_ctx][n_head_kv][head_dim_k] */
	uint32_t v_pos_stride, v_head_stride;   /* V, likewise */
	uint32_t q_stride, o_stride;      /* elements between tokens; 0: n_head * head dim */
	float scale;                      /* kq scale, usually 1/sqrt(head_dim_k) */
	float softcap;                    /* 0: off; else s = softcap * tanh(s / softcap), before the mask */
	uint32_t n_swa;                   /* 0: full causal; else mask p_q - p_k >= n_swa */
	uint32_t n_chunk;                 /* 0: off; else mask p_k < floor(p_q / n_chunk) * n_chunk (chunked
	                                   * attention, Llama 4: a query sees its own chunk only); not with n_swa */
	uint32_t n_split;                 /* split-K: 0 chooses from n_ctx and the grid, 1 off, at most 64 */
	uint32_t step_index;              /* uint32 index of n_kv in the step view; p0 follows it */
};
uint64_t op_attention_scratch_bytes(const struct gpu *g, const struct attn_desc *a);
/* Whether op_attention runs this call's chunk on attention_cm.comp (prefill on matrix units). */
bool op_attention_uses_cm(const struct gpu *g, const struct attn_desc *a);
int op_attention(struct gpu_rec *rec, struct gpu_view out, struct gpu_view scratch, struct gpu_view q,
                 struct gpu_view k, struct gpu_view v, struct gpu_view sinks, struct gpu_view step,
                 const struct attn_desc *a);

/* ---- small ops for dense models (host/ops/{norm,rope,embed,glu,eltwise,topk}.c) ----
 * An optional view is one with buf NULL. Unless said otherwise, out may be the same memory as
 * an input (in place). */

/* RMSNorm of n_rows rows of n f32 values, rows `stride` elements apart in x and y (0: n):
 * y = x / sqrt(mean(x^2) + eps) * w, w [n] f32 (optional). A per-head norm (QK-norm) is
 * n = head_dim, n_rows = tokens * heads; w is shared by every row. */
int op_rms_norm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view x, struct gpu_view w, uint32_t n,
                uint32_t n_rows, uint32_t stride, float eps);
/* The same with the residual add fused in: sum = a + b (written; sum may be a or b), y = rms_norm(sum) * w. */
int op_rms_norm_add(struct gpu_rec *rec, struct gpu_view y, struct gpu_view sum, struct gpu_view a, struct gpu_view b,
                    struct gpu_view w, uint32_t n, uint32_t n_rows, uint32_t stride, float eps);

struct rope_config {
	bool neox;                  /* pairs (i, i + n_rot/2); false: pairs (2i, 2i+1) (ggml's NORMAL) */
	uint32_t n_rot;             /* rotated dims per head: even, <= head_dim (the rest pass through) */
	float freq_base;
	float freq_scale;           /* 1/factor for linear or YaRN scaling, else 1 */
	float ext_factor;           /* YaRN: 1, else 0 */
	float attn_factor;          /* magnitude scale (1 unless the model says otherwise) */
	float beta_fast, beta_slow; /* YaRN: 32 and 1 in llama.cpp for every arch */
	uint32_t n_ctx_orig;        /* YaRN: the original training context */
};
/* ggml_rope_yarn_corr_dims: dims[0] = low, dims[1] = high correction dims */
void rope_yarn_corr_dims(float dims[2], uint32_t n_rot, uint32_t n_ctx_orig, float freq_base, float beta_fast,
                         float beta_slow);
/* rope.comp's scalars, derived from a config as ggml derives them; rope_prepare also checks cfg
 * against head_dim (a one-line error naming op) */
struct rope_scalars {
	float theta_scale, mscale, corr_low, corr_high;
};
int rope_prepare(const char *op, const struct rope_config *cfg, uint32_t head_dim, struct rope_scalars *sc);
/* RoPE of [n_tokens][n_heads][head_dim] f32 (tokens in_stride / out_stride elements apart; 0: n_heads*head_dim)
 * at positions pos [n_tokens] int32 (read on the device: a recording replays for new positions),
 * with freq_factors [n_rot/2] f32 (rope_freqs, optional). out may be exactly in (in place), but
 * must not overlap it otherwise. */
int op_rope(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, struct gpu_view pos, struct gpu_view freq_factors,
            uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, uint32_t in_stride, uint32_t out_stride,
            const struct rope_config *cfg);

/* Embedding lookup: out[t][:] = scale * row (ids[t] - first_row) of table, for ids[t] in
 * [first_row, first_row + n_rows); other tokens' rows are left untouched, so a table split over
 * several buffers is one call per part. table holds n_rows rows of n_embd values of ggml type wtype
 * (n_embd a multiple of 32 and of the block size); ids [n_tokens] uint32; out [n_tokens][n_embd] f32. */
int op_embed(struct gpu_rec *rec, struct gpu_view out, struct gpu_view table, uint32_t wtype, struct gpu_view ids,
             uint32_t n_tokens, uint32_t n_embd, uint32_t first_row, uint32_t n_rows, float scale);

/* silu(gate) * up; gelu_tanh(gate) * up; gpt-oss's clamped SwiGLU (ggml_swiglu_oai, alpha 1.702,
 * limit 7): x = min(gate, 7), y = clamp(up, -7, 7), x * sigmoid(1.702 x) * (y + 1) */
enum glu_kind { GLU_SWIGLU, GLU_GEGLU, GLU_SWIGLU_OAI };
/* out [n_rows][n] = act(gate [n_rows][n]) * up [n_rows][n] */
int op_glu(struct gpu_rec *rec, struct gpu_view out, struct gpu_view gate, struct gpu_view up, uint32_t n,
           uint32_t n_rows, enum glu_kind kind);
/* the same from one [n_rows][gate n | up n] buffer (a fused gate_up projection); out must not overlap it */
int op_glu_fused(struct gpu_rec *rec, struct gpu_view out, struct gpu_view gate_up, uint32_t n, uint32_t n_rows,
                 enum glu_kind kind);

/* out[i] = a[i] + b[i], i < n (f32) */
int op_add(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view b, uint32_t n);
/* out[r][i] = in[r][i] + bias[i], r < n_rows, i < n (f32): Qwen2's QKV biases */
int op_add_bias(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, struct gpu_view bias, uint32_t n,
                uint32_t n_rows);
/* out[r][i] = a[r][i] + sigmoid(gate[r]) * b[r][i] for n_rows rows of width (a shared expert's
 * output scaled by its per-token gate, qwen2moe); out may be a or b */
int op_add_gated(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view b, struct gpu_view gate,
                 uint32_t width, uint32_t n_rows);
/* out[i] = a[i] * sigmoid(gate[i]), i < n (f32): a gated attention's output gate (qwen3next); out may be a */
int op_mul_sigmoid(struct gpu_rec *rec, struct gpu_view out, struct gpu_view a, struct gpu_view gate, uint32_t n);
/* out[i] = in[i] * scale, i < n (f32) */
int op_scale(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, float scale);
/* out[i] = cap * tanh(in[i] / cap), i < n (f32, cap > 0): Gemma's final logit soft-capping */
int op_softcap(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, uint32_t n, float cap);

/* The KV-cache store (shaders/kv_store.comp): cache row p0 + t = in row t, converted to the
 * cache type, for t < n_tokens, each row `width` elements; p0 = step[step_index + 1] is read on
 * the device (the attention step convention), so one recording serves every position. Rows
 * in_stride / cache_stride elements apart (0: width); rows at n_ctx or beyond are not written. */
int op_kv_store(struct gpu_rec *rec, struct gpu_view cache, enum attn_kv_type type, struct gpu_view in,
                struct gpu_view step, uint32_t n_tokens, uint32_t width, uint32_t in_stride, uint32_t cache_stride,
                uint32_t n_ctx, uint32_t step_index);

/* What happens to a chunk's q, k and v between their projections and attention, as one dispatch
 * (shaders/attn_prep.comp) instead of up to six (op_rms_norm on q and k per head, op_rope on q and
 * k, op_kv_store of k and v), with the same results:
 *   q = rope(rms_norm(q) * q_norm) * temperature(pos), in place;  k_cache row = rope(rms_norm(k) * k_norm);
 *   v_cache row = v
 * q [n_tokens][n_head][head_dim_k], k [n_tokens][n_head_kv][head_dim_k], v [n_tokens][n_head_kv][head_dim_v]
 * f32, contiguous; the caches [n_ctx][n_head_kv][head dim] of kv_type, token t going to row
 * step[step_index + 1] + t (rows at n_ctx or beyond are not written), RoPE (and temperature)
 * positions pos [n_tokens]. */
struct attn_prep_desc {
	uint32_t n_tokens, n_head, n_head_kv, head_dim_k, head_dim_v;
	struct gpu_view q_norm, k_norm;  /* per-head RMSNorm weights [head_dim_k] f32: both, or neither (no norm) */
	bool v_norm;                     /* Gemma 3n: v heads through a weightless RMSNorm before the store */
	bool l2_norm;                    /* Llama 4: a weightless per-head RMSNorm of q and k after RoPE (and
	                                  * before the temperature); not with q_norm / k_norm */
	float eps;
	const struct rope_config *rope;  /* NULL: no RoPE (NoPE layers) */
	struct gpu_view freq_factors;    /* rope_freqs [n_rot/2] f32, or no buffer */
	struct gpu_view pos;             /* [n_tokens] int32 (read with RoPE or the temperature) */
	struct gpu_view step;            /* the step words (op_kv_store's convention) */
	uint32_t step_index;
	enum attn_kv_type kv_type;
	uint32_t n_ctx;
	/* the attention temperature (llama.cpp's llm_graph_input_attn_temp), on q after RoPE (or on
	 * q as it is, without RoPE): q *= log(floor((pos + temp_offset) / temp_floor) + 1) * temp_scale + 1
	 * with the token's position from pos; temp_scale 0: none */
	float temp_scale;
	uint32_t temp_floor, temp_offset;
};
int op_attn_prep(struct gpu_rec *rec, struct gpu_view q, struct gpu_view k, struct gpu_view v, struct gpu_view k_cache,
                 struct gpu_view v_cache, const struct attn_prep_desc *d);

/* ---- multi-head latent attention (host/ops/mla.c, shaders/mla_*.comp, docs/mla.md) ----
 * The latent cache holds per position [c (kv_lora) | k_pe (n_pe)], f16 or f32, rows of
 * kv_lora + n_pe values: [n_ctx][kv_lora + n_pe]. */

/* The latent projection's tail and the query split, one dispatch for a chunk of n_tokens:
 *   cache row p0 + t = [rms_norm(kv[t][0:C]) * norm | rope(kv[t][C:C+R])]   (p0 = step[step_index + 1])
 *   q_nope [n_tokens][n_head][nope] = q[t][h][0:nope],  q_pe [n_tokens][n_head][R] = rope(q[t][h][nope:])
 * kv [n_tokens] rows kv_stride apart (0: C + R), q [n_tokens][n_head][nope + R] rows q_stride apart (0:
 * packed); norm [C] f32; positions pos [n_tokens] int32; rope NULL: no rotation (NoPE MLA). Rows at
 * n_ctx or beyond are not written. */
struct mla_prep_desc {
	uint32_t n_tokens, n_head, kv_lora, n_pe, nope;
	uint32_t q_stride, kv_stride;
	float eps;
	const struct rope_config *rope;  /* n_rot must equal n_pe */
	struct gpu_view pos, step;
	uint32_t step_index;
	uint32_t t_offset;     /* these tokens start at token t_offset of the step's chunk (rows p0 + t_offset + t) */
	enum attn_kv_type cache_type;
	uint32_t n_ctx;
	bool q_in_place;       /* rotate q_pe inside q and write no q_nope / q_pe (their views may have no buffer) */
};
int op_mla_prep(struct gpu_rec *rec, struct gpu_view cache, struct gpu_view q_nope, struct gpu_view q_pe, struct gpu_view q,
                struct gpu_view kv, struct gpu_view norm, const struct mla_prep_desc *d);

/* Absorbed attention over the latent cache: for every token t < n_q (at position p0 + t) and head h,
 *   out[t][h] = softmax_j(scale * (q_abs[t][h] . c_j + q_pe[t][h] . k_pe_j)) . c_j,  j <= p0 + t, j < n_kv
 * n_kv and p0 from step[step_index], step[step_index + 1] (read on the device); q_abs [n_q][n_head][kv_lora]
 * and q_pe [n_q][n_head][n_pe] f32, out [n_q][n_head][kv_lora] f32. Split over the context for long
 * caches (flash-decoding), the partials in scratch: op_mla_attention_scratch_bytes() (0: none needed). */
struct mla_attn_desc {
	uint32_t n_q, n_head, kv_lora, n_pe;
	uint32_t n_ctx;
	enum attn_kv_type cache_type;
	float scale;
	uint32_t n_split;      /* 0: chosen from n_ctx and the grid; 1: off; at most 64 */
	uint32_t step_index;
	uint32_t t_offset;     /* the queries are tokens t_offset.. of the step's chunk (positions p0 + t_offset + t) */
};
uint64_t op_mla_attention_scratch_bytes(const struct gpu *g, const struct mla_attn_desc *a);
int op_mla_attention(struct gpu_rec *rec, struct gpu_view out, struct gpu_view scratch, struct gpu_view q_abs,
                     struct gpu_view q_pe, struct gpu_view cache, struct gpu_view step, const struct mla_attn_desc *a);

/* Selection over n_rows rows of n f32 values (logits [n_rows][n]): the larger value first, ties
 * to the lower index (llama.cpp's greedy sampler), NaN counts as -inf. Both need a scratch view
 * of op_*_scratch_bytes (0 bytes: any view, even an empty one). */
uint64_t op_argmax_scratch_bytes(const struct gpu *g, uint32_t n, uint32_t n_rows);
/* out_idx [n_rows] uint32, out_val [n_rows] f32 */
int op_argmax(struct gpu_rec *rec, struct gpu_view out_idx, struct gpu_view out_val, struct gpu_view scratch,
              struct gpu_view logits, uint32_t n, uint32_t n_rows);
#define TOPK_MAX_K 64
uint64_t op_topk_scratch_bytes(const struct gpu *g, uint32_t n, uint32_t n_rows, uint32_t k);
/* out_idx [n_rows][k] uint32 and out_val [n_rows][k] f32, sorted descending; 1 <= k <= min(64, n) */
int op_topk(struct gpu_rec *rec, struct gpu_view out_idx, struct gpu_view out_val, struct gpu_view scratch,
            struct gpu_view logits, uint32_t n, uint32_t n_rows, uint32_t k);

/* ---- mixture of experts (host/ops/moe.c, docs/moe.md) ---- */

enum moe_gating {
	MOE_GATING_SOFTMAX,        /* Qwen3-MoE, Mixtral, Kimi K2's softmax models */
	MOE_GATING_SIGMOID,        /* DeepSeek V3, Kimi K2, GLM-4.5 */
	MOE_GATING_SOFTMAX_WEIGHT, /* gpt-oss: select by logit, softmax over the chosen */
	MOE_GATING_SIGMOID_LOGITS, /* Llama 4: select by logit, weights sigmoid(logit) of the chosen */
};
struct moe_route_desc {
	uint32_t n_tok, n_exp, k;   /* experts 1..1024, k 1..32 */
	uint32_t logits_stride;     /* between tokens' logits; 0: n_exp */
	enum moe_gating gating;
	uint32_t n_group, n_group_used; /* group-limited selection (DeepSeek V3); n_group 0 or 1: off */
	bool norm;                  /* weights divided by their sum (clamped at 2^-14, as llama.cpp) */
	float scale;                /* then multiplied by it (1 for most) */
};
/* The router: ids [n_tok][k] uint32 (best first, ties to the lower expert) and weights [n_tok][k]
 * f32 from logits [n_tok][n_exp] f32; bias [n_exp] f32 (optional) shifts selection only. */
int op_moe_route(struct gpu_rec *rec, struct gpu_view ids, struct gpu_view weights, struct gpu_view logits,
                 struct gpu_view bias, const struct moe_route_desc *d);
/* Sorts the n_assign = n_tok * k assignments in ids by expert, stably: counts [n_exp],
 * offsets [n_exp + 1], perm [n_assign] (position -> t * k + slot), inv [n_assign] (the reverse). */
int op_moe_index(struct gpu_rec *rec, struct gpu_view counts, struct gpu_view offsets, struct gpu_view perm,
                 struct gpu_view inv, struct gpu_view ids, uint32_t n_assign, uint32_t n_exp);
/* out [n_tok * k][n]: row pos is x's row perm[pos] / k (token rows into expert order), times
 * weights[perm[pos]] where weights has a buffer (Llama 4 scales the expert's input by the router's
 * weight; no buffer: as it is) */
int op_moe_gather_rows(struct gpu_rec *rec, struct gpu_view out, struct gpu_view x, struct gpu_view perm,
                       struct gpu_view weights, uint32_t n_tok, uint32_t k, uint32_t n);
/* out [n_tok][n] (+)= sum over slots of weights[t][slot] * y[inv[t * k + slot]] (back to token order);
 * weights without a buffer: the plain sum (Llama 4, whose weights went into the inputs) */
int op_moe_scatter(struct gpu_rec *rec, struct gpu_view out, struct gpu_view y, struct gpu_view inv,
                   struct gpu_view weights, uint32_t n_tok, uint32_t k, uint32_t n, bool accumulate);
/* Per-expert biases (ggml_add_id; gpt-oss's gate, up and down expert biases): y[r][i] += bias[e][i]
 * with e = ids[perm.buf ? perm[r] : r], r < n_assign, i < n. y [n_assign][n] f32, bias [n_exp][n]
 * f32, ids [n_assign] uint32. perm (optional, buf NULL: rows in assignment order, as op_moe_matvec
 * writes them) is op_moe_index's perm for rows in expert order (op_moe_gemm's). A row whose expert
 * id is n_exp or more, or whose perm entry is n_assign or more, is left as it is. */
int op_moe_add_bias(struct gpu_rec *rec, struct gpu_view y, struct gpu_view bias, struct gpu_view ids, struct gpu_view perm,
                    uint32_t n_assign, uint32_t n, uint32_t n_exp);
/* The expert matmuls for a few tokens: for each assignment a < n_assign (a = t * k + slot),
 * y[a] (+)= W_{ids[a]} x[a / x_div], W the stacked expert tensor [n_exp][n_rows][n_k] in ggml type
 * wtype, x rows of n_k f32, y [n_assign][n_rows] f32. x_div = k when every slot reads its token's
 * input (gate, up), 1 when each slot has its own (down). Reads only the chosen experts. */
struct moe_matvec_desc {
	uint32_t n_assign, x_div;
	uint32_t n_rows, n_k, n_exp;
	bool accumulate;
	/* optional (buf NULL: not given): op_moe_index's perm and offsets for these ids. CPU devices
	 * then run two assignments of one expert per workgroup, so each decoded weight serves two
	 * tokens; the results are the same, in assignment order. */
	struct gpu_view perm, offsets;
};
int op_moe_matvec(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                  struct gpu_view ids, const struct moe_matvec_desc *d);
/* Whether a chunk's expert matmuls run per assignment (op_moe_matvec) rather than sorted by expert
 * (op_moe_index, op_moe_gather_rows, op_moe_gemm): for a few tokens, while the assignments are no
 * more than the experts (a GEMM tile of tokens would be mostly empty), and always on CPU devices. */
bool op_moe_per_assignment(const struct gpu *g, uint32_t n_tok, uint32_t n_assign, uint32_t n_exp);
/* Whether op_moe_matvec runs faster given perm and offsets (CPU devices, more than one token:
 * one token's k experts are all different, so only several tokens make pairs). */
bool op_moe_matvec_pairs(const struct gpu *g, uint32_t n_tok);
/* The expert matmuls for a prefill chunk: rows in expert order (op_moe_gather_rows, op_moe_index's
 * counts and offsets): y[pos] (+)= W_e x[pos] for every position pos of expert e's segment; x
 * [n_assign][n_k], y [n_assign][n_rows]. Tiled as op_gemm, so each decoded weight serves up to a
 * tile of the expert's tokens. */
struct moe_gemm_desc {
	uint32_t n_assign;
	uint32_t n_rows, n_k, n_exp;
	bool accumulate;
};
int op_moe_gemm(struct gpu_rec *rec, struct gpu_view y, struct gpu_view w, uint32_t wtype, struct gpu_view x,
                struct gpu_view counts, struct gpu_view offsets, const struct moe_gemm_desc *d);

/* ---- Gemma 3n's AltUp (host/ops/altup.c, shaders/altup.comp, docs/gemma3n.md) ----
 * streams and pred are stream-major [4][n_tok][E] f32; mod [n_tok][4]; coef f32 row-major. */
/* pred[j] = s[j] + sum_k C[j][k] s[k], C[j][k] = coef[4j + k] . mod[t] (coef [16][4]); x = pred[0] */
int op_altup_predict(struct gpu_rec *rec, struct gpu_view pred, struct gpu_view x, struct gpu_view streams,
                     struct gpu_view mod, struct gpu_view coef, uint32_t n_tok, uint32_t E);
/* streams[j] = pred[j] + (coef[j] . mod[t] + 1) (y - pred[0]) (coef [4][4]); fp = streams[0] * scale [E] */
int op_altup_correct(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view fp, struct gpu_view pred,
                     struct gpu_view mod, struct gpu_view coef, struct gpu_view y, struct gpu_view scale, uint32_t n_tok,
                     uint32_t E);
/* streams[j] += p for j = 1..3 (p [n_tok][E]) */
int op_altup_inject(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view p, uint32_t n_tok, uint32_t E);
/* inp [L][n_tok][P] = (proj + ple) / sqrt(2), proj and ple [n_tok][L][P] */
int op_altup_ple(struct gpu_rec *rec, struct gpu_view inp, struct gpu_view proj, struct gpu_view ple, uint32_t n_tok,
                 uint32_t P, uint32_t L);
/* streams[0] = x0; streams[k + 1][t] = y[t][k] |x0[t]| / |y[t][k]| (y [n_tok][3][E]) */
int op_altup_init(struct gpu_rec *rec, struct gpu_view streams, struct gpu_view x0, struct gpu_view y, uint32_t n_tok,
                  uint32_t E);
/* x = (streams[0] + sum_k u[k] |streams[0]| / |u[k]|) / 4 (u [3][n_tok][E]) */
int op_altup_merge(struct gpu_rec *rec, struct gpu_view x, struct gpu_view streams, struct gpu_view u, uint32_t n_tok,
                   uint32_t E);
/* Gemma 3n's activation sparsity, in place per row of n: g = max(g - (mean + std_mul * std), 0), std with n - 1 */
int op_sparse_gate(struct gpu_rec *rec, struct gpu_view gate, uint32_t n, uint32_t n_rows, float std_mul);

#endif
