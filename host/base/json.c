/* The JSON writer of json.h. */
#include "json.h"

#include <math.h>

#include "status.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->has_item[0] = false;
	j->after_key = false;
}

/* Separator before a value or key at the current level. */
static void item(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->has_item[j->depth]) fputc(',', j->f);
	j->has_item[j->depth] = true;
}

static void open(struct json *j, char c)
{
	item(j);
	fputc(c, j->f);
	CHECK(j->depth + 1 < JSON_MAX_DEPTH);
	j->has_item[++j->depth] = false;
}

static void close_(struct json *j, char c)
{
	CHECK(j->depth > 0);
	j->depth--;
	fputc(c, j->f);
	if (j->depth == 0) fputc('\n', j->f);
}

void json_object_begin(struct json *j) { open(j, '{'); }
void json_object_end(struct json *j) { close_(j, '}'); }
void json_array_begin(struct json *j) { open(j, '['); }
void json_array_end(struct json *j) { close_(j, ']'); }

static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	item(j);
	write_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	item(j);
	write_string(j->f, s ? s : "");
}

void json_u64(struct json *j, uint64_t v)
{
	item(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_double(struct json *j, double v)
{
	item(j);
	if (isfinite(v))
		fprintf(j->f, "%.17g", v);
	else
		fputs("null", j->f); /* JSON has no NaN or infinity */
}

void json_bool(struct json *j, bool v)
{
	item(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	item(j);
	fputs("null", j->f);
}
