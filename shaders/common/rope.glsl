// The RoPE angle of pair i at a position, ggml's rope_yarn (rope.comp's header has the formulas),
// shared by rope.comp and attn_prep.comp so that both rotate with the same f32 operations:
//   g = theta_scale^i / ff_i, mixed with YaRN's ramp; theta = pos * g, reduced in turns
// Returns (cos, sin) times mscale.
#ifndef VKLLM_ROPE_GLSL
#define VKLLM_ROPE_GLSL

float rope_pow_uint(float b, uint e)
{
	float r = 1.0;
	while (e != 0u) {
		if ((e & 1u) != 0u) r *= b;
		b *= b;
		e >>= 1;
	}
	return r;
}

// ff: the pair's rope_freqs factor (1.0 when the model has none)
vec2 rope_cos_sin(uint i, int pos, float ff, float theta_scale, float freq_scale, float ext_factor, float corr_low,
                  float corr_high, float mscale)
{
	float g = rope_pow_uint(theta_scale, i) / ff;
	float mix_ = freq_scale;
	if (ext_factor != 0.0) {
		float y = (float(i) - corr_low) / max(0.001, corr_high - corr_low);
		float ramp = (1.0 - min(1.0, max(0.0, y))) * ext_factor;
		mix_ = freq_scale * (1.0 - ramp) + ramp;
	}
	const float INV_2PI = 0.15915494309189533577, TWO_PI = 6.28318530717958647692;
	float turns = float(pos) * (g * mix_ * INV_2PI);
	float a = (turns - round(turns)) * TWO_PI; // exact subtraction; |a| <= pi
	return vec2(cos(a) * mscale, sin(a) * mscale);
}

#endif
