/* libFuzzer target: arbitrary bytes through the GGUF reader and, when they parse, through the
 * whole model check and the architecture card, the code every untrusted file meets first.
 * Built with clang -fsanitize=fuzzer,address,undefined by tests/fuzz/fuzz.cmake, which seeds
 * it with synthesized models and the bad-file corpus and runs it for a bounded time. */
#include <stdint.h>
#include <stdio.h>

#include "loader/gguf.h"
#include "model/card.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gguf_fuzz_one(data, size);
	static struct model_file m; /* large: not on the stack */
	static FILE *sink;
	if (!sink) sink = fopen("/dev/null", "w");
	if (model_file_open_memory(&m, data, size, "fuzz") == 0) {
		struct card c;
		card_compute(&m, &c);
		card_print_text(&m, &c, sink);
		card_print_json(&m, &c, sink);
		model_file_close(&m);
	}
	return 0;
}
