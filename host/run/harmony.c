/* gpt-oss's harmony channels, parsed as the answer streams (harmony.h says what goes where). */
#include <string.h>

#include "base/status.h"
#include "run/harmony.h"

enum { S_HEAD, S_BODY, S_BETWEEN, S_DONE };
enum { M_START, M_END, M_MESSAGE, M_CHANNEL, M_CONSTRAIN, M_RETURN, M_CALL, M_COUNT };
static const char *const markers[M_COUNT] = {"<|start|>", "<|end|>",    "<|message|>", "<|channel|>",
                                             "<|constrain|>", "<|return|>", "<|call|>"};
#define DROPPED (-1)

void harmony_init(struct harmony *h)
{
	h->state = S_HEAD;
	h->kind = HARMONY_ANSWER;
	h->first = true;
	h->committed = false;
	h->head.n = 0;
	h->hold.n = 0;
}

void harmony_free(struct harmony *h)
{
	tok_text_free(&h->head);
	tok_text_free(&h->hold);
}

/* p[0..n) starts with '<': the marker it starts with (its length in *len), -2 when it is a proper
 * prefix of one (more text decides), -1 when it is no marker */
static int marker_at(const char *p, size_t n, size_t *len)
{
	bool prefix = false;
	for (int m = 0; m < M_COUNT; m++) {
		size_t l = strlen(markers[m]);
		if (n >= l && !memcmp(p, markers[m], l)) {
			*len = l;
			return m;
		}
		if (n < l && !memcmp(p, markers[m], n)) prefix = true;
	}
	return prefix ? -2 : -1;
}

/* the word after `key` in the header (up to a space, a '<' or the end), or NULL */
static const char *word_after(const char *s, size_t n, const char *key, bool last, size_t *len)
{
	size_t k = strlen(key);
	const char *found = NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(s + i, key, k)) {
			found = s + i + k;
			if (!last) break;
		}
	if (!found) return NULL;
	const char *e = found;
	while (e < s + n && *e != ' ' && *e != '<') e++;
	*len = (size_t)(e - found);
	return found;
}

/* what a header ("assistant<|channel|>final", "<|channel|>commentary to=functions.f <|constrain|>json", ...)
 * makes of the body that follows */
static int classify(const struct tok_text *head)
{
	size_t len;
	const char *to = word_after(head->p, head->n, " to=", false, &len);
	if (to && !(len == 9 && !memcmp(to, "assistant", 9))) return DROPPED; /* a tool call */
	const char *ch = word_after(head->p, head->n, "<|channel|>", true, &len);
	if (ch && len == 8 && !memcmp(ch, "analysis", 8)) return HARMONY_REASONING;
	return HARMONY_ANSWER; /* final, a commentary preamble, no channel */
}

static int emit(struct harmony *h, int kind, const char *s, size_t n, harmony_sink sink, void *user)
{
	(void)h;
	return kind == DROPPED || n == 0 ? VKLLM_OK : sink(user, (enum harmony_part)kind, s, n);
}

static bool starts_as(const struct tok_text *t, const char *s)
{
	size_t l = strlen(s);
	return !memcmp(t->p, s, t->n < l ? t->n : l);
}

static int on_text(struct harmony *h, const char *s, size_t n, harmony_sink sink, void *user)
{
	if (n == 0) return VKLLM_OK;
	switch (h->state) {
	case S_HEAD:
		TRY(tok_text_append(&h->head, s, n));
		if (h->first && !h->committed) {
			/* the opening header can only be a recipient (" to=NAME"); anything else is an
			 * answer written without channels */
			if (starts_as(&h->head, " to=")) {
				if (h->head.n >= 4) h->committed = true;
			} else {
				h->state = S_BODY, h->kind = HARMONY_ANSWER;
				int st = emit(h, h->kind, h->head.p, h->head.n, sink, user);
				h->head.n = 0;
				return st;
			}
		}
		return VKLLM_OK;
	case S_BETWEEN: /* text outside any message: shown, it is all the model said */
		h->state = S_BODY, h->kind = HARMONY_ANSWER;
		return emit(h, h->kind, s, n, sink, user);
	case S_BODY: return emit(h, h->kind, s, n, sink, user);
	default: return VKLLM_OK;
	}
}

static int on_marker(struct harmony *h, int m)
{
	if (h->state == S_DONE) return VKLLM_OK;
	switch (m) {
	case M_START:
		h->state = S_HEAD, h->first = false, h->committed = true, h->head.n = 0;
		break;
	case M_MESSAGE:
		if (h->state == S_HEAD) {
			h->kind = classify(&h->head);
			h->state = S_BODY, h->head.n = 0;
		}
		break;
	case M_CHANNEL:
		if (h->state != S_HEAD) h->state = S_HEAD, h->first = false, h->head.n = 0; /* a header without <|start|> */
		h->committed = true;
		return tok_text_append(&h->head, markers[m], strlen(markers[m]));
	case M_CONSTRAIN:
		if (h->state == S_HEAD) {
			h->committed = true;
			return tok_text_append(&h->head, markers[m], strlen(markers[m]));
		}
		break;
	case M_END:
		h->state = S_BETWEEN, h->head.n = 0;
		break;
	default: h->state = S_DONE; /* <|return|>, <|call|> */
	}
	return VKLLM_OK;
}

/* parses hold; with `all` a marker prefix at the end is text, else it waits in hold */
static int parse(struct harmony *h, bool all, harmony_sink sink, void *user)
{
	const char *p = h->hold.p;
	size_t n = h->hold.n, i = 0, from = 0;
	int st = VKLLM_OK;
	while (i < n && !st) {
		size_t len = 0;
		int m = p[i] == '<' ? marker_at(p + i, n - i, &len) : -1;
		if (m == -1 || (m == -2 && all)) {
			i++;
			continue;
		}
		st = on_text(h, p + from, i - from, sink, user);
		from = i;
		if (m == -2 || st) break;
		st = on_marker(h, m);
		i += len, from = i;
	}
	if (!st && (i >= n)) st = on_text(h, p + from, n - from, sink, user), from = n;
	memmove(h->hold.p, p + from, n - from);
	h->hold.n = n - from;
	return st;
}

int harmony_push(struct harmony *h, const char *s, size_t n, harmony_sink sink, void *user)
{
	TRY(tok_text_append(&h->hold, s, n));
	return parse(h, false, sink, user);
}

int harmony_finish(struct harmony *h, harmony_sink sink, void *user)
{
	int st = parse(h, true, sink, user);
	/* an opening that never became a header (" t" of " to=") was text */
	if (!st && h->state == S_HEAD && h->first && !h->committed) st = emit(h, HARMONY_ANSWER, h->head.p, h->head.n, sink, user);
	harmony_init(h);
	return st;
}

struct split {
	struct tok_text *out[2];
};

static int split_sink(void *user, enum harmony_part part, const char *s, size_t n)
{
	struct tok_text *t = ((struct split *)user)->out[part];
	return t ? tok_text_append(t, s, n) : VKLLM_OK;
}

int harmony_split(const char *s, size_t n, struct tok_text *answer, struct tok_text *reasoning)
{
	struct harmony h = {0};
	struct split sp = {{answer, reasoning}};
	harmony_init(&h);
	int st = harmony_push(&h, s, n, split_sink, &sp);
	if (!st) st = harmony_finish(&h, split_sink, &sp);
	harmony_free(&h);
	return st;
}
