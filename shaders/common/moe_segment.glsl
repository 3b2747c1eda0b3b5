// The grouped expert GEMMs' column tiles (gemm.comp and gemm_coopmat.comp with -D MOE): X and Y
// are in expert order, expert e's rows at OFFSETS[e] .. OFFSETS[e] + COUNTS[e], and workgroup
// column tile ty is tile (ty - seen) of the expert whose tiles it falls among. The includer
// declares COUNTS, OFFSETS and p (moe_gemm_params). False (for the whole workgroup) past the last
// segment or for an expert outside this dispatch's part of the stack.
bool moe_column_tile(uint ty, uint bn, out uint col0, out uint col_end, out uint w_base)
{
	uint e = 0, seen = 0;
	for (; e < p.n_exp; e++) {
		uint tiles = (COUNTS[p.counts_offset + e] + bn - 1u) / bn;
		if (ty < seen + tiles) break;
		seen += tiles;
	}
	col0 = 0u, col_end = 0u, w_base = 0u;
	if (e == p.n_exp || e < p.first_expert || e - p.first_expert >= p.n_part) return false;
	col0 = OFFSETS[p.offsets_offset + e] + (ty - seen) * bn;
	col_end = OFFSETS[p.offsets_offset + e] + COUNTS[p.counts_offset + e];
	w_base = p.w_offset + (e - p.first_expert) * p.expert_bytes;
	return true;
}
