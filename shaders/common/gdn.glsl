// Shared by the gated DeltaNet kernels (gdn_recurrent, gdn_chunk_prep, gdn_chunk_scan).
// The key head value head h reads: h / (Hv/Hk) (qwen3next) or h % Hk (qwen35, tiled).
uint gdn_key_head(uint h)
{
	return p.tiled != 0u ? h % p.Hk : h / (p.Hv / p.Hk);
}
