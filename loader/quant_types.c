/* The ggml type table: names, block layouts, and what vkllm's CPU code can do with each type.
 * Sizes are llama.cpp's (ggml.c type_traits); the dequantizers and quantizers are in quant.c. */
#include "quant.h"

#include <strings.h>

/* Every type vkllm reads has a dequantizer and a quantizer (tests build blocks of every kind).
 * The integer, f64, IQ and ternary types are known (so their sizes validate) but not decodable:
 * no model of the field ships them, and inference refuses them by name. */
static const struct quant_type types[QT_COUNT] = {
	[QT_F32]     = {"f32", 1, 4, true, true},
	[QT_F16]     = {"f16", 1, 2, true, true},
	[QT_Q4_0]    = {"q4_0", 32, 18, true, true},
	[QT_Q4_1]    = {"q4_1", 32, 20, true, true},
	[QT_Q5_0]    = {"q5_0", 32, 22, true, true},
	[QT_Q5_1]    = {"q5_1", 32, 24, true, true},
	[QT_Q8_0]    = {"q8_0", 32, 34, true, true},
	[QT_Q8_1]    = {"q8_1", 32, 36, false, false},
	[QT_Q2_K]    = {"q2_K", 256, 84, true, true},
	[QT_Q3_K]    = {"q3_K", 256, 110, true, true},
	[QT_Q4_K]    = {"q4_K", 256, 144, true, true},
	[QT_Q5_K]    = {"q5_K", 256, 176, true, true},
	[QT_Q6_K]    = {"q6_K", 256, 210, true, true},
	[QT_Q8_K]    = {"q8_K", 256, 292, false, false},
	[QT_IQ2_XXS] = {"iq2_xxs", 256, 66, false, false},
	[QT_IQ2_XS]  = {"iq2_xs", 256, 74, false, false},
	[QT_IQ3_XXS] = {"iq3_xxs", 256, 98, false, false},
	[QT_IQ1_S]   = {"iq1_s", 256, 50, false, false},
	[QT_IQ4_NL]  = {"iq4_nl", 32, 18, false, false},
	[QT_IQ3_S]   = {"iq3_s", 256, 110, false, false},
	[QT_IQ2_S]   = {"iq2_s", 256, 82, false, false},
	[QT_IQ4_XS]  = {"iq4_xs", 256, 136, false, false},
	[QT_I8]      = {"i8", 1, 1, false, false},
	[QT_I16]     = {"i16", 1, 2, false, false},
	[QT_I32]     = {"i32", 1, 4, false, false},
	[QT_I64]     = {"i64", 1, 8, false, false},
	[QT_F64]     = {"f64", 1, 8, false, false},
	[QT_IQ1_M]   = {"iq1_m", 256, 56, false, false},
	[QT_BF16]    = {"bf16", 1, 2, true, true},
	[QT_TQ1_0]   = {"tq1_0", 256, 54, false, false},
	[QT_TQ2_0]   = {"tq2_0", 256, 66, false, false},
	[QT_MXFP4]   = {"mxfp4", 32, 17, true, true},
};

bool quant_type_removed(uint32_t id)
{
	return id == 4 || id == 5 || (id >= 31 && id <= 33) || (id >= 36 && id <= 38);
}

const struct quant_type *quant_type_info(uint32_t id)
{
	if (id >= QT_COUNT || quant_type_removed(id) || !types[id].name)
		return NULL;
	return &types[id];
}

int quant_type_by_name(const char *name)
{
	for (uint32_t i = 0; i < QT_COUNT; i++)
		if (types[i].name && strcasecmp(types[i].name, name) == 0)
			return (int)i;
	return -1;
}

uint64_t quant_row_size(uint32_t type, uint64_t n)
{
	const struct quant_type *t = quant_type_info(type);
	if (!t || n % t->block_size)
		return 0;
	return n / t->block_size * t->type_size;
}
