#include "moe_ref.h"

#include <math.h>
#include <stdlib.h>

static bool better(double v, uint32_t i, double bv, uint32_t bi) { return v > bv || (v == bv && i < bi); }

/* llama.cpp's build_moe_ffn for one token, in its order: probabilities from all the logits,
 * selection on them plus the bias, within the best groups (a group scores the sum of its two best
 * selection values), top k with the lower index first on a tie, then the unbiased probabilities of
 * the chosen, renormalized (the sum clamped at f16's smallest normal) and scaled. */
void moe_route_one_ref(uint32_t *ids, double *weights, const double *logits, const double *bias, uint32_t n_exp,
                       uint32_t k, int gating, uint32_t n_group, uint32_t n_group_used, bool norm, double scale)
{
	double *prob = malloc(n_exp * sizeof *prob), *sel = malloc(n_exp * sizeof *sel);
	bool *taken = malloc(n_exp * sizeof *taken);
	if (!prob || !sel || !taken) abort(); /* a reference helper: no way to report it */
	const double *l = logits;
	double mx = -INFINITY, sum = 0;
	for (uint32_t e = 0; e < n_exp; e++) mx = fmax(mx, l[e]);
	for (uint32_t e = 0; e < n_exp; e++) {
		if (gating == 0) sum += (prob[e] = exp(l[e] - mx));
		else if (gating == 1 || gating == 3) prob[e] = 1.0 / (1.0 + exp(-l[e]));
		else prob[e] = l[e];
	}
	for (uint32_t e = 0; e < n_exp; e++) {
		if (gating == 0) prob[e] /= sum;
		/* Llama 4 (gating 3) selects on the raw logits, weights by their sigmoid */
		sel[e] = (gating == 3 ? l[e] : prob[e]) + (bias ? bias[e] : 0.0);
		taken[e] = false;
	}
	if (n_group > 1) {
		/* a group's score: its two best selection scores; keep the n_group_used best groups */
		uint32_t per = n_exp / n_group;
		double score[64];
		bool kept[64] = {false};
		for (uint32_t g = 0; g < n_group; g++) {
			double a = -INFINITY, b = -INFINITY;
			for (uint32_t e = g * per; e < (g + 1) * per; e++) {
				if (sel[e] > a) b = a, a = sel[e];
				else if (sel[e] > b) b = sel[e];
			}
			score[g] = a + b;
		}
		for (uint32_t j = 0; j < n_group_used; j++) {
			uint32_t best = UINT32_MAX;
			for (uint32_t g = 0; g < n_group; g++)
				if (!kept[g] && (best == UINT32_MAX || better(score[g], g, score[best], best))) best = g;
			kept[best] = true;
		}
		for (uint32_t e = 0; e < n_exp; e++)
			if (!kept[e / per]) sel[e] = -INFINITY;
	}
	double *w = weights, wsum = 0, wmx = -INFINITY;
	for (uint32_t j = 0; j < k; j++) {
		uint32_t best = UINT32_MAX;
		for (uint32_t e = 0; e < n_exp; e++)
			if (!taken[e] && (best == UINT32_MAX || better(sel[e], e, sel[best], best))) best = e;
		taken[best] = true;
		ids[j] = best;
		w[j] = prob[best];
		wmx = fmax(wmx, w[j]);
	}
	if (gating == 2) {
		double s = 0;
		for (uint32_t j = 0; j < k; j++) s += (w[j] = exp(w[j] - wmx));
		for (uint32_t j = 0; j < k; j++) w[j] /= s;
	}
	if (norm) {
		for (uint32_t j = 0; j < k; j++) wsum += w[j];
		wsum = fmax(wsum, 6.103515625e-5);
		for (uint32_t j = 0; j < k; j++) w[j] /= wsum;
	}
	for (uint32_t j = 0; j < k; j++) w[j] *= scale;
	free(prob), free(sel), free(taken);
}

void moe_route_ref(uint32_t *ids, double *weights, const float *logits, const float *bias, uint32_t n_tok,
                   uint32_t n_exp, uint32_t k, int gating, uint32_t n_group, uint32_t n_group_used, bool norm,
                   double scale)
{
	double *l = malloc(n_exp * sizeof *l), *b = bias ? malloc(n_exp * sizeof *b) : NULL;
	if (!l || (bias && !b)) abort();
	for (uint32_t e = 0; bias && e < n_exp; e++) b[e] = bias[e];
	for (uint32_t t = 0; t < n_tok; t++) {
		for (uint32_t e = 0; e < n_exp; e++) l[e] = logits[(uint64_t)t * n_exp + e];
		moe_route_one_ref(ids + (uint64_t)t * k, weights + (uint64_t)t * k, l, b, n_exp, k, gating, n_group,
		                  n_group_used, norm, scale);
	}
	free(l), free(b);
}

void moe_index_ref(uint32_t *counts, uint32_t *offsets, uint32_t *perm, uint32_t *inv, const uint32_t *ids,
                   uint32_t n_assign, uint32_t n_exp)
{
	uint32_t at = 0;
	for (uint32_t e = 0; e < n_exp; e++) {
		offsets[e] = at;
		counts[e] = 0;
		for (uint32_t a = 0; a < n_assign; a++)
			if (ids[a] == e) {
				perm[at] = a;
				inv[a] = at++;
				counts[e]++;
			}
	}
	offsets[n_exp] = at;
}

void moe_scatter_ref(double *out, const float *y, const uint32_t *inv, const float *weights, uint32_t n_tok, uint32_t k,
                     uint32_t n)
{
	for (uint32_t t = 0; t < n_tok; t++)
		for (uint32_t i = 0; i < n; i++) {
			double s = 0;
			for (uint32_t j = 0; j < k; j++)
				s += (weights ? (double)weights[t * k + j] : 1.0) * y[(uint64_t)inv[t * k + j] * n + i];
			out[(uint64_t)t * n + i] = s;
		}
}
