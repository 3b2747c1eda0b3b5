/* `vkllm bench --kernels [--json] [--device N]`: kernel microbenchmarks against the device's
 * measured peaks (bench/kernels.c); `vkllm bench -m MODEL ...`: whole-model speed
 * (cmd_bench_model.c). */
#include <string.h>

#include "base/status.h"
#include "bench/kernels.h"
#include "cli.h"

int cmd_bench(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) return cmd_bench_model(argc, argv);
	bool kernels = false, as_json = false;
	const char *only = NULL;
	struct gpu_options opt = {.device_index = -1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "bench");
			return 0;
		} else if (!strcmp(a, "--kernels")) {
			kernels = true;
		} else if (!strcmp(a, "--only")) {
			if (i + 1 >= argc) return cli_bad_arg("bench", "missing value for", a);
			only = argv[++i];
			if (strcmp(only, "matvec") && strcmp(only, "gemm") && strcmp(only, "attention") && strcmp(only, "mla") &&
			    strcmp(only, "gdn") && strcmp(only, "peaks"))
				return cli_bad_arg("bench", "--only takes peaks, matvec, gemm, attention, mla or gdn, got", only);
		} else if (!strcmp(a, "--json")) {
			as_json = true;
		} else if (!strcmp(a, "--device")) {
			long v;
			if (i + 1 >= argc) return cli_bad_arg("bench", "missing value for", a);
			if (!cli_parse_int(argv[++i], 1 << 16, &v)) return cli_bad_arg("bench", "--device needs an index, got", argv[i]);
			opt.device_index = (int)v;
		} else {
			return cli_bad_arg("bench", a[0] == '-' ? "unknown option" : "unexpected argument", a);
		}
	}
	if (!kernels) return cli_bad_arg("bench", "say what to measure: --kernels, or -m MODEL; got", argc > 1 ? argv[1] : "nothing");
	struct gpu g;
	int st = gpu_create(&g, &opt);
	if (st) return cli_error(st);
	st = bench_kernels(&g, as_json, only, stdout);
	int st2 = gpu_destroy(&g);
	if (!st) st = st2;
	return st ? cli_error(st) : 0;
}
