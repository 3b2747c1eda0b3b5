/* `vkllm synth`: write a random-weight model of a real architecture and shape (model/synth.h). */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "cli.h"
#include "loader/quant.h"
#include "model/arch.h"
#include "model/synth.h"

struct dim_flag {
	const char *flag;
	size_t offset;
};

#define DIM(flag, field) {flag, offsetof(struct synth_options, field)}
static const struct dim_flag dims[] = {
	DIM("--n-embd", n_embd), DIM("--n-layer", n_layer), DIM("--n-head", n_head), DIM("--n-head-kv", n_head_kv),
	DIM("--head-dim", head_dim), DIM("--n-ff", n_ff), DIM("--n-vocab", n_vocab), DIM("--ctx", n_ctx),
	DIM("--n-expert", n_expert), DIM("--n-expert-used", n_expert_used), DIM("--n-ff-exp", n_ff_exp),
	DIM("--n-ff-shexp", n_ff_shexp), DIM("--swa", n_swa),
	DIM("--kv-lora-rank", kv_lora_rank), DIM("--q-lora-rank", q_lora_rank), DIM("--rope-dim", rope_dim),
	DIM("--v-head-dim", v_head_dim), DIM("--n-expert-shared", n_expert_shared), DIM("--n-dense-lead", n_dense_lead),
};

void cmd_synth_help(FILE *f)
{
	fprintf(f, "options:\n"
	           "  --arch A            architecture:");
	for (const struct arch *const *a = arch_all(); *a; a++) fprintf(f, " %s", (*a)->name);
	fprintf(f, "\n  --preset NAME       a real model's shape:\n");
	for (const struct synth_preset *p = synth_presets(); p->name; p++)
		fprintf(f, "                        %-18s %s (%s)\n", p->name, p->about, p->arch);
	fprintf(f, "                      without a preset: a tiny model of --arch, for tests\n"
	           "  --type T            matrices in f32, f16 (default), bf16, q8_0, q4_0, q4_1, q5_0, q5_1,\n"
	           "                      q2_K, q3_K, q4_K, q5_K, q6_K or mxfp4 (norms stay f32; K-quants fall\n"
	           "                      back as llama.cpp does where a row is not a multiple of 256)\n"
	           "  --seed S            random seed (default 1): the same seed gives the same weights\n"
	           "  --vocab FILE        embed a Hugging Face tokenizer.json (its tokenizer_config.json\n"
	           "                      beside it is read too); default: a synthetic byte-level BPE vocabulary\n"
	           "  -o, --output FILE   where to write the GGUF\n"
	           "  --n-layer N         fewer (or more) layers than the preset: full-size layers, smaller file\n"
	           "  --n-embd --n-head --n-head-kv --head-dim --n-ff --n-vocab --ctx\n"
	           "  --n-expert --n-expert-used --n-ff-exp --n-ff-shexp --swa N   other shape overrides\n"
	           "  --kv-lora-rank --q-lora-rank --rope-dim --v-head-dim --n-expert-shared --n-dense-lead N\n"
	           "                      deepseek2: the latent attention's sizes (--head-dim: nope + rope per head)\n"
	           "  --no-q-lora         deepseek2: a plain attn_q (the DeepSeek-V2-Lite layout)\n"
	           "  --legacy-kv-b       deepseek2: the legacy fused attn_kv_b instead of attn_k_b / attn_v_b\n"
	           "  --expert-type T     the experts' type where the converter fixes it (gpt-oss: mxfp4); default\n"
	           "                      the converter's, so --type alone changes the rest\n"
	           "  --tied | --untied   share the output matrix with the embedding, or not\n"
	           "  --dry-run           print the parameter counts and file size, write nothing\n"
	           "  -q, --quiet         no summary\n");
}

int cmd_synth(int argc, char **argv)
{
	struct synth_options o = {.type = -1, .seed = 1, .tied = -1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		const char *v = has_value ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "synth");
			return 0;
		}
		if (!strcmp(a, "--tied") || !strcmp(a, "--untied")) {
			o.tied = !strcmp(a, "--tied");
			continue;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o.quiet = true;
			continue;
		}
		if (!strcmp(a, "--no-q-lora") || !strcmp(a, "--legacy-kv-b")) {
			if (!strcmp(a, "--no-q-lora")) o.no_q_lora = true;
			else o.legacy_kv_b = true;
			continue;
		}
		if (!strcmp(a, "--dry-run")) {
			o.dry_run = true;
			continue;
		}
		bool known = false;
		for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
			if (strcmp(a, dims[k].flag)) continue;
			long n;
			if (!has_value) return cli_bad_arg("synth", "missing value for", a);
			if (!cli_parse_int(v, 1 << 24, &n) || n == 0) return cli_bad_arg("synth", "needs a positive integer:", a);
			*(uint32_t *)((char *)&o + dims[k].offset) = (uint32_t)n;
			known = true;
		}
		if (known) {
			i++;
			continue;
		}
		if (!strcmp(a, "--arch") || !strcmp(a, "--preset") || !strcmp(a, "--type") || !strcmp(a, "--expert-type") || !strcmp(a, "--seed") ||
		    !strcmp(a, "--vocab") || !strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (!has_value) return cli_bad_arg("synth", "missing value for", a);
			i++;
			if (!strcmp(a, "--arch")) o.arch = v;
			else if (!strcmp(a, "--preset")) o.preset = v;
			else if (!strcmp(a, "--vocab")) o.vocab_path = v;
			else if (!strcmp(a, "--seed")) {
				char *end;
				o.seed = strtoull(v, &end, 10);
				if (*end || !*v || v[0] == '-') return cli_bad_arg("synth", "--seed needs a non-negative integer, got", v);
			} else if (!strcmp(a, "--type")) {
				o.type = quant_type_by_name(v);
				if (o.type < 0) return cli_bad_arg("synth", "unknown --type", v);
			} else if (!strcmp(a, "--expert-type")) {
				int t = quant_type_by_name(v);
				if (t < 0) return cli_bad_arg("synth", "unknown --expert-type", v);
				o.expert_type = (uint32_t)t, o.expert_type_set = true;
			} else {
				o.out = v;
			}
			continue;
		}
		return cli_bad_arg("synth", a[0] == '-' ? "unknown option" : "unexpected argument", a);
	}
	if (o.arch && !arch_find(o.arch)) return cli_bad_arg("synth", "unknown architecture", o.arch);
	struct synth_result r;
	int st = synth_model(&o, &r);
	if (st) return cli_error(st);
	if (o.dry_run)
		printf("%.4f B parameters (%.4f B active per token), %u tensors, vocabulary %u, file %.1f MiB\n",
		       (double)r.n_params / 1e9, (double)r.n_params_active / 1e9, r.n_tensors, r.n_vocab,
		       (double)r.file_bytes / 1048576.0);
	else if (!o.quiet)
		fprintf(stderr, "synth: wrote %s: %.2f M parameters, %u tensors, vocabulary %u, %.1f MiB in %.1f s (random weights)\n",
		        o.out, (double)r.n_params / 1e6, r.n_tensors, r.n_vocab, (double)r.file_bytes / 1048576.0, r.seconds);
	return 0;
}
