/* A strict JSON reader (RFC 8259) that builds a read-only tree: tokenizer.json, tokenizer_config.json
 * and config.json are the inputs it is for. Strict means: UTF-8 only (no BOM), every escape checked
 * (\uXXXX surrogate pairs become one UTF-8 character, lone surrogates are refused), no control
 * characters inside strings, no trailing commas, nothing after the top-level value, and nesting at
 * most JP_MAX_DEPTH deep. Errors are VKLLM_E_FORMAT with "name:line:column: expected ..., found ...".
 *
 * The tree lives in memory owned by the jp_doc: strings are decoded in place in the document's own
 * copy of the text, arrays and objects are packed into an arena, so a 33 MB tokenizer.json costs
 * about two times its size and parses in a fraction of a second. Objects keep their members in file
 * order. (host/base/json.h is the unrelated JSON writer; everything here is jp_ / JP_.) */
#ifndef VKLLM_JSON_PARSE_H
#define VKLLM_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JP_MAX_DEPTH 256

enum jp_type { JP_NULL, JP_BOOL, JP_NUMBER, JP_STRING, JP_ARRAY, JP_OBJECT };

struct jp_member;

struct jp_value {
	uint8_t type;       /* enum jp_type */
	uint8_t is_integer; /* JP_NUMBER written without fraction or exponent and exact in a double */
	uint8_t boolean;    /* JP_BOOL */
	uint32_t len;       /* JP_STRING: bytes (a \u0000 escape makes an inner NUL); JP_ARRAY: items;
	                       JP_OBJECT: members */
	union {
		double number;
		const char *string; /* NUL-terminated after len bytes */
		const struct jp_value *items;
		const struct jp_member *members;
	} u;
};

struct jp_member {
	const char *key; /* NUL-terminated after key_len bytes */
	uint32_t key_len;
	struct jp_value value;
};

struct jp_block;

struct jp_doc {
	struct jp_value root;
	char *text;               /* our copy of the input; strings point into it */
	struct jp_block *blocks;  /* the arena holding arrays and objects */
};

/* Parses len bytes of text (which need not be NUL-terminated); `name` is used in messages.
 * On failure the doc is left empty (jp_doc_free is still safe). */
int jp_parse(struct jp_doc *doc, const char *text, size_t len, const char *name);
/* Reads and parses a file; errors name the path. */
int jp_parse_file(struct jp_doc *doc, const char *path);
void jp_doc_free(struct jp_doc *doc);

/* The member `key` of an object (the last one if the key repeats, as Python's json does), or NULL
 * when v is not an object or has no such member. */
const struct jp_value *jp_get(const struct jp_value *v, const char *key);
/* Item i of an array, or NULL when v is not an array or i is out of range. */
const struct jp_value *jp_at(const struct jp_value *v, size_t i);

static inline bool jp_is(const struct jp_value *v, enum jp_type t) { return v && v->type == t; }
/* The string, or NULL when v is not a string. */
static inline const char *jp_str(const struct jp_value *v) { return jp_is(v, JP_STRING) ? v->u.string : NULL; }
/* True (and *out set) when v is an integer number. */
bool jp_int64(const struct jp_value *v, int64_t *out);
/* "null", "boolean", "number", "string", "array", "object" (for messages). */
const char *jp_type_name(int type);

#endif
