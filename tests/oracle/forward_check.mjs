// Oracle: the CPU reference forward pass (tests/ref/forward_ref*.c, run as ref_generate) against
// llama.cpp (node-llama-cpp 3.22.1, CPU binaries, one thread, f32 KV cache, no flash attention) on
// the same synthesized models and the same token ids, for every architecture. Two greedy prompts
// (32 tokens each; the longer one runs past gemma3's window) and two perplexity sequences.
//
// The reference runs twice (forward_ref.h, enum ref_numerics):
//   exact      the spec: the math in float64.
//   llama-cpu  plus the roundings of llama.cpp's CPU backend: activations quantized to the weight
//              type's vec_dot_type (Q8_0 blocks for Q8_0 weights) before each matmul, GELU from
//              its f16 table.
// Checks:
//   f32   exact and llama-cpu: the 32 greedy tokens identical, perplexity within 1%.
//   q8_0  llama-cpu: the 32 greedy tokens identical, perplexity within 1%: the weights are
//         decoded exactly as llama.cpp decodes them.
//         exact: perplexity within 3% only, greedy tokens not compared. llama.cpp's Q8_0
//         activations carry about 0.4% noise into every matmul; in these random models (sharp
//         attention, no training to make them smooth) that moves logits by up to 10% of their
//         range (60% for qwen3moe, where it flips router choices), so greedy paths part within
//         a few tokens (at the first token for one gemma3 prompt) while perplexity stays within 2%.
// Also printed, not asserted: the largest logit difference over all positions relative to the
// largest logit magnitude, per numerics.
//
// usage: node forward_check.mjs --vkllm BUILD/vkllm --ref BUILD/tests/ref_generate --dir WORKDIR
//        [--arch A,B] [--type f32,q8_0]
// exit 1 on any failure, with one line per failing check.
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const {getLlama, LlamaLogLevel} = await import(path.join(here, "../deps/node_modules/node-llama-cpp/dist/index.js"));

const ARCHS = ["llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "smollm3", "olmo2", "gemma3", "deepseek2",
               "qwen3next", "qwen35", "qwen35moe", "kimi-linear", "gpt-oss", "glm4moe", "minimax-m2", "mistral3", "llama4", "grok", "gemma3n"];
const N_GREEDY = 32;
// Per weight type and numerics: how many greedy tokens must be identical (greedy: the reference
// generating on its own; forced: the reference following llama.cpp's tokens, how many of its 32
// choices agree), the perplexity tolerance, and for f32 the largest logit
// difference relative to the largest logit (exact: up to 5e-3 from gemma3's f16 GELU table; the
// others stay near 1e-5; llama-cpu: f32 rounding, and gemma3's table entries where an f16
// rounding of x falls the other way, 7e-4)
const CHECKS = {
  f32: {"exact": {greedy: N_GREEDY, forced: N_GREEDY, ppl: 0.01, logits: 1e-2},
        "llama-cpu": {greedy: N_GREEDY, forced: N_GREEDY, ppl: 0.01, logits: 2e-3}},
  q8_0: {"exact": {greedy: 0, forced: 20, ppl: 0.03, logits: Infinity},
         "llama-cpu": {greedy: 0, forced: 30, ppl: 0.01, logits: Infinity}},
  // f16 and q4_K: run for deepseek2 in CI (the other archs' f16/K-quant files are load_check's);
  // bounds as q8_0's until measured otherwise (the measurements are beside DEEPSEEK2_TOL)
  f16: {"exact": {greedy: 0, forced: 20, ppl: 0.03, logits: Infinity},
        "llama-cpu": {greedy: 0, forced: 30, ppl: 0.01, logits: Infinity}},
  q4_K: {"exact": {greedy: 0, forced: 20, ppl: 0.03, logits: Infinity},
         "llama-cpu": {greedy: 0, forced: 30, ppl: 0.01, logits: Infinity}},
};

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const vkllm = opt("--vkllm"), ref = opt("--ref"), dir = opt("--dir");
if (!vkllm || !ref || !dir) {
  console.error("usage: node forward_check.mjs --vkllm VKLLM --ref REF_GENERATE --dir WORKDIR [--arch A,B] [--type T,U]");
  process.exit(2);
}
const archs = opt("--arch", ARCHS.join(",")).split(",");
const types = opt("--type", "f32,q8_0").split(",");
// deepseek2 (issue 20), the gated DeltaNet archs (issue 21) and kimi-linear are checked in f16 and
// q4_K too unless --type says otherwise
const GDN_ARCHS = ["qwen3next", "qwen35", "qwen35moe"];
const typesFor = (arch) => opt("--type") ? types
  : arch === "deepseek2" || arch === "kimi-linear" || GDN_ARCHS.includes(arch) ? [...types, "f16", "q4_K"]
  : arch === "gpt-oss" ? [...types, "f16"] : arch === "mistral3" || arch === "llama4" || arch === "grok" || arch === "gemma3n" ? [...types, "f16", "q4_K"] : types;
// the tiny model of each arch (synth: every block of the arch; gemma3 6 layers with a window of
// 8, smollm3 4 layers so one is NoPE), and Llama 3.2's shape made small, for its rope_freqs
const MODELS = [];
// deepseek2's latent attention has two forms in the reference (forward_ref.h): llama.cpp runs the
// absorbed one on split attn_k_b/attn_v_b files and plain MHA (the naive one) on legacy attn_kv_b
// files. Exact numerics check both forms on every file; llama-cpu numerics only the form llama.cpp
// runs (ref_generate's default), because its activation roundings sit before different matmuls in
// the two forms (q_nope into attn_k_b vs c into attn_kv_b).
const MLA_FORMS = ["absorbed", "naive"];
for (const arch of archs)
  for (const type of typesFor(arch))
    MODELS.push({name: `${arch}-${type}`, arch, type, synth: ["--arch", arch],
                 forms: arch === "deepseek2" || arch === "kimi-linear" ? MLA_FORMS : [null]});
// deepseek2 at q8_0 gets wider perplexity bounds (its f32 checks stay as tight as every arch's).
//   exact: q8_0 activation noise goes through a longer chain of matmuls per layer (q_a, q_b, k_b,
//     kv_a, v_b, output; q_b and output in f16) and the routed experts are scaled by 2.5: measured
//     4.2% and 5.5% on the 48-token sequence.
//   llama-cpu: the reference agrees with llama.cpp to 1e-7 of the logit range up to position 41 of
//     the no-q-lora model's 48-token sequence, where f32 noise flips one q8_0 rounding that sits a
//     few 1e-6 from its boundary; that one step moves later logits by up to 0.6 of their range and
//     the perplexity by 1.4%.
// q4_K, exact: llama.cpp quantizes the activations to Q8_K before every q4_K/q5_0 product; measured
//   2.6%, 5.2%, 9.2% and 3.7% over the three layouts' sequences. llama-cpu numerics model that and
//   agree on 32 of 32 greedy and forced tokens, perplexity within 0.14% (f16: 0.63%).
const DEEPSEEK2_TOL = {q8_0: {"exact": {ppl: 0.08}, "llama-cpu": {ppl: 0.02}}, q4_K: {"exact": {ppl: 0.12}}};
for (const m of MODELS) if (m.arch === "deepseek2") m.tol = DEEPSEEK2_TOL;
// The gated DeltaNet archs (qwen3next, qwen35, qwen35moe; 3 DeltaNet layers and 1 gated attention
// layer) keep f32's bounds: measured 32/32 greedy and forced tokens in both numerics, perplexity
// within 4e-7, logits within 6.2e-6 of their range. Quantized files get wider bounds, because a
// recurrent state never forgets: whatever moves a token's DeltaNet input (a flipped rounding, a
// flipped expert) moves the state S and so every later position, where attention would let it fade
// among the other keys.
//   q8_0, exact: llama.cpp's Q8_0 activations; measured qwen3next 1.3% and 4.1% (25 and 17 of 32
//     forced tokens agree), qwen35 1.3% and 0.4% (28, 28), qwen35moe 2.4% and 1.6% (24, 25).
//   q8_0, llama-cpu: the reference follows llama.cpp to 1e-7 of the logit range until an activation
//     2 f32 ulps from a Q8_0 rounding boundary (layer 0's normed input at position 3 of the
//     48-token sequence, x * 127 / amax = -40.49999) rounds the other way in llama.cpp's f32 chain;
//     from there the state carries the step: qwen35 0.6%, qwen35moe 0.44%, qwen3next 6e-5;
//     32/32 forced tokens.
//   q4_K, exact: Q8_K activations; measured qwen3next 5.7%, qwen35moe 2.9%, qwen35 1.3%
//     (llama-cpu: within 0.25%, 30-32 of 32 forced). f16: within 0.07% in both numerics.
const GDN_TOL = {q8_0: {"exact": {ppl: 0.10, forced: 14}, "llama-cpu": {ppl: 0.03}}, q4_K: {"exact": {ppl: 0.08}}};
for (const m of MODELS) if (GDN_ARCHS.includes(m.arch)) m.tol = GDN_TOL;
// kimi-linear (KDA layers 0-2 and 4, NoPE MLA layers 3 and 5, sigmoid routing with the selection
// bias scaled by 2.446): at f32 32/32 greedy and forced tokens in both numerics and both MLA forms,
// perplexity within 2.8e-7, logits within 5.3e-6 of their range. In llama-cpu numerics the quantized
// files follow llama.cpp too: q8_0 perplexity within 1e-8 (logits 1.2e-7), q4_K 6e-9 and 0.43% (one
// rounding flip in the 96-id sequence), f16 4e-6 and 1.7e-4 (31 and 32 of 32 forced); 32/32 forced
// tokens at q8_0 and q4_K. Exact numerics sit further off than for the DeltaNet archs: llama.cpp's
// rounded activations move the logits by 3-30% of their range from the first position (q8_0, q4_K),
// and they flip discrete choices that the KDA states then carry: at f16, whose rounding is 8 times
// finer, the logits stay within 3e-3 of the reference's up to position 18 of the 48-id sequence,
// where a router in layer 2 whose 2nd and 3rd selection scores lie 1e-4 apart picks the other
// expert, and from there they differ by up to the whole of their range. Measured (exact): q8_0
// 8.5% and 1.3% (18 and 18 of 32 forced), q4_K 8.5% and 1.5% (19, 26 forced), f16 6.4% and 0.3%
// (32, 32 forced). The f16 figure is on a CPU without AMX, where llama.cpp rounds f16 matmuls'
// activations to f16 (docs/reference_forward.md); with AMX it reads them in f32.
const KIMI_TOL = {q8_0: {"exact": {ppl: 0.12, forced: 14}}, q4_K: {"exact": {ppl: 0.12, forced: 14}},
                  f16: {"exact": {ppl: 0.10}}};
for (const m of MODELS) if (m.arch === "kimi-linear") m.tol = KIMI_TOL;
// gpt-oss (4 layers, the even ones with a window of 8; sinks; YaRN x32; 8 experts top-4 with biases
// and the clamped SwiGLU): the experts stay MXFP4 whatever --type says (its converter keeps the
// checkpoint's MXFP4), so every gpt-oss-<type> file has MXFP4 matmuls, whose activations llama.cpp's
// CPU backend rounds to Q8_0 blocks (MXFP4's vec_dot_type). The reference's llama-cpu numerics do the
// same; its exact numerics do not, so there even the "f32" file sees llama.cpp's Q8_0 noise.
//   f32 (MXFP4 experts), exact: measured 14 and 0 greedy tokens, 31 and 28 of 32 forced, perplexity
//     0.08% and 0.29%, logits 0.22 of their range apart.
//   f32, llama-cpu: 32/32 greedy and forced, perplexity within 2.8e-5; logits within 1e-6 of their
//     range except at two isolated positions of the 96-id sequence (45 and 74: 2.1e-3, 2.4e-3), where
//     an expert input sits on a Q8_0 rounding boundary that llama.cpp's f32 sums put on the other side
//     (the sliding and full layers let such a step fade here). Bound: logits 2e-2.
//   q8_0, exact: 1 greedy token each, 25 and 27 forced, perplexity 5.2% and 1.8%.
//   q8_0, llama-cpu: 32/32 greedy and forced, perplexity within 9e-9 and 7.1e-4: logits within 1e-7 of
//     their range up to position 49 of the 96-id sequence, then one rounding flip that the full layers'
//     caches carry (up to 3.9e-2 of the range).
//   f16, exact: 28 and 30 forced, perplexity 0.19% and 0.18%.
//   f16, llama-cpu (a CPU without AMX: llama.cpp rounds the f16 matmuls' activations to f16): 32 and 14
//     greedy, 32 and 30 forced, perplexity 4.9e-4 and 8.3e-4, logits 1.1e-2. f16's rounding is 16 times
//     finer than Q8_0's, so f32 noise flips it 16 times as often, and these models amplify one flip to
//     ~3e-3 of the logit range: at position 0 of the 48-id sequence, layer 2's attn_v input has an
//     element 1e-3 of an f16 ulp from a rounding midpoint; rounding it the other way in the reference
//     brings that position to 1.1e-7 of llama.cpp's logits (from 2.6e-3).
// The --expert-type f32 file (below) has no MXFP4 and keeps every f32 bound.
const GPT_OSS_TOL = {f32: {"exact": {greedy: 0, forced: 24, logits: Infinity}, "llama-cpu": {logits: 2e-2}},
                     q8_0: {"exact": {forced: 20, ppl: 0.10}, "llama-cpu": {greedy: N_GREEDY, forced: N_GREEDY}},
                     f16: {"llama-cpu": {forced: 26}}};
for (const m of MODELS) if (m.arch === "gpt-oss") m.tol = GPT_OSS_TOL;
// glm4moe (per-head QK-norm, partial RoPE, sigmoid routing with the bias, a shared expert) and
// minimax-m2 (whole-projection QK-norm, partial RoPE, sigmoid routing): f32 measured 32/32 greedy
// and forced in both numerics, perplexity within 2.6e-7, logits 1.1e-5 of their range. q8_0 in
// exact numerics (no Q8_0 activations) measured 1.3% and 3.8% (glm4moe: the QK-norm weights carry
// synth's attention gain, so its attention is sharp and llama.cpp's activation rounding moves it
// more), forced 25 and 27 of 32: 6% and 20 forced. llama-cpu q8_0: perplexity within 5.6e-4, forced
// 31-32 (glm4moe's second sequence parts its own greedy run at token 15 on a near tie).
// mistral3 (YaRN with the file's betas and log multiplier, the attention temperature over a floor of
// 8) keeps the default bounds in every type: measured f32 32/32 greedy and forced in both numerics,
// perplexity within 1.9e-7, logits 4.3e-6 of their range; llama-cpu 32/32 in q8_0, f16 and q4_K
// (perplexity within 1.3e-8, 3.5e-5, 1.8e-4); exact q8_0 / q4_K perplexity within 0.31% / 0.51%.
const GLM_MINIMAX_TOL = {q8_0: {"exact": {ppl: 0.06, forced: 20}, "llama-cpu": {greedy: 14, forced: 30}}};
for (const m of MODELS) if (m.arch === "glm4moe" || m.arch === "minimax-m2") m.tol = GLM_MINIMAX_TOL;
// gemma3n (25 layers: past llama.cpp's fixed 20 KV layers, 4 sliding layers and a full one read layers
// 18 and 19's caches; the first 10 with the sparse gate; AltUp's 4 streams, LAuReL, per-layer inputs):
// the tiny model is deep and every layer has two GELUs (the FFN's and the per-layer input's), so
// llama.cpp's f16 GELU table (an input a few f32 ulps from an f16 rounding boundary takes the
// neighbouring entry) moves it more than the other archs: position 0 agrees to 7.5e-7 of the logit
// range in llama-cpu numerics (every piece but attention over several keys), the whole 96 ids to
// 2.3e-3 (exact: 1.5e-2), 32/32 greedy and forced tokens at f32 in both numerics, perplexity within
// 1e-4. Quantized files part sooner (measured forced tokens: q8_0 exact 21/19, llama-cpu 27/28; q4_K
// exact 15/18, llama-cpu 27/31; f16 32/30 and 31/32) while perplexity stays within 1.1%.
const GEMMA3N_TOL = {f32: {"exact": {logits: 3e-2}, "llama-cpu": {logits: 5e-3}},
                     q8_0: {"exact": {forced: 15}, "llama-cpu": {forced: 24}},
                     q4_K: {"exact": {forced: 12}, "llama-cpu": {forced: 24}},
                     f16: {"exact": {forced: 26}, "llama-cpu": {forced: 28}}};
for (const m of MODELS) if (m.arch === "gemma3n") m.tol = GEMMA3N_TOL;
// gpt-oss with f32 experts (--expert-type f32), no MXFP4 anywhere: f32's bounds. Measured 32/32
// greedy and forced in both numerics, perplexity within 7.5e-7, logits within 2.6e-5 of their range.
if (archs.includes("gpt-oss") && types.includes("f32"))
  MODELS.push({name: "gpt-oss-f32-experts-f32", type: "f32", synth: ["--arch", "gpt-oss", "--expert-type", "f32"]});
// deepseek2 in DeepSeek-V2-Lite's layout (a plain attn_q) and with the legacy fused attn_kv_b
if (archs.includes("deepseek2"))
  for (const type of typesFor("deepseek2"))
    for (const flag of ["--no-q-lora", "--legacy-kv-b"])
      MODELS.push({name: `deepseek2${flag.slice(1)}-${type}`, type, synth: ["--arch", "deepseek2", flag],
                   forms: MLA_FORMS, tol: DEEPSEEK2_TOL});
// kimi-linear with MLA heads of 48 (40 nope + 8 pe) over a latent row of 40 (kv_lora 32 + 8): the tiny
// model's heads are 40 wide, as wide as the row, which hides a softmax scaled by the row
// (key_length) instead of the head (key_length_mla)
if (archs.includes("kimi-linear") && types.includes("f32"))
  MODELS.push({name: "kimi-linear-head48-f32", arch: "kimi-linear", type: "f32",
               synth: ["--arch", "kimi-linear", "--head-dim", "48"], forms: MLA_FORMS});
if (archs.includes("llama"))
  for (const type of types)
    MODELS.push({name: `llama-3.2-small-${type}`, type,
                 synth: ["--preset", "llama-3.2-1b", "--n-layer", "2", "--n-embd", "128", "--n-head", "4",
                         "--n-head-kv", "2", "--head-dim", "32", "--n-ff", "256", "--n-vocab", "512"]});
// OLMo 3's sliding window (olmo2 with attention.sliding_window: 3 local layers, then a global one)
if (archs.includes("olmo2") && types.includes("f32"))
  MODELS.push({name: "olmo3-window-f32", type: "f32", synth: ["--arch", "olmo2", "--n-layer", "4", "--swa", "4"]});
// real layer shapes (Qwen3's 128-wide heads and Q wider than n_embd, Gemma 3's 256-wide heads
// and 4:1 GQA), one layer and a small vocabulary so the reference stays quick; f32 only
for (const [preset, arch] of [["qwen3-0.6b", "qwen3"], ["gemma3-1b", "gemma3"]])
  if (archs.includes(arch) && types.includes("f32"))
    MODELS.push({name: `${preset}-1layer-f32`, type: "f32",
                 synth: ["--preset", preset, "--n-layer", "1", "--n-vocab", "1024"]});
fs.mkdirSync(dir, {recursive: true});

// Token ids from a fixed LCG: the same "texts" on every run, spread over the vocabulary.
function ids(seed, n, nVocab) {
  let s = BigInt(seed) * 6364136223846793005n + 1442695040888963407n;
  const out = [];
  for (let i = 0; i < n; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    out.push(Number((s >> 33n) % BigInt(nVocab)));
  }
  return out;
}

function refRun(model, prompt, extra) {
  const out = execFileSync(ref, ["-m", model, "-p", prompt.join(","), ...extra],
                           {encoding: "utf8", maxBuffer: 1 << 28});
  return JSON.parse(out);
}

function logitsArray(map, nVocab) {
  const a = new Float64Array(nVocab).fill(-Infinity);
  for (const [t, l] of map) a[t] = l;
  return a;
}

// the first of equal maxima, as llama.cpp's greedy sampler and ref_generate
function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

function logProb(a, i) {
  const mx = a[argmax(a)];
  let sum = 0;
  for (const x of a) sum += Math.exp(x - mx);
  return a[i] - mx - Math.log(sum);
}

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, progressLogs: false,
                              logLevel: LlamaLogLevel.error, maxThreads: 1});

async function withSequence(model, fn) {
  const ctx = await model.createContext({contextSize: 256, threads: 1, flashAttention: false,
                                         experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
  try {
    return await fn(ctx.getSequence());
  } finally {
    await ctx.dispose();
  }
}

// llama.cpp's greedy continuation: prefill the prompt in one batch, then one token at a time
async function llamaGreedy(model, prompt, nVocab) {
  return withSequence(model, async (seq) => {
    const items = prompt.map((t, i) => (i === prompt.length - 1 ? [t, {generateNext: {logits: true}}] : t));
    let res = await seq.controlledEvaluate(items);
    let logits = logitsArray(res[prompt.length - 1].next.logits, nVocab);
    const out = [];
    for (let i = 0; i < N_GREEDY; i++) {
      const t = argmax(logits);
      out.push(t);
      if (i + 1 === N_GREEDY) break;
      res = await seq.controlledEvaluate([[t, {generateNext: {logits: true}}]]);
      logits = logitsArray(res[0].next.logits, nVocab);
    }
    return out;
  });
}

// every position's logits in one batch
async function llamaLogits(model, tokens, nVocab) {
  return withSequence(model, async (seq) => {
    const res = await seq.controlledEvaluate(tokens.map((t) => [t, {generateNext: {logits: true}}]));
    return res.map((r) => logitsArray(r.next.logits, nVocab));
  });
}

function perplexity(rows, tokens) {
  let nll = 0;
  for (let i = 0; i + 1 < tokens.length; i++) nll -= logProb(rows[i], tokens[i + 1]);
  return Math.exp(nll / (tokens.length - 1));
}

const failures = [];
for (const {name, type, synth, forms = [null], tol = {}} of MODELS) {
  {
    const modelPath = path.join(dir, `fwd-${name}.gguf`);
    execFileSync(vkllm, ["synth", ...synth, "--type", type, "--seed", "7", "-q", "-o", modelPath]);
    const model = await llama.loadModel({modelPath: path.resolve(modelPath), gpuLayers: 0});
    const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const report = {model: name};
    try {
      const greedy = [], seqs = [];
      for (const [seed, len] of [[1, 5], [2, 17]]) {
        const prompt = ids(seed, len, nVocab);
        greedy.push({seed, prompt, want: await llamaGreedy(model, prompt, nVocab)});
      }
      for (const [seed, len] of [[3, 48], [4, 96]]) {
        const tokens = ids(seed, len, nVocab);
        const rows = await llamaLogits(model, tokens, nVocab);
        seqs.push({seed, tokens, rows, want: perplexity(rows, tokens)});
      }
      for (const [numerics, base] of Object.entries(CHECKS[type] ?? CHECKS.q8_0))
        for (const form of numerics === "exact" ? forms : [null]) {
        const need = {...base, ...tol[type]?.[numerics]};
        const r = {greedy_same: [], forced_agree: [], ppl_rel: [], max_logit_diff: 0};
        const mode = form ? `${numerics}, ${form}` : numerics;
        const what = `${name} (${mode})`;
        const flags = ["--numerics", numerics, ...(form ? ["--mla", form] : [])];
        for (const g of greedy) {
          const got = refRun(modelPath, g.prompt, ["-n", String(N_GREEDY), ...flags]).tokens;
          let same = 0;
          while (same < N_GREEDY && got[same] === g.want[same]) same++;
          r.greedy_same.push(same);
          if (same < need.greedy)
            failures.push(`${what} prompt ${g.seed}: greedy tokens differ at step ${same}: ` +
                          `llama.cpp ${JSON.stringify(g.want)} reference ${JSON.stringify(got)}`);
          const path = [...g.prompt, ...g.want.slice(0, N_GREEDY - 1)];
          const rows = refRun(modelPath, path, ["--ppl", "--logits", ...flags]).logits;
          let agree = 0;
          for (let i = 0; i < N_GREEDY; i++) agree += argmax(rows[g.prompt.length - 1 + i]) === g.want[i];
          r.forced_agree.push(agree);
          if (agree < need.forced)
            failures.push(`${what} prompt ${g.seed}: following llama.cpp's tokens, only ${agree} of ${N_GREEDY} ` +
                          `greedy choices agree (need ${need.forced})`);
        }
        for (const q of seqs) {
          const out = refRun(modelPath, q.tokens, ["--ppl", "--logits", ...flags]);
          const rel = Math.abs(out.ppl / q.want - 1);
          r.ppl_rel.push(+rel.toExponential(2));
          for (let i = 0; i < q.tokens.length; i++) {
            let spread = 0, diff = 0;
            for (let j = 0; j < nVocab; j++) {
              spread = Math.max(spread, Math.abs(q.rows[i][j]));
              diff = Math.max(diff, Math.abs(q.rows[i][j] - out.logits[i][j]));
            }
            r.max_logit_diff = Math.max(r.max_logit_diff, diff / spread);
          }
          if (!(rel <= need.ppl))
            failures.push(`${what} sequence ${q.seed}: perplexity ${out.ppl} vs llama.cpp ${q.want} (${rel} > ${need.ppl})`);
        }
        if (!(r.max_logit_diff <= need.logits))
          failures.push(`${what}: logits differ by ${r.max_logit_diff} of their range (> ${need.logits})`);
        r.max_logit_diff = +r.max_logit_diff.toExponential(2);
        report[mode] = r;
      }
      report.ppl_llama_cpp = seqs.map((q) => +q.want.toFixed(3));
    } catch (e) {
      failures.push(`${name}: ${String(e.message ?? e).split("\n")[0]}`);
    }
    console.log(JSON.stringify(report));
    await model.dispose();
    fs.rmSync(modelPath, {force: true});
  }
}
try {
  fs.rmdirSync(dir); // only when empty: a failed run leaves nothing behind either
} catch {}
for (const f of failures) console.error(f);
process.exit(failures.length ? 1 : 0);
