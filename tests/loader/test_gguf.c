/* GGUF reader: a valid file round-trips through the writer, and every malformed file is refused
 * with a message that names what is wrong. Malformed files are made by the writer (raw bytes) or
 * by patching a valid file at offsets the reader itself reports. Every prefix of a valid file and
 * thousands of random byte flips must be refused or accepted without a crash (run under ASan in
 * development; here any out-of-bounds read of the mapping would still show as a crash). */
#include <stdbool.h>
#include <unistd.h>

#include "base/status.h"
#include "loader/gguf.h"
#include "loader/gguf_write.h"
#include "loader/quant.h"
#include "test.h"

struct blob {
	char *p;
	size_t n;
};

/* Serializes the writer's header and zero-or-patterned tensor data into memory. */
static int build(struct gguf_writer *w, struct blob *b)
{
	FILE *f = open_memstream(&b->p, &b->n);
	if (!f) return fail(VKLLM_E_IO, "open_memstream");
	int st = gguf_write_header(w, f, "mem");
	for (uint64_t i = 0; st == VKLLM_OK && i < w->n_tensors; i++) {
		uint64_t size = w->tensors[i].size;
		uint8_t *data = malloc(size ? size : 1);
		for (uint64_t k = 0; k < size; k++) data[k] = (uint8_t)(k * 7 + i);
		st = gguf_write_tensor_data(w, f, data, size, "mem");
		free(data);
	}
	fclose(f);
	return st;
}

static void add_valid_content(struct gguf_writer *w)
{
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "llama.block_count", 2);
	gguf_w_i32(w, "test.i32", -5);
	gguf_w_f32(w, "test.f32", 1.5f);
	gguf_w_bool(w, "test.bool", true);
	int32_t ints[3] = {1, -2, 3};
	gguf_w_arr_i32(w, "test.arr_i32", ints, 3);
	const char *strs[3] = {"a", "", "ccc"};
	gguf_w_arr_str(w, "test.arr_str", strs, NULL, 3);
	uint8_t u8[] = {8, 0, 0, 0, 0, 0, 0, 0, 't', 'e', 's', 't', '.', 'u', '6', '4', GGUF_U64, 0, 0, 0,
	                0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x08};
	gguf_w_raw(w, u8, sizeof u8, true);
	uint64_t ne_a[2] = {64, 3}, ne_b[1] = {256}, ne_c[3] = {32, 2, 2};
	gguf_w_tensor(w, "a.weight", QT_F32, 2, ne_a);
	gguf_w_tensor(w, "b.weight", QT_Q4_K, 1, ne_b);
	gguf_w_tensor(w, "c.weight", QT_Q8_0, 3, ne_c);
}

static int open_blob(struct gguf_file *f, const struct blob *b) { return gguf_open_memory(f, b->p, b->n, "mem"); }

/* Opens bytes that must be refused; the message must contain `needle`. */
static void expect_refused(const void *p, size_t n, const char *needle, const char *what)
{
	struct gguf_file f;
	int st = gguf_open_memory(&f, p, n, "mem");
	EXPECT(st == VKLLM_E_FORMAT, "%s: status %d (%s)", what, st, st ? vkllm_error() : "accepted");
	if (st == VKLLM_E_FORMAT) EXPECT(strstr(vkllm_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what, vkllm_error(), needle);
	if (st == VKLLM_OK) gguf_close(&f);
}

static void test_round_trip(void)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	add_valid_content(&w);
	struct blob b = {0};
	int st = build(&w, &b);
	EXPECT(st == VKLLM_OK, "build: %s", vkllm_error());
	struct gguf_file f;
	st = open_blob(&f, &b);
	EXPECT(st == VKLLM_OK, "open: %s", vkllm_error());
	if (st == VKLLM_OK) {
		EXPECT(f.version == 3 && f.n_kv == 8 && f.n_tensors == 3, "counts %u %llu %llu", f.version,
		       (unsigned long long)f.n_kv, (unsigned long long)f.n_tensors);
		char arch[32];
		uint32_t u = 0;
		float x = 0;
		bool bo = false;
		EXPECT(gguf_get_str(&f, "general.architecture", false, arch, sizeof arch) == VKLLM_OK && !strcmp(arch, "llama"), "arch");
		EXPECT(gguf_get_u32(&f, "llama.block_count", false, &u) == VKLLM_OK && u == 2, "u32");
		EXPECT(gguf_get_f32(&f, "test.f32", false, &x) == VKLLM_OK && x == 1.5f, "f32");
		EXPECT(gguf_get_bool(&f, "test.bool", false, &bo) == VKLLM_OK && bo, "bool");
		/* a negative i32 asked as u32 is refused by name */
		EXPECT(gguf_get_u32(&f, "test.i32", false, &u) == VKLLM_E_FORMAT && strstr(vkllm_error(), "test.i32"), "neg i32");
		/* wrong type names both types */
		EXPECT(gguf_get_f32(&f, "llama.block_count", false, &x) == VKLLM_E_FORMAT && strstr(vkllm_error(), "u32") &&
		           strstr(vkllm_error(), "f32"), "type mismatch: %s", vkllm_error());
		EXPECT(gguf_get_u32(&f, "missing.key", false, &u) == VKLLM_E_FORMAT && strstr(vkllm_error(), "missing.key"), "missing");
		u = 77;
		EXPECT(gguf_get_u32(&f, "missing.key", true, &u) == VKLLM_OK && u == 77, "optional leaves the value");
		const struct gguf_kv *kv = gguf_find(&f, "test.arr_i32");
		int64_t v = 0;
		EXPECT(kv && gguf_get_arr_int(&f, kv, 1, &v) == VKLLM_OK && v == -2, "arr_i32[1]");
		EXPECT(kv && gguf_get_arr_int(&f, kv, 3, &v) == VKLLM_E_FORMAT, "arr_i32[3] out of range");
		kv = gguf_find(&f, "test.arr_str");
		struct gguf_str s[3];
		EXPECT(kv && kv->n == 3 && gguf_get_arr_str(&f, kv, s) == VKLLM_OK && s[1].len == 0 && s[2].len == 3 &&
		           !memcmp(s[2].ptr, "ccc", 3), "arr_str");
		kv = gguf_find(&f, "test.u64");
		uint64_t u64 = 0;
		if (kv) memcpy(&u64, kv->data, 8);
		EXPECT(kv && kv->type == GGUF_U64 && u64 == 0x0877665544332211ull, "u64 raw");
		const struct gguf_tensor *t = gguf_tensor(&f, "b.weight");
		EXPECT(t && t->type == QT_Q4_K && t->size == 144 && t->ne[0] == 256 && t->ne[1] == 1, "b.weight");
		t = gguf_tensor(&f, "c.weight");
		EXPECT(t && t->size == 34 * 4 && t->offset % 32 == 0 && ((const uint8_t *)t->data)[5] == (uint8_t)(5 * 7 + 2),
		       "c.weight data points into the file");
		EXPECT((uint64_t)((const char *)t->data - b.p) % f.alignment == 0, "tensor data aligned");
		EXPECT(gguf_tensor(&f, "nope") == NULL, "absent tensor");
		gguf_close(&f);
	}
	free(b.p);
	gguf_writer_free(&w);
}

/* Each case writes a header that is wrong in exactly one way. */
static void test_bad_headers(void)
{
	struct {
		uint8_t bytes[64];
		size_t n;
		const char *needle;
	} cases[] = {
		{{'G', 'G', 'U', 'X', 3, 0, 0, 0}, 24, "not a GGUF file"},
		{{'G', 'G', 'U', 'F', 1, 0, 0, 0}, 24, "version 1"},
		{{'G', 'G', 'U', 'F', 0, 0, 0, 3}, 24, "big-endian"},
		{{'G', 'G', 'U', 'F', 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 24, "tensor count"},
		{{'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}, 24, "key-value count"},
		{{'G', 'G', 'U', 'F', 3, 0}, 6, "version"},
		{{'G', 'G'}, 2, "magic"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char what[32];
		snprintf(what, sizeof what, "header case %zu", i);
		expect_refused(cases[i].bytes, cases[i].n, cases[i].needle, what);
	}
}

/* One malformed key-value after a valid one. */
static void raw_kv_case(const void *kv, size_t n, const char *needle, const char *what)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	gguf_w_str(&w, "general.architecture", "llama");
	gguf_w_raw(&w, kv, n, true);
	struct blob b = {0};
	build(&w, &b);
	expect_refused(b.p, b.n, needle, what);
	free(b.p);
	gguf_writer_free(&w);
}

static void test_bad_kvs(void)
{
	uint8_t empty_key[] = {0, 0, 0, 0, 0, 0, 0, 0, GGUF_U32, 0, 0, 0, 1, 0, 0, 0};
	raw_kv_case(empty_key, sizeof empty_key, "is empty", "empty key");
	uint8_t bad_type[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', 13, 0, 0, 0, 1, 0, 0, 0};
	raw_kv_case(bad_type, sizeof bad_type, "invalid value type 13", "value type 13");
	uint8_t neg_type[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0};
	raw_kv_case(neg_type, sizeof neg_type, "invalid value type -1", "value type -1");
	uint8_t nested[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', GGUF_ARRAY, 0, 0, 0, GGUF_ARRAY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	raw_kv_case(nested, sizeof nested, "nested arrays", "nested array");
	uint8_t huge_arr[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', GGUF_ARRAY, 0, 0, 0, GGUF_U32, 0, 0, 0,
	                      0, 0, 0, 0, 0, 0, 0, 0x10};
	raw_kv_case(huge_arr, sizeof huge_arr, "claims", "array count past the file");
	uint8_t huge_str[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', GGUF_STRING, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40};
	raw_kv_case(huge_str, sizeof huge_str, "more than 1 GiB", "string length 2^62");
	uint8_t long_str[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', GGUF_STRING, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 'x'};
	raw_kv_case(long_str, sizeof long_str, "file ends", "string past the end");
	uint8_t str_arr[] = {1, 0, 0, 0, 0, 0, 0, 0, 'k', GGUF_ARRAY, 0, 0, 0, GGUF_STRING, 0, 0, 0,
	                     2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'a', 9, 0, 0, 0, 0, 0, 0, 0};
	raw_kv_case(str_arr, sizeof str_arr, "file ends", "second string of an array past the end");

	/* duplicate key */
	struct gguf_writer w;
	gguf_writer_init(&w);
	gguf_w_u32(&w, "dup.key", 1);
	gguf_w_str(&w, "other", "x");
	gguf_w_u32(&w, "dup.key", 2);
	struct blob b = {0};
	build(&w, &b);
	expect_refused(b.p, b.n, "duplicate key 'dup.key'", "duplicate key");
	free(b.p);
	gguf_writer_free(&w);

	/* alignment: wrong type, not a power of two, zero */
	const char *needles[] = {"must be u32", "not a power of two", "not a power of two"};
	for (int i = 0; i < 3; i++) {
		gguf_writer_init(&w);
		if (i == 0) gguf_w_i32(&w, "general.alignment", 32);
		else gguf_w_u32(&w, "general.alignment", i == 1 ? 24 : 0);
		memset(&b, 0, sizeof b);
		build(&w, &b);
		expect_refused(b.p, b.n, needles[i], "alignment");
		free(b.p);
		gguf_writer_free(&w);
	}
	/* a legal non-default alignment is honoured */
	gguf_writer_init(&w);
	gguf_w_u32(&w, "general.alignment", 64);
	w.alignment = 64;
	uint64_t ne[1] = {32};
	gguf_w_tensor(&w, "x", QT_F32, 1, ne);
	gguf_w_tensor(&w, "y", QT_F32, 1, ne);
	memset(&b, 0, sizeof b);
	build(&w, &b);
	struct gguf_file f;
	int st = open_blob(&f, &b);
	EXPECT(st == VKLLM_OK, "alignment 64: %s", vkllm_error());
	if (st == VKLLM_OK) {
		EXPECT(f.alignment == 64 && f.data_offset % 64 == 0 && gguf_tensor(&f, "y")->offset == 128, "64-aligned offsets");
		gguf_close(&f);
	}
	free(b.p);
	gguf_writer_free(&w);
}

/* Patches a valid file's tensor info. The reader gives the info offsets, so the patches land on
 * the fields they mean to break. Layout: name len u64, name, n_dims u32, ne[n_dims] i64, type u32,
 * offset u64. */
enum patch { P_NDIMS0, P_NDIMS5, P_DIM0, P_DIMNEG, P_OVERFLOW, P_TYPE_UNKNOWN, P_TYPE_REMOVED, P_ROWLEN,
	         P_OFFSET_MISALIGNED, P_OFFSET_PAST_END, P_DUP_NAME, P_NAME_LONG };

static void test_bad_tensor(enum patch p, const char *needle)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	add_valid_content(&w);
	struct blob b = {0};
	build(&w, &b);
	struct gguf_file f;
	int st = open_blob(&f, &b);
	EXPECT(st == VKLLM_OK, "valid file: %s", vkllm_error());
	if (st) return;
	/* patch tensor 1 ("b.weight", 1 dim, q4_K, 256) or tensor 2 ("c.weight", 3 dims) */
	uint64_t at1 = f.tensors[1].info_offset, at2 = f.tensors[2].info_offset;
	gguf_close(&f);
	uint8_t *q = (uint8_t *)b.p;
	uint64_t name1 = at1 + 8, nd1 = name1 + 8, ne1 = nd1 + 4, type1 = ne1 + 8, off1 = type1 + 4;
	uint64_t nd2 = at2 + 8 + 8, ne2 = nd2 + 4;
	uint32_t u32;
	int64_t i64;
	switch (p) {
	case P_NDIMS0: u32 = 0; memcpy(q + nd1, &u32, 4); break;
	case P_NDIMS5: u32 = 5; memcpy(q + nd1, &u32, 4); break;
	case P_DIM0: i64 = 0; memcpy(q + ne2 + 8, &i64, 8); break;
	case P_DIMNEG: i64 = -32; memcpy(q + ne2, &i64, 8); break;
	case P_OVERFLOW:
		i64 = (int64_t)1 << 40; memcpy(q + ne2 + 8, &i64, 8);
		memcpy(q + ne2 + 16, &i64, 8);
		break;
	case P_TYPE_UNKNOWN: u32 = 99; memcpy(q + type1, &u32, 4); break;
	case P_TYPE_REMOVED: u32 = 4; memcpy(q + type1, &u32, 4); break;
	case P_ROWLEN: i64 = 128; memcpy(q + ne1, &i64, 8); break; /* q4_K rows are whole 256-blocks */
	case P_OFFSET_MISALIGNED: { uint64_t o; memcpy(&o, q + off1, 8); o += 4; memcpy(q + off1, &o, 8); break; }
	case P_OFFSET_PAST_END: {
		/* make the last tensor larger than the file: c.weight with 2^20 rows */
		i64 = 1 << 20; memcpy(q + ne2 + 16, &i64, 8);
		break;
	}
	case P_DUP_NAME: q[name1] = 'c'; break; /* "b.weight" -> "c.weight" */
	case P_NAME_LONG: break;
	}
	expect_refused(b.p, b.n, needle, needle);
	free(b.p);
	gguf_writer_free(&w);
}

static void test_long_name(void)
{
	/* the writer refuses it; a raw file with a 64-byte name is refused by the reader */
	struct gguf_writer w;
	gguf_writer_init(&w);
	uint64_t ne[1] = {32};
	char name[80];
	memset(name, 'n', 64);
	name[64] = 0;
	EXPECT(gguf_w_tensor(&w, name, QT_F32, 1, ne) == VKLLM_E_ARG, "writer refuses a 64-byte name");
	name[63] = 0;
	EXPECT(gguf_w_tensor(&w, name, QT_F32, 1, ne) == VKLLM_OK, "63-byte name: %s", vkllm_error());
	struct blob b = {0};
	build(&w, &b);
	struct gguf_file f;
	EXPECT(open_blob(&f, &b) == VKLLM_OK, "63-byte name is fine: %s", vkllm_error());
	gguf_close(&f);
	/* grow the name in place to 64 bytes: the length field is at offset 24 */
	uint64_t len = 64;
	memcpy(b.p + 24, &len, 8);
	expect_refused(b.p, b.n, "at most 63", "64-byte tensor name");
	free(b.p);
	gguf_writer_free(&w);
}

/* Every prefix of a valid file that cuts into the header or the tensor data is refused; none
 * crashes. The zero padding after the last tensor is optional (llama.cpp does not need it), so
 * prefixes that only drop some of it are still valid files. */
static void test_truncations(void)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	add_valid_content(&w);
	struct blob b = {0};
	build(&w, &b);
	struct gguf_file whole;
	EXPECT(open_blob(&whole, &b) == VKLLM_OK, "valid: %s", vkllm_error());
	const struct gguf_tensor *last = &whole.tensors[whole.n_tensors - 1];
	size_t data_end = (size_t)(whole.data_offset + last->offset + last->size);
	gguf_close(&whole);
	int accepted = 0, refused_tail = 0;
	for (size_t n = 0; n < b.n; n++) {
		/* copy to an exact-size buffer so a read past n is a read past the allocation */
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, b.p, n);
		struct gguf_file f;
		if (gguf_open_memory(&f, p, n, "mem") == VKLLM_OK) {
			if (n < data_end) accepted++;
			gguf_close(&f);
		} else if (n >= data_end) {
			refused_tail++;
		}
		free(p);
	}
	EXPECT(accepted == 0, "%d of %zu truncated files were accepted", accepted, data_end);
	EXPECT(refused_tail == 0, "%d files missing only trailing padding were refused", refused_tail);
	free(b.p);
	gguf_writer_free(&w);
}

/* Random byte flips: the reader either accepts (and then everything it vouched for is in bounds,
 * which gguf_fuzz_one touches) or refuses with a message. */
static void test_random_flips(void)
{
	struct gguf_writer w;
	gguf_writer_init(&w);
	add_valid_content(&w);
	struct blob b = {0};
	build(&w, &b);
	uint64_t seed = 12345;
	int refused = 0, accepted = 0, silent = 0;
	uint8_t *p = malloc(b.n);
	for (int it = 0; it < 20000; it++) {
		memcpy(p, b.p, b.n);
		int flips = 1 + (int)(test_rand(&seed) % 4);
		for (int k = 0; k < flips; k++) {
			/* bias flips toward the header, where the structure is */
			size_t at = (size_t)(test_rand(&seed) % (k == 0 ? 400 : b.n));
			if (at >= b.n) at = b.n - 1;
			p[at] ^= (uint8_t)(1u << (test_rand(&seed) % 8));
		}
		int st = gguf_fuzz_one(p, b.n);
		if (st == VKLLM_OK) accepted++;
		else {
			refused++;
			if (!vkllm_error()[0]) silent++;
		}
	}
	printf("# random flips: %d refused, %d accepted\n", refused, accepted);
	EXPECT(refused > 1000, "flips were mostly harmless? %d refused", refused);
	EXPECT(silent == 0, "%d refusals without a message", silent);
	free(p);
	free(b.p);
	gguf_writer_free(&w);
}

static void test_files(void)
{
	struct gguf_file f;
	EXPECT(gguf_open(&f, "/nonexistent/model.gguf") == VKLLM_E_IO && strstr(vkllm_error(), "/nonexistent/model.gguf"),
	       "missing file: %s", vkllm_error());
	EXPECT(gguf_open(&f, "/tmp") == VKLLM_E_IO && strstr(vkllm_error(), "directory"), "directory: %s", vkllm_error());
	char path[] = "/tmp/vkllm-test-gguf-XXXXXX";
	int fd = mkstemp(path);
	EXPECT(fd >= 0, "mkstemp");
	if (fd < 0) return;
	close(fd);
	EXPECT(gguf_open(&f, path) == VKLLM_E_FORMAT && strstr(vkllm_error(), "empty"), "empty file: %s", vkllm_error());
	/* a real file through mmap */
	struct gguf_writer w;
	gguf_writer_init(&w);
	add_valid_content(&w);
	FILE *out = fopen(path, "wb");
	int st = gguf_write_header(&w, out, path);
	for (uint64_t i = 0; st == VKLLM_OK && i < w.n_tensors; i++) {
		uint8_t *z = calloc(1, w.tensors[i].size);
		st = gguf_write_tensor_data(&w, out, z, w.tensors[i].size, path);
		free(z);
	}
	fclose(out);
	EXPECT(st == VKLLM_OK, "write: %s", vkllm_error());
	st = gguf_open(&f, path);
	EXPECT(st == VKLLM_OK && f.mapped && f.n_tensors == 3, "mmap open: %s", vkllm_error());
	off_t data_end = 0;
	if (st == VKLLM_OK) {
		const struct gguf_tensor *last = &f.tensors[f.n_tensors - 1];
		data_end = (off_t)(f.data_offset + last->offset + last->size);
		gguf_close(&f);
	}
	/* cut the file one byte short of the last tensor's data (the padding after it is optional) */
	EXPECT(truncate(path, data_end - 1) == 0, "truncate");
	EXPECT(gguf_open(&f, path) == VKLLM_E_FORMAT && strstr(vkllm_error(), "past end of file"), "short file: %s", vkllm_error());
	unlink(path);
	gguf_writer_free(&w);
}

int main(void)
{
	test_round_trip();
	test_bad_headers();
	test_bad_kvs();
	test_bad_tensor(P_NDIMS0, "0 dimensions");
	test_bad_tensor(P_NDIMS5, "5 dimensions");
	test_bad_tensor(P_DIM0, "dimension 1 = 0");
	test_bad_tensor(P_DIMNEG, "dimension 0 = -32");
	test_bad_tensor(P_OVERFLOW, "overflow");
	test_bad_tensor(P_TYPE_UNKNOWN, "unknown type id 99");
	test_bad_tensor(P_TYPE_REMOVED, "removed type id 4");
	test_bad_tensor(P_ROWLEN, "not a multiple of the q4_K block size 256");
	test_bad_tensor(P_OFFSET_MISALIGNED, "contiguous");
	test_bad_tensor(P_OFFSET_PAST_END, "past end of file");
	test_bad_tensor(P_DUP_NAME, "duplicate tensor name 'c.weight'");
	test_long_name();
	test_truncations();
	test_random_flips();
	test_files();
	return test_finish();
}
