/* Status codes and the error message every library function leaves behind.
 * Data errors return a status (return fail(...)); broken internal invariants use CHECK, which
 * stays on in release builds. The library never prints an error itself and never exits: the CLI
 * does both. */
#ifndef VKLLM_STATUS_H
#define VKLLM_STATUS_H

#include <stdarg.h>

enum vkllm_status {
	VKLLM_OK = 0,
	VKLLM_E_ARG,          /* caller passed something invalid */
	VKLLM_E_IO,           /* open/read/mmap failed */
	VKLLM_E_FORMAT,       /* file malformed: offsets, sizes, types, counts */
	VKLLM_E_UNSUPPORTED,  /* valid but not supported: arch, quant type, device feature */
	VKLLM_E_NOMEM,        /* host allocation */
	VKLLM_E_NO_LOADER,    /* the Vulkan loader (libvulkan.so.1) could not be loaded */
	VKLLM_E_NO_DEVICE,    /* the loader works but no driver / usable device was found */
	VKLLM_E_DEVICE_NOMEM, /* VK_ERROR_OUT_OF_DEVICE_MEMORY / OUT_OF_HOST_MEMORY */
	VKLLM_E_DEVICE_LOST,  /* VK_ERROR_DEVICE_LOST: the context is unusable, report and stop */
	VKLLM_E_TIMEOUT,      /* GPU work did not finish in time */
	VKLLM_E_VULKAN,       /* any other VkResult */
	VKLLM_E_VALIDATION,   /* the validation layer reported a message (tests fail on it) */
	VKLLM_E_CONTEXT_FULL, /* the tokens do not fit in what is left of the context (-c) */
};

/* Formats the message into a thread-local buffer and returns st, so callers write
 * `return fail(VKLLM_E_FORMAT, "tensor %s: ...", name);` */
int fail(enum vkllm_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message of the last fail() on this thread ("" when none). */
const char *vkllm_error(void);
/* A short name for a status ("E_FORMAT"). */
const char *vkllm_status_name(int st);

/* Internal bug: prints file, line and the condition, then aborts. Never for user input. */
_Noreturn void panic(const char *file, int line, const char *cond);

#define TRY(expr)                                 \
	do {                                          \
		int st_ = (expr);                         \
		if (st_ != VKLLM_OK) return st_;          \
	} while (0)
#define CHECK(cond)                                           \
	do {                                                      \
		if (!(cond)) panic(__FILE__, __LINE__, #cond);        \
	} while (0)

#endif
