/* The contract between host and shaders: push-constant structs, valid C and GLSL both.
 *
 * Conventions every shader follows (host/vk/record.c and pipeline.c rely on them):
 * - specialization constant 0 is the workgroup size (layout(local_size_x_id = 0));
 * - storage buffers live in set 0 at bindings 0..n-1; a binding the shader only reads is
 *   declared `readonly` (reflection turns that into the read set used for barriers);
 * - a 1-D grid larger than maxComputeWorkGroupCount[0] is folded into x and y: the flat
 *   workgroup index is gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x. */
#ifndef VKLLM_ABI_H
#define VKLLM_ABI_H

#ifdef GL_core_profile
#define ABI_U32 uint
#define ABI_F32 float
#else
#include <stdint.h>
#define ABI_U32 uint32_t
#define ABI_F32 float
#endif

/* fill.comp: out[offset + i] = value for i < n (elements, not bytes) */
struct fill_params {
	ABI_U32 n;
	ABI_U32 offset;
	ABI_F32 value;
};

/* copy.comp: out[dst_offset + i] = convert(in[src_offset + i]) for i < n */
struct copy_params {
	ABI_U32 n;
	ABI_U32 src_offset;
	ABI_U32 dst_offset;
};

/* matvec.comp: Y[y_offset + c*y_stride + r] (+)= sum_k W[r][k] * X[x_offset + c*x_stride + k].
 * w_offset is in bytes (a multiple of 2, or of 4 for f32); x/y offsets and strides in elements. */
struct matvec_params {
	ABI_U32 n_rows;
	ABI_U32 n_k;        /* a multiple of 32 (and of the type's block size) */
	ABI_U32 row_bytes;  /* bytes of one weight row */
	ABI_U32 w_offset;
	ABI_U32 x_offset;
	ABI_U32 x_stride;
	ABI_U32 y_offset;
	ABI_U32 y_stride;
	ABI_U32 accumulate; /* 1: add to Y (a residual add for free) */
};

/* attention.comp (docs/attention.md): causal flash attention of n_q queries at positions
 * p0..p0+n_q-1 against KV positions 0..n_kv-1. n_kv = STEP[step_offset], p0 = STEP[step_offset+1]
 * are read on the device, so a recording replays for every token. All offsets and strides are in
 * elements of their buffer. n_split > 1: the workgroups of split s write unnormalized partials
 * (acc[DV], max, sum) to O at o_offset + ((s*n_q + t)*n_head + h)*(DV+2), for attention_combine. */
struct attn_params {
	ABI_U32 n_q;
	ABI_U32 n_head;
	ABI_U32 n_head_kv;
	ABI_U32 n_ctx;          /* positions the K/V views hold: n_kv is clamped to it */
	ABI_U32 q_offset;
	ABI_U32 q_stride;       /* between tokens; heads are head_dim apart */
	ABI_U32 k_offset;
	ABI_U32 k_pos_stride;
	ABI_U32 k_head_stride;
	ABI_U32 v_offset;
	ABI_U32 v_pos_stride;
	ABI_U32 v_head_stride;
	ABI_U32 o_offset;
	ABI_U32 o_stride;       /* between tokens (unused for partials) */
	ABI_U32 sink_offset;
	ABI_U32 has_sinks;
	ABI_U32 step_offset;
	ABI_U32 n_split;
	ABI_U32 n_swa;          /* 0: no window; else key p_k is masked when p_q - p_k >= n_swa */
	ABI_U32 n_chunk;        /* 0: off; else key p_k is masked when p_k < floor(p_q / n_chunk) * n_chunk
	                         * (Llama 4's chunked attention); never both n_swa and n_chunk */
	ABI_F32 scale;          /* kq scale */
	ABI_F32 softcap;        /* 0: off; else s = softcap * tanh(s / softcap) */
};

/* attention_combine.comp: merges the n_split partials of every (token, head) row:
 * out = sum_s e^(m_s-M) acc_s / (sum_s e^(m_s-M) l_s + [sinks] e^(sink_h-M)). */
struct attn_combine_params {
	ABI_U32 n_rows;         /* n_q * n_head */
	ABI_U32 n_head;
	ABI_U32 dv;
	ABI_U32 n_split;
	ABI_U32 part_offset;
	ABI_U32 o_offset;
	ABI_U32 o_stride;
	ABI_U32 sink_offset;
	ABI_U32 has_sinks;
};

/* peak_fma.comp: n invocations write one float each after `iterations` rounds of 32 FMAs */
struct peak_params {
	ABI_U32 n;
	ABI_U32 iterations;
	ABI_F32 b; /* the multiplier: just below 1, so values stay finite */
};

/* ---- small ops for dense models (host/ops/{norm,rope,embed,glu,eltwise,topk}.c) ---- */

/* rms_norm.comp: per row r < n_rows of n elements (rows `stride` apart):
 *   x = X[r] (or, FUSED_ADD: x = A[r] + B[r], written to SUM[r]);  Y[r] = x / sqrt(mean(x^2) + eps) (* W) */
struct rms_norm_params {
	ABI_U32 n;
	ABI_U32 n_rows;
	ABI_U32 stride;
	ABI_U32 x_offset;   /* X, or A when fused */
	ABI_U32 b_offset;
	ABI_U32 sum_offset;
	ABI_U32 w_offset;
	ABI_U32 y_offset;
	ABI_U32 has_weight;
	ABI_F32 eps;
};

/* rope.comp: rotates the first n_rot dims of every head of [n_tokens][n_heads][head_dim] (tokens
 * in_stride / out_stride apart) by angle pos[t] * theta_scale^i / ff[i] * mix_i (ggml's rope_yarn). */
struct rope_params {
	ABI_U32 n_tokens;
	ABI_U32 n_heads;
	ABI_U32 head_dim;
	ABI_U32 n_rot;
	ABI_U32 in_offset;
	ABI_U32 in_stride;
	ABI_U32 out_offset;
	ABI_U32 out_stride;
	ABI_U32 pos_offset;
	ABI_U32 ff_offset;
	ABI_U32 neox;       /* 0: pairs (2i, 2i+1); 1: pairs (i, i + n_rot/2) */
	ABI_U32 has_ff;
	ABI_U32 copy_tail;  /* 1: copy dims n_rot..head_dim-1 (out of place) */
	ABI_F32 theta_scale;
	ABI_F32 freq_scale;
	ABI_F32 ext_factor;
	ABI_F32 mscale;     /* attn_factor, times 1 + 0.1 ln(1/freq_scale) when ext_factor != 0 */
	ABI_F32 corr_low;
	ABI_F32 corr_high;
};

/* attn_prep.comp: what happens to a chunk's q, k and v between their projections and attention,
 * in one dispatch: per-head RMSNorm of q and k (norm != 0), RoPE on both (rope != 0, fields as
 * rope_params), the attention temperature on q (temp_scale != 0), q written back in place, k and v converted into the caches at row
 * STEP[step_offset + 1] + t. One workgroup per token and head slot: n_head q heads, then
 * n_head_kv k heads, then n_head_kv v heads. Token t's heads are contiguous (q [t][n_head][dk],
 * k [t][n_head_kv][dk], v [t][n_head_kv][dv]; the caches [n_ctx][n_head_kv][d]). */
struct attn_prep_params {
	ABI_U32 n_tokens;
	ABI_U32 n_head;
	ABI_U32 n_head_kv;
	ABI_U32 head_dim_k;
	ABI_U32 head_dim_v;
	ABI_U32 q_offset;
	ABI_U32 k_offset;
	ABI_U32 v_offset;
	ABI_U32 kc_offset;
	ABI_U32 vc_offset;
	ABI_U32 n_ctx;
	ABI_U32 step_offset; /* STEP[step_offset + 1]: the cache row of the chunk's first token */
	ABI_U32 pos_offset;  /* STEP[pos_offset + t]: token t's RoPE position (int) */
	ABI_U32 norm;
	ABI_U32 qn_offset;
	ABI_U32 kn_offset;
	ABI_F32 eps;
	ABI_U32 rope;
	ABI_U32 n_rot;
	ABI_U32 neox;
	ABI_U32 has_ff;
	ABI_U32 ff_offset;
	ABI_F32 theta_scale;
	ABI_F32 freq_scale;
	ABI_F32 ext_factor;
	ABI_F32 mscale;
	ABI_F32 corr_low;
	ABI_F32 corr_high;
	ABI_F32 temp_scale;  /* attention temperature on q (0: none): times log(floor((pos + temp_offset) / */
	ABI_U32 temp_floor;  /* temp_floor) + 1) * temp_scale + 1, pos = POS[pos_offset + t] as RoPE reads it */
	ABI_U32 temp_offset;
	ABI_U32 v_norm;     /* Gemma 3n: v heads RMS-normed without weight before the store */
};

/* mla_prep.comp: the latent projection's tail and the query split of multi-head latent attention.
 * Per token t (one workgroup for the KV slot, one per query head):
 *   CACHE[row] = [ rms_norm(kv[t][0:C]) * norm | rope(kv[t][C:C+R]) ]   row = STEP[step_offset + 1] + t
 *   QN[t][h] = q[t][h][0:nope]      QP[t][h] = rope(q[t][h][nope:nope+R])   (or q_pe rotated in q)
 * RoPE optional (rope 0: the pe dims pass through, Kimi Linear's NoPE MLA). */
struct mla_prep_params {
	ABI_U32 n_tokens;
	ABI_U32 n_head;
	ABI_U32 kv_lora;        /* C: the compressed KV width */
	ABI_U32 n_pe;           /* R: the shared rope key's width (and each head's q_pe) */
	ABI_U32 nope;           /* each head's q_nope width */
	ABI_U32 q_offset;
	ABI_U32 q_stride;       /* between tokens in q (heads are nope + R apart) */
	ABI_U32 kv_offset;
	ABI_U32 kv_stride;      /* between tokens in kv */
	ABI_U32 norm_offset;
	ABI_U32 cache_offset;
	ABI_U32 qn_offset;
	ABI_U32 qp_offset;
	ABI_U32 n_ctx;
	ABI_U32 step_offset;
	ABI_U32 t_offset;       /* the chunk's token t0: cache row STEP[step_offset + 1] + t_offset + t */
	ABI_U32 pos_offset;
	ABI_F32 eps;
	ABI_U32 rope;
	ABI_U32 neox;
	ABI_F32 theta_scale;
	ABI_F32 freq_scale;
	ABI_F32 ext_factor;
	ABI_F32 mscale;
	ABI_F32 corr_low;
	ABI_F32 corr_high;
	ABI_U32 q_in_place;     /* 1: q_pe rotated inside q, no QN / QP (the decompressed form's queries) */
};

/* mla_attention.comp: absorbed MLA attention over the latent cache, MQA with one latent "KV head":
 *   s[t][h][j] = scale * (QA[t][h] . CACHE[j][0:C] + QP[t][h] . CACHE[j][C:C+R]),  j <= p0 + t, j < n_kv
 *   O[t][h] = softmax_j(s) . CACHE[:, 0:C]
 * With n_split > 1 each split writes attention_combine.comp's partials (dv = C). */
struct mla_attn_params {
	ABI_U32 n_q;
	ABI_U32 n_head;
	ABI_U32 n_ctx;
	ABI_U32 qa_offset;
	ABI_U32 qa_stride;      /* between tokens (heads C apart) */
	ABI_U32 qp_offset;
	ABI_U32 qp_stride;      /* between tokens (heads R apart) */
	ABI_U32 cache_offset;
	ABI_U32 o_offset;
	ABI_U32 o_stride;       /* between tokens (heads C apart); unused for partials */
	ABI_U32 step_offset;
	ABI_U32 t_offset;       /* the queries' first token in the chunk: token t sits at p0 + t_offset + t */
	ABI_U32 n_split;
	ABI_F32 scale;
};

/* mla_decompress.comp: MLA's decompressed form, per head K and V rebuilt from the latent cache for
 * positions j < n_kv = min(STEP[step_offset], n_ctx):
 *   K[j][h] = [ WK[h] . CACHE[j][0:C] (nope values) | CACHE[j][C:C+R] ]   WK [n_head * nope][C]
 *   V[j][h] = WV[h] . CACHE[j][0:C] (v_dim values)                        WV [n_head * v_dim][C]
 * Weights f16; offsets in elements of each binding's type. */
struct mla_decompress_params {
	ABI_U32 n_ctx;
	ABI_U32 n_head;
	ABI_U32 kv_lora;        /* C */
	ABI_U32 n_pe;           /* R */
	ABI_U32 nope;
	ABI_U32 v_dim;
	ABI_U32 cache_offset;
	ABI_U32 wk_offset;
	ABI_U32 wv_offset;
	ABI_U32 k_offset;
	ABI_U32 v_offset;
	ABI_U32 step_offset;
};

/* gdn_gates.comp: a gated DeltaNet layer's log-decay per token, value head (and channel: width > 1,
 * KDA) and beta per token and value head */
struct gdn_gates_params {
	ABI_U32 n_tokens;
	ABI_U32 n_head_k;
	ABI_U32 n_head_v;
	ABI_U32 grouped;        /* 1: qwen3next's ssm_ba order in one buffer; 0: b and a apart */
	ABI_U32 width;          /* gate values per value head: 1, or head_dim (KDA; not grouped) */
	ABI_U32 b_offset;
	ABI_U32 a_offset;
	ABI_U32 stride;         /* between tokens of b (and of a when grouped) */
	ABI_U32 a_stride;       /* between tokens of a */
	ABI_U32 dt_offset;
	ABI_U32 sa_offset;
	ABI_U32 g_offset;
	ABI_U32 beta_offset;
};

/* embed.comp: OUT[t] = scale * decode(W row ids[t] - first_row) for ids in [first_row, first_row + n_rows);
 * rows for other ids are left untouched (a table split over several buffers takes one dispatch each). */
struct embed_params {
	ABI_U32 n_tokens;
	ABI_U32 n_embd;
	ABI_U32 row_bytes;
	ABI_U32 w_offset;   /* bytes */
	ABI_U32 first_row;
	ABI_U32 n_rows;
	ABI_U32 ids_offset;
	ABI_U32 out_offset;
	ABI_U32 out_stride;
	ABI_F32 scale;
};

/* glu.comp: OUT[r][c] = act(G[r][c]) * U[r][c], c < n, r < n_rows; gate and up rows in_stride apart */
struct glu_params {
	ABI_U32 n;
	ABI_U32 n_rows;
	ABI_U32 gate_offset;
	ABI_U32 up_offset;
	ABI_U32 in_stride;
	ABI_U32 out_offset;
	ABI_U32 out_stride;
};

/* eltwise.comp: OUT[i] = A[i] + B[i % b_period] (ADD), A[i] * scale (SCALE) or
 * scale * tanh(A[i] / scale) (SOFTCAP), i < n */
struct eltwise_params {
	ABI_U32 n;
	ABI_U32 a_offset;
	ABI_U32 b_offset;
	ABI_U32 out_offset;
	ABI_F32 scale;
	ABI_U32 b_period;   /* ADD: n for a plain add, a row length for a broadcast bias; ADD_GATED: the row length */
	ABI_U32 g_offset;   /* ADD_GATED: the gates, one per row */
};

/* kv_store.comp: CACHE[(p0 + t) * cache_stride + i] = convert(IN[t * in_stride + i]) for t < n_tokens,
 * i < width, with p0 = STEP[step_offset + 1] read on the device (the attention step convention);
 * rows at n_ctx or beyond are not written. */
struct kv_store_params {
	ABI_U32 n_tokens;
	ABI_U32 width;
	ABI_U32 in_offset;
	ABI_U32 in_stride;
	ABI_U32 cache_offset;
	ABI_U32 cache_stride;
	ABI_U32 n_ctx;
	ABI_U32 step_offset;
};

/* argmax.comp / topk.comp: per row r < n_rows of n values (rows in_stride apart), pass 1 reduces
 * chunks of `chunk` values to one candidate (argmax) or KP candidates (top-k); MERGE passes reduce
 * candidate lists. Candidates are (value, index) pairs in two arrays. Ties: the lower index wins. */
struct select_params {
	ABI_U32 n;          /* values (pass 1) or candidates (merge) per row */
	ABI_U32 n_rows;
	ABI_U32 chunk;      /* inputs per workgroup */
	ABI_U32 in_offset;
	ABI_U32 in_stride;
	ABI_U32 idx_offset; /* candidate indices (merge passes) */
	ABI_U32 k;          /* outputs per workgroup: 1 for argmax; k (final) or KP (partial) */
	ABI_U32 out_val_offset;
	ABI_U32 out_idx_offset;
	ABI_U32 out_stride; /* between rows of the output */
};

/* gemm.comp: Y[y_offset + c*y_stride + r] (+)= sum_k W[r][k] * X[x_offset + c*x_stride + k] for
 * r < n_rows, c < n_cols; offsets as matvec_params. */
struct gemm_params {
	ABI_U32 n_rows;
	ABI_U32 n_cols;
	ABI_U32 n_k;        /* a multiple of 32 (and of the type's block size) */
	ABI_U32 row_bytes;
	ABI_U32 w_offset;
	ABI_U32 x_offset;
	ABI_U32 x_stride;
	ABI_U32 y_offset;
	ABI_U32 y_stride;
	ABI_U32 accumulate;
};

/* ---- mixture of experts (host/ops/moe.c, docs/moe.md) ---- */

/* moe_route.comp: per token t < n_tok, from its n_exp router logits: gating (spec constant),
 * selection scores (+ bias), group limiting, the top k experts, their weights. */
struct moe_route_params {
	ABI_U32 n_tok;
	ABI_U32 n_exp;
	ABI_U32 k;
	ABI_U32 logits_offset;
	ABI_U32 logits_stride;
	ABI_U32 bias_offset;
	ABI_U32 has_bias;
	ABI_U32 ids_offset;     /* out [n_tok][k] uint */
	ABI_U32 w_offset;       /* out [n_tok][k] float */
	ABI_U32 n_group;        /* 1: no group limit */
	ABI_U32 n_group_used;
	ABI_U32 norm;           /* weights divided by their sum (clamped at 2^-14) */
	ABI_F32 scale;          /* then multiplied by scale */
};

/* moe_index.comp: the n_tok * k (token, slot) assignments sorted by expert, stably:
 * COUNTS[e], OFFSETS[e] (OFFSETS[n_exp] = n_tok * k), PERM[pos] = t * k + slot, INV[t * k + slot] = pos. */
struct moe_index_params {
	ABI_U32 n_assign;       /* n_tok * k */
	ABI_U32 n_exp;
	ABI_U32 ids_offset;
	ABI_U32 counts_offset;
	ABI_U32 offsets_offset;
	ABI_U32 perm_offset;
	ABI_U32 inv_offset;
};

/* moe_matvec.comp: for each assignment a < n_assign (gl_WorkGroupID.z), with e = IDS[a] in this
 * dispatch's part [first_expert, first_expert + n_part):
 *   Y[y_offset + a * n_rows + r] (+)= sum_k W_e[r][k] * X[x_offset + (a / x_div) * n_k + k]
 * W_e at byte w_offset + (e - first_expert) * expert_bytes. x_div = k for the gate and up
 * projections (every slot reads its token's input), 1 for down (each slot its own). */
struct moe_matvec_params {
	ABI_U32 n_rows;
	ABI_U32 n_k;
	ABI_U32 row_bytes;
	ABI_U32 w_offset;
	ABI_U32 expert_bytes;
	ABI_U32 first_expert;
	ABI_U32 n_part;
	ABI_U32 x_offset;
	ABI_U32 x_div;
	ABI_U32 y_offset;
	ABI_U32 ids_offset;
	ABI_U32 accumulate;
	ABI_U32 perm_offset;    /* matvec_cpu.comp -D MOE with 2 columns: op_moe_index's perm and offsets */
	ABI_U32 offsets_offset;
};

/* gemm.comp -D MOE: the grouped expert GEMM over segments in expert order:
 *   Y[pos][r] (+)= sum_k W_e[r][k] * X[pos][k] for the positions pos of expert e's segment */
struct moe_gemm_params {
	ABI_U32 n_rows;
	ABI_U32 n_k;
	ABI_U32 row_bytes;
	ABI_U32 w_offset;
	ABI_U32 x_offset;
	ABI_U32 x_stride;
	ABI_U32 y_offset;
	ABI_U32 y_stride;
	ABI_U32 accumulate;
	ABI_U32 expert_bytes;
	ABI_U32 first_expert;
	ABI_U32 n_part;
	ABI_U32 n_exp;
	ABI_U32 counts_offset;
	ABI_U32 offsets_offset;
};

/* moe_gather_rows.comp: XP[pos][i] = X[PERM[pos] / k][i] (* W[PERM[pos]] if weighted), pos < n_assign,
 *                       i < n (rows x_stride apart)
 * moe_scatter.comp:     OUT[t][i] (+)= sum_slot (W[t][slot] if weighted) * Y[INV[t * k + slot]][i] */
struct moe_rows_params {
	ABI_U32 n_assign;       /* n_tok * k */
	ABI_U32 k;
	ABI_U32 n;              /* row length */
	ABI_U32 x_offset;       /* gather: X; scatter: Y */
	ABI_U32 x_stride;
	ABI_U32 index_offset;   /* gather: PERM; scatter: INV */
	ABI_U32 w_offset;       /* the routing weights, read where weighted */
	ABI_U32 out_offset;
	ABI_U32 out_stride;
	ABI_U32 accumulate;     /* scatter: add to OUT */
	ABI_U32 weighted;
};

/* altup.comp (Gemma 3n's AltUp, docs/gemma3n.md): bindings A, B, C, D, F in, OUT, OUT2 out; the
 * mode (a variant) says which it reads */
struct altup_params {
	ABI_U32 n_tok;
	ABI_U32 E;          /* n_embd */
	ABI_U32 P;          /* PLE: the per-layer input width */
	ABI_U32 L;          /* PLE: layers */
	ABI_U32 a_offset;
	ABI_U32 b_offset;
	ABI_U32 c_offset;
	ABI_U32 d_offset;
	ABI_U32 f_offset;
	ABI_U32 out_offset;
	ABI_U32 out2_offset;
	ABI_F32 scale;      /* PLE: 1/sqrt(2) */
};

/* sparse_gate.comp (Gemma 3n's activation sparsity): per row of n, G = max(G - (mean + mul * std), 0),
 * std with n - 1 */
struct sparse_gate_params {
	ABI_U32 n;
	ABI_U32 n_rows;
	ABI_U32 g_offset;
	ABI_F32 std_mul;
};

/* moe_add_bias.comp: Y[r][i] += BIAS[e][i], e = IDS[has_perm ? PERM[r] : r], r < n_assign, i < n
 * (ggml_add_id: gpt-oss's per-expert biases); rows of y n apart, of bias n apart */
struct moe_add_bias_params {
	ABI_U32 n_assign;
	ABI_U32 n;
	ABI_U32 n_exp;
	ABI_U32 has_perm;
	ABI_U32 y_offset;
	ABI_U32 bias_offset;
	ABI_U32 ids_offset;
	ABI_U32 perm_offset;
};

/* Gated DeltaNet (host/ops/gdn.c, tests/ref/gdn_ref.h).
 * gdn_conv.comp: depthwise causal conv of K taps + SiLU over T tokens of C channels; tap j of channel c
 * is W[c*K + j] (oldest first); STATE [K-1][C] holds the previous K-1 inputs (oldest first).
 * -D STATE_UPDATE: the state shift alone (a second dispatch, after the outputs). */
struct gdn_conv_params {
	ABI_U32 n_tokens;
	ABI_U32 C;
	ABI_U32 K;
	ABI_U32 x_offset;
	ABI_U32 x_stride;       /* between tokens */
	ABI_U32 w_offset;
	ABI_U32 state_offset;
	ABI_U32 y_offset;
	ABI_U32 y_stride;
};

/* gdn_recurrent.comp, gdn_chunk_prep.comp, gdn_chunk_scan.comp: the gated delta rule over n_tokens,
 * value heads Hv reading key head h / (Hv/Hk) (tiled = 0) or h % Hk (tiled = 1); state [Hv][Dk][Dv] f32;
 * q, k [T][.. Hk*Dk ..] (q_stride, k_stride), v [T][.. Hv*Dv ..], g [T][Hv] (or [T][Hv][Dk] per_channel),
 * beta [T][Hv], o [T][.. Hv*Dv ..]. l2norm: q, k normalised x / sqrt(sum x^2 + eps) first. */
struct gdn_params {
	ABI_U32 n_tokens;
	ABI_U32 Hk;
	ABI_U32 Hv;
	ABI_U32 Dk;
	ABI_U32 Dv;
	ABI_U32 tiled;
	ABI_U32 per_channel;
	ABI_U32 l2norm;
	ABI_F32 eps;
	ABI_F32 scale;
	ABI_U32 q_offset;
	ABI_U32 q_stride;
	ABI_U32 k_offset;
	ABI_U32 k_stride;
	ABI_U32 v_offset;
	ABI_U32 v_stride;
	ABI_U32 g_offset;
	ABI_U32 beta_offset;
	ABI_U32 state_offset;
	ABI_U32 o_offset;
	ABI_U32 o_stride;
	ABI_U32 scratch_offset;
	ABI_U32 chunk0;         /* chunked: the first chunk of this dispatch (tokens chunk0 * 64 ..) */
	ABI_U32 n_chunks;       /* chunked: chunks in this dispatch */
	ABI_U32 n_slices;       /* value-column slices per head (grid = Hv * n_slices) */
	ABI_U32 scratch_stride; /* chunked: floats of scratch per (chunk, value head); gdn_chunk_prep.comp's layout */
};

/* gdn_gated_norm.comp: Y[r] = X[r] / sqrt(mean(X[r]^2) + eps) * W * gate(Z[r]), rows of n,
 * gate = silu, or sigmoid when sigmoid_gate. */
struct gdn_norm_params {
	ABI_U32 n;
	ABI_U32 n_rows;
	ABI_U32 sigmoid_gate;
	ABI_F32 eps;
	ABI_U32 x_offset;
	ABI_U32 z_offset;
	ABI_U32 w_offset;
	ABI_U32 y_offset;
};

#endif
