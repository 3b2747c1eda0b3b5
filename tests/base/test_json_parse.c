/* The strict JSON reader (host/base/json_parse.c): values, escapes and nesting of valid documents;
 * every invalid document refused with a message that says where and what was expected; every
 * proper prefix of a valid document refused; random byte flips never crash (run under ASan in
 * development). */
#include <unistd.h>

#include "base/json_parse.h"
#include "base/status.h"
#include "test.h"

static bool parses(const char *text, struct jp_doc *doc) { return jp_parse(doc, text, strlen(text), "t.json") == VKLLM_OK; }

/* A document that must be refused with E_FORMAT, a "t.json:line:col:" prefix and, when given, the
 * expected phrase. */
static void expect_invalid_n(const char *text, size_t len, const char *needle, const char *what)
{
	struct jp_doc doc;
	int st = jp_parse(&doc, text, len, "t.json");
	const char *msg = vkllm_error();
	EXPECT(st == VKLLM_E_FORMAT, "%s: accepted or wrong status %d", what, st);
	EXPECT(strncmp(msg, "t.json:", 7) == 0 && strstr(msg, "expected"), "%s: message '%s'", what, msg);
	if (needle) EXPECT(strstr(msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, msg, needle);
	EXPECT(doc.text == NULL && doc.blocks == NULL, "%s: a refused document keeps memory", what);
	jp_doc_free(&doc);
}

static void expect_invalid(const char *text, const char *needle) { expect_invalid_n(text, strlen(text), needle, text); }

static void test_scalars(void)
{
	struct jp_doc d;
	EXPECT(parses(" null ", &d) && d.root.type == JP_NULL, "null");
	jp_doc_free(&d);
	EXPECT(parses("true", &d) && d.root.type == JP_BOOL && d.root.boolean, "true");
	jp_doc_free(&d);
	EXPECT(parses("false", &d) && d.root.type == JP_BOOL && !d.root.boolean, "false");
	jp_doc_free(&d);

	static const struct {
		const char *text;
		double value;
		bool integer;
	} numbers[] = {
		{"0", 0, true}, {"-0", -0.0, true}, {"123", 123, true}, {"-42", -42, true},
		{"151645", 151645, true}, {"9007199254740992", 9007199254740992.0, true},
		{"9007199254740993", 9007199254740992.0, false}, /* past 2^53: not exact, so not an integer */
		{"123456789012345678901234567890", 1.2345678901234568e29, false},
		{"1.5", 1.5, false}, {"-1.5e3", -1500, false}, {"1E+2", 100, false}, {"2e-3", 0.002, false},
		{"0.1", 0.1, false}, {"1e-400", 0, false},
	};
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		bool ok = parses(numbers[i].text, &d);
		EXPECT(ok && d.root.type == JP_NUMBER && d.root.u.number == numbers[i].value &&
		           d.root.is_integer == numbers[i].integer,
		       "number %s: %s got %.17g integer %d", numbers[i].text, ok ? "ok" : vkllm_error(), d.root.u.number,
		       d.root.is_integer);
		jp_doc_free(&d);
	}
	int64_t i64 = 0;
	EXPECT(parses("-7", &d) && jp_int64(&d.root, &i64) && i64 == -7, "jp_int64");
	jp_doc_free(&d);
	EXPECT(parses("7.0", &d) && !jp_int64(&d.root, &i64), "7.0 is not an integer");
	jp_doc_free(&d);
}

static void test_strings(void)
{
	struct jp_doc d;
	/* every escape, a BMP character, a surrogate pair and an escaped NUL */
	const char *text = "\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t|\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000end\"";
	const char expect[] = "q\"b\\s/\b\f\n\r\t|A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0end";
	bool ok = parses(text, &d);
	EXPECT(ok && d.root.type == JP_STRING && d.root.len == sizeof expect - 1 &&
	           memcmp(d.root.u.string, expect, sizeof expect) == 0,
	       "escapes: %s", ok ? "wrong bytes" : vkllm_error());
	jp_doc_free(&d);
	/* raw UTF-8 of every length passes through */
	const char *raw = "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x96\x81\"";
	EXPECT(parses(raw, &d) && d.root.len == 12 && memcmp(d.root.u.string, raw + 1, 12) == 0, "raw UTF-8");
	jp_doc_free(&d);
	EXPECT(parses("\"\"", &d) && d.root.type == JP_STRING && d.root.len == 0 && d.root.u.string[0] == 0, "empty");
	jp_doc_free(&d);
}

static void test_containers(void)
{
	struct jp_doc d;
	const char *text = "{\n  \"b\": [1, 2, {\"x\": null}],\n  \"a\": \"first\",\n  \"e\": {},\n  \"f\": [],\n  \"a\": \"last\"\n}";
	if (!parses(text, &d)) {
		EXPECT(false, "object: %s", vkllm_error());
		return;
	}
	const struct jp_value *r = &d.root;
	EXPECT(r->type == JP_OBJECT && r->len == 5, "5 members");
	EXPECT(strcmp(r->u.members[0].key, "b") == 0 && strcmp(r->u.members[1].key, "a") == 0 &&
	           strcmp(r->u.members[2].key, "e") == 0,
	       "members keep file order");
	EXPECT(strcmp(jp_str(jp_get(r, "a")), "last") == 0, "a repeated key: the last one wins");
	const struct jp_value *b = jp_get(r, "b");
	EXPECT(jp_is(b, JP_ARRAY) && b->len == 3, "array of 3");
	EXPECT(jp_at(b, 1)->u.number == 2 && jp_at(b, 3) == NULL && jp_at(r, 0) == NULL, "jp_at");
	EXPECT(jp_is(jp_get(jp_at(b, 2), "x"), JP_NULL), "nested null");
	EXPECT(jp_get(r, "missing") == NULL && jp_get(b, "a") == NULL && jp_get(NULL, "a") == NULL, "absent");
	EXPECT(jp_is(jp_get(r, "e"), JP_OBJECT) && jp_get(r, "e")->len == 0, "empty object");
	EXPECT(jp_is(jp_get(r, "f"), JP_ARRAY) && jp_get(r, "f")->len == 0, "empty array");
	EXPECT(jp_str(b) == NULL && strcmp(jp_type_name(JP_OBJECT), "object") == 0, "helpers");
	jp_doc_free(&d);

	/* 256 levels are allowed, 257 are not */
	char deep[2 * 257 + 1];
	for (int depth = 256; depth <= 257; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		deep[2 * depth] = 0;
		int st = jp_parse(&d, deep, (size_t)(2 * depth), "t.json");
		EXPECT((st == VKLLM_OK) == (depth == 256), "depth %d: %s", depth, vkllm_error());
		if (depth == 257) EXPECT(strstr(vkllm_error(), "256") != NULL, "depth message: %s", vkllm_error());
		jp_doc_free(&d);
	}
}

static void test_invalid(void)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{"", "end of input"}, {"   \n ", "t.json:2:2:"}, {"{", "member name"}, {"[", "JSON value"},
		{"[1,]", "JSON value"}, {"{\"a\":1,}", "member name"}, {"{\"a\" 1}", "':'"}, {"{a:1}", "member name"},
		{"[1 2]", "',' or ']'"}, {"{\"a\":1 \"b\":2}", "',' or '}'"}, {"01", "leading zeros"}, {"-", "digit"},
		{"1.", "decimal point"}, {".5", "JSON value"}, {"1e", "exponent"}, {"1e+", "exponent"}, {"+1", "JSON value"},
		{"tru", "'true'"}, {"nul", "'null'"}, {"fals", "'false'"}, {"NaN", "JSON value"}, {"Infinity", "JSON value"},
		{"'a'", "JSON value"}, {"[1,,2]", "JSON value"}, {"{\"a\":}", "JSON value"}, {"\"abc", "close the string"},
		{"\"\\x\"", "after '\\'"}, {"\"\\", "escape character"}, {"\"\\u12\"", "hex digits"}, {"\"\\u00", "hex digits"},
		{"\"\\ud800\"", "low surrogate"}, {"\"\\udc00\"", "high surrogate"}, {"\"\\ud800\\u0041\"", "low surrogate"},
		{"\"a\tb\"", "control characters"}, {"\"\x01\"", "control characters"}, {"\"a\nb\"", "control characters"},
		{"[1] x", "end of the input"}, {"{} {}", "end of the input"}, {"\xef\xbb\xbf{}", "byte order mark"},
		{"\"\xc0\xaf\"", "UTF-8"}, {"\"\xe0\x80\xaf\"", "UTF-8"}, {"\"\xed\xa0\x80\"", "UTF-8"},
		{"\"\xf4\x90\x80\x80\"", "UTF-8"}, {"\"\xe2\x82\"", "UTF-8"}, {"\"\x80\"", "UTF-8"}, {"\"\xff\"", "UTF-8"},
		{"1e400", "range of a double"}, {"-1e400", "range of a double"},
		{"{\"a\":1}\n\n  }", "t.json:3:3:"}, {"\xc3\xa9", "byte 0xc3"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_invalid(bad[i].text, bad[i].needle);
	expect_invalid_n("[1]\0", 4, "byte 0x00", "NUL after the value");
	expect_invalid_n("\"a\0b\"", 5, "control characters", "raw NUL in a string");
}

/* Every proper prefix of a valid document is refused (the whole is accepted), with a message. */
static void test_prefixes(void)
{
	const char *doc = "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {\"\\u0120the\": 279, "
	                  "\"caf\\u00e9\": -1.25e+2, \"\xf0\x9f\x98\x80\": 0}, \"merges\": [[\"a\", \"b\"], \"c d\"], "
	                  "\"flags\": [true, false, null], \"pair\": \"\\ud83d\\ude00\"}}";
	size_t n = strlen(doc);
	int accepted = 0, bad_message = 0;
	for (size_t len = 0; len < n; len++) {
		struct jp_doc d;
		int st = jp_parse(&d, doc, len, "t.json");
		if (st == VKLLM_OK) accepted++;
		else if (st != VKLLM_E_FORMAT || strncmp(vkllm_error(), "t.json:1:", 9) != 0) bad_message++;
		jp_doc_free(&d);
	}
	EXPECT(accepted == 0, "%d proper prefixes were accepted", accepted);
	EXPECT(bad_message == 0, "%d prefixes were refused without a located message", bad_message);
	struct jp_doc d;
	EXPECT(jp_parse(&d, doc, n, "t.json") == VKLLM_OK, "the whole document: %s", vkllm_error());
	jp_doc_free(&d);
}

/* Random byte flips: accepted or refused, never a crash or a leak (ASan/valgrind in development). */
static void test_mutations(void)
{
	const char *doc = "{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\", {\"b\": null, \"c\": true}], \"d\": \"\xe2\x96\x81\"}";
	size_t n = strlen(doc);
	char buf[256];
	uint64_t seed = 12345;
	int refused_without_message = 0;
	static const char interesting[] = "{}[]\",:\\u0e-+.9 \xed\xa0\xc0\x80tfn";
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(buf, doc, n);
		int flips = 1 + (int)(test_rand(&seed) % 3);
		for (int k = 0; k < flips; k++) {
			size_t pos = test_rand(&seed) % n;
			uint64_t r = test_rand(&seed);
			buf[pos] = (r & 1) ? interesting[(r >> 1) % (sizeof interesting - 1)] : (char)(r >> 8);
		}
		struct jp_doc d;
		int st = jp_parse(&d, buf, n, "t.json");
		if (st != VKLLM_OK && (st != VKLLM_E_FORMAT || strncmp(vkllm_error(), "t.json:", 7) != 0))
			refused_without_message++;
		jp_doc_free(&d);
	}
	EXPECT(refused_without_message == 0, "%d mutated documents refused without a located message", refused_without_message);
}

static void test_files(void)
{
	struct jp_doc d;
	EXPECT(jp_parse_file(&d, "/nonexistent/tokenizer.json") == VKLLM_E_IO &&
	           strstr(vkllm_error(), "/nonexistent/tokenizer.json"),
	       "missing file: %s", vkllm_error());
	EXPECT(jp_parse_file(&d, "/tmp") == VKLLM_E_IO && strstr(vkllm_error(), "regular file"), "directory: %s",
	       vkllm_error());
	char path[] = "/tmp/vkllm-test-json-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		EXPECT(false, "mkstemp");
		return;
	}
	const char *text = "{\n  \"a\": 1,\n  \"b\": [true,\n        fals]\n}\n";
	EXPECT(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
	close(fd);
	EXPECT(jp_parse_file(&d, path) == VKLLM_E_FORMAT, "a bad file is refused");
	char where[300];
	snprintf(where, sizeof where, "%s:4:13: expected 'false'", path);
	EXPECT(strstr(vkllm_error(), where) != NULL, "file message '%s' lacks '%s'", vkllm_error(), where);
	jp_doc_free(&d);
	unlink(path);
}

int main(void)
{
	test_scalars();
	test_strings();
	test_containers();
	test_invalid();
	test_prefixes();
	test_mutations();
	test_files();
	return test_finish();
}
