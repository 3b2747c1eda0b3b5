/* The error vocabulary of host/base/status.h. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[1024];

int fail(enum vkllm_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return st;
}

const char *vkllm_error(void) { return last_error; }

const char *vkllm_status_name(int st)
{
	static const char *names[] = {
		"OK", "E_ARG", "E_IO", "E_FORMAT", "E_UNSUPPORTED", "E_NOMEM", "E_NO_LOADER",
		"E_NO_DEVICE", "E_DEVICE_NOMEM", "E_DEVICE_LOST", "E_TIMEOUT", "E_VULKAN", "E_VALIDATION", "E_CONTEXT_FULL",
	};
	if (st < 0 || st >= (int)(sizeof names / sizeof names[0])) return "E_UNKNOWN";
	return names[st];
}

_Noreturn void panic(const char *file, int line, const char *cond)
{
	fprintf(stderr, "vkllm: internal error at %s:%d: CHECK(%s) failed\n", file, line, cond);
	abort();
}
