/* A small streaming JSON writer for --json outputs: it places commas and escapes strings, so
 * callers only say what goes where. Nesting is bounded by JSON_MAX_DEPTH (a bug if exceeded). */
#ifndef VKLLM_JSON_H
#define VKLLM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool has_item[JSON_MAX_DEPTH]; /* per level: a comma is needed before the next item */
	bool after_key;
};

void json_init(struct json *j, FILE *f);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

#endif
