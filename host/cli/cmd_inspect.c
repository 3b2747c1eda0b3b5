/* `vkllm inspect -m FILE [--json]`: every check that loading for inference makes (GGUF structure,
 * architecture, hyperparameters, vocabulary keys, each tensor's presence, shape and type), with
 * no GPU, then the architecture card. */
#include <string.h>

#include "base/status.h"
#include "cli.h"
#include "model/card.h"
#include "model/model.h"

int cmd_inspect(int argc, char **argv)
{
	const char *path = NULL;
	bool as_json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cli_usage(stdout, "inspect");
			return 0;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
			if (i + 1 >= argc) return cli_bad_arg("inspect", "missing value for", a);
			path = argv[++i];
		} else if (!strcmp(a, "--json")) {
			as_json = true;
		} else if (a[0] != '-' && !path) {
			path = a; /* `vkllm inspect FILE` works too */
		} else {
			return cli_bad_arg("inspect", a[0] == '-' ? "unknown option" : "unexpected argument", a);
		}
	}
	if (!path) return cli_bad_arg("inspect", "missing the model:", "-m FILE.gguf");
	static struct model_file m; /* large (per-layer tables): not on the stack */
	int st = model_file_open(&m, path);
	if (st) return cli_error(st);
	struct card c;
	card_compute(&m, &c);
	if (as_json) card_print_json(&m, &c, stdout);
	else card_print_text(&m, &c, stdout);
	model_file_close(&m);
	return 0;
}
