/* vkllm: the command line. `vkllm <verb> [options]`; `vkllm help <verb>` explains one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "cli.h"

static const struct {
	const char *verb, *args, *what;
} verbs[] = {
	{"run", "[-m MODEL.gguf] [-p TEXT | -f FILE] [-n N]", "generate text from a model (none given: a random-weight demo)"},
	{"chat", "-m MODEL.gguf [--system TEXT]", "talk with a model, one line per message (/clear, /exit)"},
	{"perplexity", "-m MODEL.gguf -f FILE [-c CTX]", "score a text: the model's perplexity on it"},
	{"inspect", "-m MODEL.gguf [--json]", "check a model as loading does (no GPU) and print its architecture card"},
	{"synth", "--arch A | --preset P -o OUT.gguf", "write a random-weight model of a real architecture and shape"},
	{"bench", "--kernels [--only K] | -m MODEL [-p P] [-n N]", "kernel speed against the device's peaks, or a model's pp/tg speed"},
	{"tokenize", "-m MODEL.gguf -p TEXT | -f FILE", "the token ids of a text, as llama.cpp makes them (JSON)"},
	{"devices", "[--json]", "list every Vulkan device with the profile vkllm tunes for"},
	{"help", "[VERB]", "this text, or one verb's"},
};

void cli_usage(FILE *f, const char *verb)
{
	if (verb && *verb) {
		for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
			if (strcmp(verbs[i].verb, verb) == 0) {
				fprintf(f, "usage: vkllm %s %s\n  %s\n", verbs[i].verb, verbs[i].args, verbs[i].what);
				if (strcmp(verb, "run") == 0) cmd_run_help(f);
				if (strcmp(verb, "chat") == 0) cmd_chat_help(f);
				if (strcmp(verb, "perplexity") == 0) cmd_perplexity_help(f);
				if (strcmp(verb, "synth") == 0) cmd_synth_help(f);
				if (strcmp(verb, "tokenize") == 0) cmd_tokenize_help(f);
				if (strcmp(verb, "inspect") == 0)
					fprintf(f, "options:\n  -m, --model FILE   the GGUF file\n  --json             one JSON document instead of text\n");
				if (strcmp(verb, "bench") == 0)
					fprintf(f, "options (a model, as llama-bench):\n"
					           "  -m, --model FILE   prefill and decode speed of the model, and the weight bytes a\n"
					           "                     decode step reads, per second (GB/s; the KV cache not counted)\n"
					           "  -p N               prompt tokens of the prefill test (default 512; 0 skips it)\n"
					           "  -n N               tokens of the decode test (default 128; 0 skips it)\n"
					           "  -r N               repetitions after a warm-up (default 5): mean and deviation\n"
					           "  -b N               prefill chunk (default min(p, 512)); --cache-type f16|f32\n"
					           "  --json             {\"model\":..,\"device\":..,\"pp_tps\":..,\"pp_sd\":..,\"tg_tps\":..,\"tg_sd\":..,\n"
					           "                     \"decode_bytes\":..,\"tg_gbs\":..,\"tg_wall_us\":..,\"tg_gpu_us\":..,\n"
					           "                     \"tg_host_us\":..,\"tg_dispatches\":..,\"tg_barriers\":..}: the decode\n"
					           "                     loop's wall time a token, the GPU's step, the host's share\n"
					           "options (kernels):\n  --kernels          each kernel on LLM-sized shapes, in GB/s and GFLOP/s and as a\n"
					           "                     share of the peaks measured first: copy, f32 FMA and, with\n"
					           "                     VK_KHR_cooperative_matrix, the matrix units (f16 and s8)\n"
					           "  --only KERNEL      only matvec, gemm, attention, mla or gdn (after the peaks),\n"
					           "                     or peaks alone\n"
					           "  --json             one JSON document instead of a table\n"
					           "  --device N         use device N of `vkllm devices`\n"
					           "environment: VKLLM_MATVEC_TILE=wg,rows and VKLLM_GEMM_TILE=wg,bm,bn,tm,tn try other\n"
					           "  tile shapes (shader authors; an inconsistent shape is ignored)\n");
				if (strcmp(verb, "devices") == 0)
					fprintf(f, "options:\n  --json             one JSON document instead of text\n");
				return;
			}
	}
	fprintf(f, "vkllm %s: LLM inference on any Vulkan GPU\n\nusage: vkllm <verb> [options]\n\n", VKLLM_VERSION);
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		fprintf(f, "  %-10s %-42s %s\n", verbs[i].verb, verbs[i].args, verbs[i].what);
	fprintf(f, "\nenvironment: VKLLM_DEVICE=N (device choice), VKLLM_VALIDATION=1 (Vulkan validation layer)\n");
}

int cli_bad_arg(const char *verb, const char *msg, const char *arg)
{
	fprintf(stderr, "vkllm: error: %s '%s'\n", msg, arg);
	cli_usage(stderr, verb);
	return 2;
}

int cli_error(int st)
{
	fprintf(stderr, "vkllm: error: %s\n", vkllm_error());
	switch (st) {
	case VKLLM_E_ARG:
	case VKLLM_E_NO_LOADER:
	case VKLLM_E_NO_DEVICE: return 2;
	default: return 1;
	}
}

bool cli_parse_int(const char *s, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr, "");
		return 2;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		cli_usage(stdout, argc > 2 ? argv[2] : "");
		return 0;
	}
	if (strcmp(verb, "--version") == 0) {
		printf("vkllm %s\n", VKLLM_VERSION);
		return 0;
	}
	if (strcmp(verb, "run") == 0) return cmd_run(argc - 1, argv + 1);
	if (strcmp(verb, "chat") == 0) return cmd_chat(argc - 1, argv + 1);
	if (strcmp(verb, "perplexity") == 0) return cmd_perplexity(argc - 1, argv + 1);
	if (strcmp(verb, "devices") == 0) return cmd_devices(argc - 1, argv + 1);
	if (strcmp(verb, "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
	if (strcmp(verb, "synth") == 0) return cmd_synth(argc - 1, argv + 1);
	if (strcmp(verb, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
	if (strcmp(verb, "tokenize") == 0) return cmd_tokenize(argc - 1, argv + 1);
	return cli_bad_arg("", verb[0] == '-' ? "unknown option" : "unknown verb", verb);
}
