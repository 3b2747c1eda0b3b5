/* op_rope (shaders/rope.comp): rotary position embedding, ggml's semantics (rope_yarn,
 * ggml_rope_yarn_corr_dims), positions read on the device. The host part is the per-op scalars,
 * computed in f32 exactly as ggml computes them: theta_scale = powf(freq_base, -2/n_rot), the
 * YaRN correction dims, and the magnitude scale. */
#include <math.h>

#include "ops.h"

#include "../../shaders/abi.h"
#include "view_util.h"

/* ggml_rope_yarn_corr_dim: the dim whose wavelength makes n_rot_turns turns over n_ctx_orig */
static float yarn_corr_dim(uint32_t n_rot, uint32_t n_ctx_orig, float n_rot_turns, float base)
{
	return (float)n_rot * logf((float)n_ctx_orig / (n_rot_turns * 2 * (float)M_PI)) / (2 * logf(base));
}

void rope_yarn_corr_dims(float dims[2], uint32_t n_rot, uint32_t n_ctx_orig, float freq_base, float beta_fast,
                         float beta_slow)
{
	float start = floorf(yarn_corr_dim(n_rot, n_ctx_orig, beta_fast, freq_base));
	float end = ceilf(yarn_corr_dim(n_rot, n_ctx_orig, beta_slow, freq_base));
	dims[0] = start > 0 ? start : 0;
	dims[1] = end < (float)(n_rot - 1) ? end : (float)(n_rot - 1);
}

/* Checks cfg against head_dim and derives rope.comp's scalars as ggml does (shared with attn_prep) */
int rope_prepare(const char *op, const struct rope_config *cfg, uint32_t head_dim, struct rope_scalars *sc)
{
	if (cfg->n_rot == 0 || cfg->n_rot % 2 || cfg->n_rot > head_dim)
		return fail(VKLLM_E_ARG, "%s: n_rot %u must be even and in 2..head_dim (%u)", op, cfg->n_rot, head_dim);
	if (!(cfg->freq_base > 0) || !(cfg->freq_scale > 0) || !isfinite(cfg->ext_factor) || !isfinite(cfg->attn_factor))
		return fail(VKLLM_E_ARG, "%s: freq_base %g and freq_scale %g must be positive, ext_factor %g and attn_factor %g finite",
		            op, (double)cfg->freq_base, (double)cfg->freq_scale, (double)cfg->ext_factor, (double)cfg->attn_factor);
	if (cfg->ext_factor != 0 && (cfg->n_ctx_orig == 0 || !(cfg->beta_fast > 0) || !(cfg->beta_slow > 0)))
		return fail(VKLLM_E_ARG, "%s: YaRN needs n_ctx_orig (%u), beta_fast (%g) and beta_slow (%g) > 0", op,
		            cfg->n_ctx_orig, (double)cfg->beta_fast, (double)cfg->beta_slow);

	float corr[2] = {0, 0};
	if (cfg->ext_factor != 0)
		rope_yarn_corr_dims(corr, cfg->n_rot, cfg->n_ctx_orig, cfg->freq_base, cfg->beta_fast, cfg->beta_slow);
	sc->mscale = cfg->attn_factor;
	if (cfg->ext_factor != 0) sc->mscale *= 1.0f + 0.1f * logf(1.0f / cfg->freq_scale);
	sc->theta_scale = powf(cfg->freq_base, -2.0f / (float)cfg->n_rot);
	sc->corr_low = corr[0], sc->corr_high = corr[1];
	return VKLLM_OK;
}

int op_rope(struct gpu_rec *rec, struct gpu_view out, struct gpu_view in, struct gpu_view pos, struct gpu_view freq_factors,
            uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim, uint32_t in_stride, uint32_t out_stride,
            const struct rope_config *cfg)
{
	struct gpu *g = rec->g;
	const char *op = "rope_f32";
	struct rope_scalars sc;
	uint32_t row = n_heads * head_dim;
	if (in_stride == 0) in_stride = row;
	if (out_stride == 0) out_stride = row;
	if (n_tokens == 0 || n_heads == 0 || head_dim == 0 || head_dim % 2 || (uint64_t)n_heads * head_dim > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u tokens x %u heads x %u dims: sizes must be positive and head_dim even", op,
		            n_tokens, n_heads, head_dim);
	TRY(rope_prepare(op, cfg, head_dim, &sc));
	if (in_stride < row || out_stride < row)
		return fail(VKLLM_E_ARG, "%s: token strides %u and %u are shorter than a token (%u x %u)", op, in_stride,
		            out_stride, n_heads, head_dim);
	if ((uint64_t)n_tokens * n_heads * (head_dim / 2) > UINT32_MAX)
		return fail(VKLLM_E_ARG, "%s: %u x %u x %u is too many elements for one dispatch", op, n_tokens, n_heads, head_dim);
	TRY(ops_check_view(op, "in", in, 4, ((uint64_t)(n_tokens - 1) * in_stride + row) * 4));
	TRY(ops_check_view(op, "out", out, 4, ((uint64_t)(n_tokens - 1) * out_stride + row) * 4));
	TRY(ops_check_view(op, "positions", pos, 4, (uint64_t)n_tokens * 4));
	if (freq_factors.buf) TRY(ops_check_view(op, "freq_factors", freq_factors, 4, (uint64_t)cfg->n_rot / 2 * 4));

	/* in place (the same bytes) needs no tail copy; any other overlap is a caller bug we refuse */
	bool same = out.buf == in.buf && out.offset == in.offset && out_stride == in_stride;
	if (!same && out.buf == in.buf) {
		VkDeviceSize ib = in.offset, ie = in.offset + ((uint64_t)(n_tokens - 1) * in_stride + row) * 4;
		VkDeviceSize ob = out.offset, oe = out.offset + ((uint64_t)(n_tokens - 1) * out_stride + row) * 4;
		if (ib < oe && ob < ie) return fail(VKLLM_E_ARG, "%s: in and out overlap without being the same", op);
	}

	uint32_t spec[] = {ops_elementwise_wg(g)};
	const struct gpu_pipeline *p;
	TRY(gpu_pipeline_get(g, &p, SH_ROPE_F32, spec, 1));
	struct rope_params pc = {
		.n_tokens = n_tokens, .n_heads = n_heads, .head_dim = head_dim, .n_rot = cfg->n_rot,
		.in_stride = in_stride, .out_stride = out_stride,
		.neox = cfg->neox, .has_ff = freq_factors.buf != NULL, .copy_tail = !same,
		.theta_scale = sc.theta_scale, .freq_scale = cfg->freq_scale, .ext_factor = cfg->ext_factor,
		.mscale = sc.mscale, .corr_low = sc.corr_low, .corr_high = sc.corr_high,
	};
	struct gpu_view views[] = {ops_aligned(g, in, 4, &pc.in_offset), ops_aligned(g, pos, 4, &pc.pos_offset),
	                           ops_aligned(g, freq_factors.buf ? freq_factors : pos, 4, &pc.ff_offset),
	                           ops_aligned(g, out, 4, &pc.out_offset)};
	uint32_t gx, gy;
	gpu_groups_1d(g, ((uint64_t)n_tokens * n_heads * (head_dim / 2) + spec[0] - 1) / spec[0], &gx, &gy);
	return gpu_dispatch(rec, p, views, 4, &pc, sizeof pc, gx, gy, 1);
}
