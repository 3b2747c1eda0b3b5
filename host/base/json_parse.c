/* The JSON reader of json_parse.h: recursive descent over a private copy of the text. */
#include "json_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"

/* ---- arena: arrays and objects, packed once each container is complete ---- */

struct jp_block {
	struct jp_block *next;
	size_t used, cap;
	max_align_t data[]; /* cap bytes */
};

#define JP_BLOCK_BYTES ((size_t)1 << 20)

static void *arena_alloc(struct jp_block **head, size_t bytes)
{
	bytes = (bytes + 15) & ~(size_t)15;
	struct jp_block *b = *head;
	if (!b || b->cap - b->used < bytes) {
		size_t cap = bytes > JP_BLOCK_BYTES ? bytes : JP_BLOCK_BYTES;
		b = malloc(sizeof *b + cap);
		if (!b) return NULL;
		b->next = *head, b->used = 0, b->cap = cap;
		*head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += bytes;
	return p;
}

static void arena_free(struct jp_block *b)
{
	while (b) {
		struct jp_block *next = b->next;
		free(b);
		b = next;
	}
}

/* ---- parser state ---- */

struct parser {
	char *begin, *p, *end; /* p: the next byte to read */
	const char *name;
	uint32_t line;          /* newlines occur only in whitespace, so counting them there is exact */
	const char *line_start;
	int depth;
	/* children of the containers being parsed, packed into the arena when each one closes */
	struct jp_value *values;
	size_t n_values, cap_values;
	struct jp_member *members;
	size_t n_members, cap_members;
	struct jp_block *blocks;
};

/* Describes the byte at q for a message: a printable character, a hex byte, or the end. */
static void describe_found(const struct parser *ps, const char *q, char *buf, size_t n)
{
	if (q >= ps->end) {
		snprintf(buf, n, "end of input");
		return;
	}
	unsigned char c = (unsigned char)*q;
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else
		snprintf(buf, n, "byte 0x%02x", c);
}

/* Fails with "name:line:column: <what>, found <the byte at q>". */
static int error_at(const struct parser *ps, const char *q, const char *what)
{
	char found[32];
	describe_found(ps, q, found, sizeof found);
	unsigned long col = (unsigned long)(q - ps->line_start) + 1;
	return fail(VKLLM_E_FORMAT, "%s:%u:%lu: %s, found %s", ps->name, ps->line, col, what, found);
}

static int out_of_memory(const struct parser *ps)
{
	return fail(VKLLM_E_NOMEM, "%s: out of host memory while parsing JSON", ps->name);
}

static void skip_whitespace(struct parser *ps)
{
	char *p = ps->p;
	while (p < ps->end) {
		char c = *p;
		if (c == '\n') {
			ps->line++;
			ps->line_start = p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		p++;
	}
	ps->p = p;
}

static int grow(const struct parser *ps, void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap) return VKLLM_OK;
	size_t c = *cap ? *cap * 2 : 256;
	while (c < need) c *= 2;
	void *n = realloc(*arr, c * elem);
	if (!n) return out_of_memory(ps);
	*arr = n, *cap = c;
	return VKLLM_OK;
}

/* ---- strings ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Reads the 4 hex digits after "\u" at r (r points at the 'u'). */
static int read_hex4(const struct parser *ps, const char *r, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 1; i <= 4; i++) {
		if (r + i >= ps->end || hex_value(r[i]) < 0)
			return error_at(ps, r + i, "expected 4 hex digits after \\u");
		v = v * 16 + (uint32_t)hex_value(r[i]);
	}
	*out = v;
	return VKLLM_OK;
}

static char *put_utf8(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* Decodes the escape at *r (pointing at the backslash) to *w; both advance. A \uD800-\uDBFF must be
 * followed by \uDC00-\uDFFF; the pair is one code point. Decoded bytes never outrun the escape text,
 * which is what makes decoding in place safe. */
static int decode_escape(const struct parser *ps, char **r, char **w)
{
	char *q = *r + 1;
	if (q >= ps->end) return error_at(ps, q, "expected an escape character after '\\'");
	char simple = 0;
	switch (*q) {
	case '"': simple = '"'; break;
	case '\\': simple = '\\'; break;
	case '/': simple = '/'; break;
	case 'b': simple = '\b'; break;
	case 'f': simple = '\f'; break;
	case 'n': simple = '\n'; break;
	case 'r': simple = '\r'; break;
	case 't': simple = '\t'; break;
	case 'u': break;
	default: return error_at(ps, q, "expected one of \" \\ / b f n r t u after '\\'");
	}
	if (simple) {
		*(*w)++ = simple;
		*r = q + 1;
		return VKLLM_OK;
	}
	uint32_t cp;
	TRY(read_hex4(ps, q, &cp));
	q += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return error_at(ps, q - 6, "expected a high surrogate before this low surrogate \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		uint32_t lo;
		if (q + 1 >= ps->end || q[0] != '\\' || q[1] != 'u')
			return error_at(ps, q, "expected a \\u low surrogate after the high surrogate");
		TRY(read_hex4(ps, q + 1, &lo));
		if (lo < 0xdc00 || lo > 0xdfff)
			return error_at(ps, q, "expected a low surrogate (\\uDC00-\\uDFFF) after the high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		q += 6;
	}
	*w = put_utf8(*w, cp);
	*r = q;
	return VKLLM_OK;
}

/* Length of the valid UTF-8 sequence at r (lead byte >= 0x80), or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF (RFC 3629). */
static int utf8_sequence_length(const unsigned char *r, const unsigned char *end)
{
	unsigned char c = r[0];
	int n;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) n = 2;
	else if (c == 0xe0) n = 3, lo = 0xa0;
	else if (c >= 0xe1 && c <= 0xec) n = 3;
	else if (c == 0xed) n = 3, hi = 0x9f;
	else if (c >= 0xee && c <= 0xef) n = 3;
	else if (c == 0xf0) n = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3) n = 4;
	else if (c == 0xf4) n = 4, hi = 0x8f;
	else return 0;
	if (end - r < n) return 0;
	if (r[1] < lo || r[1] > hi) return 0;
	for (int i = 2; i < n; i++)
		if ((r[i] & 0xc0) != 0x80) return 0;
	return n;
}

/* Parses the string at ps->p (a '"') and decodes it in place. */
static int parse_string(struct parser *ps, const char **out, uint32_t *len)
{
	char *r = ps->p + 1, *w = r, *start = r;
	for (;;) {
		/* the common case: a run of plain ASCII */
		while (r < ps->end && (unsigned char)*r >= 0x20 && (unsigned char)*r < 0x80 && *r != '"' && *r != '\\')
			*w++ = *r++;
		if (r >= ps->end) return error_at(ps, r, "expected '\"' to close the string");
		unsigned char c = (unsigned char)*r;
		if (c == '"') break;
		if (c == '\\') {
			TRY(decode_escape(ps, &r, &w));
		} else if (c < 0x20) {
			return error_at(ps, r, "expected a string character (control characters must be escaped)");
		} else {
			int n = utf8_sequence_length((const unsigned char *)r, (const unsigned char *)ps->end);
			if (!n) return error_at(ps, r, "expected valid UTF-8 in the string");
			memmove(w, r, (size_t)n);
			w += n, r += n;
		}
	}
	if ((size_t)(w - start) > UINT32_MAX) return error_at(ps, start, "expected a string shorter than 4 GiB");
	*w = '\0'; /* at or before the closing quote, which has been read */
	*out = start;
	*len = (uint32_t)(w - start);
	ps->p = r + 1;
	return VKLLM_OK;
}

/* ---- numbers ---- */

static bool is_digit(const char *q, const char *end) { return q < end && *q >= '0' && *q <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *ps, struct jp_value *out)
{
	const char *q = ps->p, *end = ps->end, *start = q;
	bool integer = true;
	if (*q == '-') q++;
	if (!is_digit(q, end)) return error_at(ps, q, "expected a digit");
	if (*q == '0') {
		q++;
		if (is_digit(q, end)) return error_at(ps, q, "expected no leading zeros in a number");
	} else {
		while (is_digit(q, end)) q++;
	}
	if (q < end && *q == '.') {
		integer = false;
		q++;
		if (!is_digit(q, end)) return error_at(ps, q, "expected a digit after the decimal point");
		while (is_digit(q, end)) q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		integer = false;
		q++;
		if (q < end && (*q == '+' || *q == '-')) q++;
		if (!is_digit(q, end)) return error_at(ps, q, "expected a digit in the exponent");
		while (is_digit(q, end)) q++;
	}
	size_t n = (size_t)(q - start);
	double v;
	bool exact = false; /* an integer a double holds exactly */
	if (integer && n <= 18) {
		/* int64 holds 18 digits exactly, and converting it to double rounds to nearest just as
		 * strtod does: the common case (token ids) needs no copy and no strtod */
		int64_t acc = 0;
		for (const char *d = start + (*start == '-'); d < q; d++) acc = acc * 10 + (*d - '0');
		v = *start == '-' ? -(double)acc : (double)acc;
		exact = acc <= ((int64_t)1 << 53);
	} else {
		/* strtod needs a terminated copy; the text after the number may be more digits of a key */
		char small[64];
		char *buf = n < sizeof small ? small : malloc(n + 1);
		if (!buf) return out_of_memory(ps);
		memcpy(buf, start, n);
		buf[n] = '\0';
		errno = 0;
		v = strtod(buf, NULL);
		bool overflow = errno == ERANGE && isinf(v);
		if (buf != small) free(buf);
		if (overflow) return error_at(ps, start, "expected a number within the range of a double");
	}
	out->type = JP_NUMBER;
	out->is_integer = exact; /* longer integers are >= 10^18 > 2^53: never exact */
	out->u.number = v;
	ps->p = (char *)q;
	return VKLLM_OK;
}

/* ---- values ---- */

static int parse_value(struct parser *ps, struct jp_value *out);

static int parse_literal(struct parser *ps, const char *word, struct jp_value *out)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		/* point at the first byte that differs */
		const char *q = ps->p;
		for (size_t i = 0; i < n && q < ps->end && *q == word[i]; i++) q++;
		char what[48];
		snprintf(what, sizeof what, "expected '%s'", word);
		return error_at(ps, q, what);
	}
	ps->p += n;
	memset(out, 0, sizeof *out);
	if (word[0] == 'n') {
		out->type = JP_NULL;
	} else {
		out->type = JP_BOOL;
		out->boolean = word[0] == 't';
	}
	return VKLLM_OK;
}

static int enter(struct parser *ps)
{
	if (ps->depth >= JP_MAX_DEPTH) {
		char what[64];
		snprintf(what, sizeof what, "expected nesting at most %d deep", JP_MAX_DEPTH);
		return error_at(ps, ps->p, what);
	}
	ps->depth++;
	ps->p++; /* the '[' or '{' */
	return VKLLM_OK;
}

/* Moves the children from index `first` of a stack into the arena. */
static int pack(struct parser *ps, const void *stack, size_t first, size_t count, size_t elem, const void **out)
{
	*out = NULL;
	if (count == 0) return VKLLM_OK;
	if (count > UINT32_MAX) return error_at(ps, ps->p, "expected fewer than 2^32 items in a container");
	void *dst = arena_alloc(&ps->blocks, count * elem);
	if (!dst) return out_of_memory(ps);
	memcpy(dst, (const char *)stack + first * elem, count * elem);
	*out = dst;
	return VKLLM_OK;
}

static int parse_array(struct parser *ps, struct jp_value *out)
{
	TRY(enter(ps));
	size_t first = ps->n_values;
	skip_whitespace(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
	} else {
		for (;;) {
			struct jp_value item;
			TRY(parse_value(ps, &item));
			TRY(grow(ps, (void **)&ps->values, &ps->cap_values, ps->n_values + 1, sizeof item));
			ps->values[ps->n_values++] = item;
			skip_whitespace(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				break;
			}
			return error_at(ps, ps->p, "expected ',' or ']' in the array");
		}
	}
	size_t count = ps->n_values - first;
	memset(out, 0, sizeof *out);
	out->type = JP_ARRAY;
	out->len = (uint32_t)count;
	const void *items;
	TRY(pack(ps, ps->values, first, count, sizeof(struct jp_value), &items));
	out->u.items = items;
	ps->n_values = first;
	ps->depth--;
	return VKLLM_OK;
}

static int parse_member(struct parser *ps)
{
	struct jp_member m;
	memset(&m, 0, sizeof m);
	skip_whitespace(ps);
	if (ps->p >= ps->end || *ps->p != '"') return error_at(ps, ps->p, "expected a '\"' to start a member name");
	TRY(parse_string(ps, &m.key, &m.key_len));
	skip_whitespace(ps);
	if (ps->p >= ps->end || *ps->p != ':') return error_at(ps, ps->p, "expected ':' after the member name");
	ps->p++;
	TRY(parse_value(ps, &m.value));
	TRY(grow(ps, (void **)&ps->members, &ps->cap_members, ps->n_members + 1, sizeof m));
	ps->members[ps->n_members++] = m;
	return VKLLM_OK;
}

static int parse_object(struct parser *ps, struct jp_value *out)
{
	TRY(enter(ps));
	size_t first = ps->n_members;
	skip_whitespace(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
	} else {
		for (;;) {
			TRY(parse_member(ps));
			skip_whitespace(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == '}') {
				ps->p++;
				break;
			}
			return error_at(ps, ps->p, "expected ',' or '}' in the object");
		}
	}
	size_t count = ps->n_members - first;
	memset(out, 0, sizeof *out);
	out->type = JP_OBJECT;
	out->len = (uint32_t)count;
	const void *members;
	TRY(pack(ps, ps->members, first, count, sizeof(struct jp_member), &members));
	out->u.members = members;
	ps->n_members = first;
	ps->depth--;
	return VKLLM_OK;
}

static int parse_value(struct parser *ps, struct jp_value *out)
{
	skip_whitespace(ps);
	if (ps->p >= ps->end) return error_at(ps, ps->p, "expected a JSON value");
	switch (*ps->p) {
	case '{': return parse_object(ps, out);
	case '[': return parse_array(ps, out);
	case '"':
		memset(out, 0, sizeof *out);
		out->type = JP_STRING;
		return parse_string(ps, &out->u.string, &out->len);
	case 't': return parse_literal(ps, "true", out);
	case 'f': return parse_literal(ps, "false", out);
	case 'n': return parse_literal(ps, "null", out);
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
			memset(out, 0, sizeof *out);
			return parse_number(ps, out);
		}
		return error_at(ps, ps->p, "expected a JSON value");
	}
}

/* ---- documents ---- */

/* Parses doc->text[0..len) in place. */
static int parse_owned_text(struct jp_doc *doc, size_t len, const char *name)
{
	struct parser ps;
	memset(&ps, 0, sizeof ps);
	ps.begin = ps.p = doc->text;
	ps.end = doc->text + len;
	ps.name = name;
	ps.line = 1;
	ps.line_start = ps.begin;
	int st = VKLLM_OK;
	if (len >= 3 && memcmp(ps.p, "\xef\xbb\xbf", 3) == 0)
		st = error_at(&ps, ps.p, "expected JSON text without a UTF-8 byte order mark");
	if (st == VKLLM_OK) st = parse_value(&ps, &doc->root);
	if (st == VKLLM_OK) {
		skip_whitespace(&ps);
		if (ps.p < ps.end) st = error_at(&ps, ps.p, "expected the end of the input after the JSON value");
	}
	free(ps.values);
	free(ps.members);
	doc->blocks = ps.blocks;
	return st;
}

static void doc_reset(struct jp_doc *doc) { memset(doc, 0, sizeof *doc); }

int jp_parse(struct jp_doc *doc, const char *text, size_t len, const char *name)
{
	doc_reset(doc);
	doc->text = malloc(len + 1);
	if (!doc->text) return fail(VKLLM_E_NOMEM, "%s: out of host memory (%zu bytes of JSON)", name, len);
	memcpy(doc->text, text, len);
	doc->text[len] = '\0';
	int st = parse_owned_text(doc, len, name);
	if (st != VKLLM_OK) jp_doc_free(doc);
	return st;
}

static int read_whole_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return fail(VKLLM_E_IO, "%s: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(VKLLM_E_IO, "%s: not a regular file", path);
	}
	/* item counts and string lengths are 32-bit, which any file under 4 GiB satisfies */
	if ((uint64_t)sb.st_size >= ((uint64_t)1 << 32)) {
		close(fd);
		return fail(VKLLM_E_FORMAT, "%s: %lld bytes is too large for a JSON document (limit 4 GiB)", path,
		            (long long)sb.st_size);
	}
	size_t size = (size_t)sb.st_size;
	char *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return fail(VKLLM_E_NOMEM, "%s: out of host memory (%zu bytes)", path, size);
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			int e = errno;
			free(buf);
			close(fd);
			return fail(VKLLM_E_IO, "%s: read failed: %s", path,
			            r < 0 ? strerror(e) : "file shrank while reading");
		}
		got += (size_t)r;
	}
	close(fd);
	buf[size] = '\0';
	*out = buf, *len = size;
	return VKLLM_OK;
}

int jp_parse_file(struct jp_doc *doc, const char *path)
{
	doc_reset(doc);
	size_t len = 0;
	TRY(read_whole_file(path, &doc->text, &len));
	int st = parse_owned_text(doc, len, path);
	if (st != VKLLM_OK) jp_doc_free(doc);
	return st;
}

void jp_doc_free(struct jp_doc *doc)
{
	free(doc->text);
	arena_free(doc->blocks);
	doc_reset(doc);
}

/* ---- access ---- */

const struct jp_value *jp_get(const struct jp_value *v, const char *key)
{
	if (!jp_is(v, JP_OBJECT)) return NULL;
	size_t n = strlen(key);
	for (uint32_t i = v->len; i-- > 0;) {
		const struct jp_member *m = &v->u.members[i];
		if (m->key_len == n && memcmp(m->key, key, n) == 0) return &m->value;
	}
	return NULL;
}

const struct jp_value *jp_at(const struct jp_value *v, size_t i)
{
	if (!jp_is(v, JP_ARRAY) || i >= v->len) return NULL;
	return &v->u.items[i];
}

bool jp_int64(const struct jp_value *v, int64_t *out)
{
	if (!jp_is(v, JP_NUMBER) || !v->is_integer) return false;
	*out = (int64_t)v->u.number;
	return true;
}

const char *jp_type_name(int type)
{
	static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
	if (type < 0 || type > JP_OBJECT) return "unknown";
	return names[type];
}
