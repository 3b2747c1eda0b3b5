// Oracle past Llama 4's fixed 8192s: its chunked attention (a query sees only its own 8192-token
// chunk, on the RoPE layers) and its NoPE layers' attention temperature (1 below position 8191,
// log(floor((pos + 1) / 8192) + 1) * 0.1 + 1 from there) start only there, and llama.cpp hard-codes
// both, so a text longer than 8192 tokens is the only way to see them against llama.cpp.
//
// The tiny llama4 model (f32, 4 layers: 3 chunked, 1 NoPE) on one text of N_TOK tokens (the chunk and
// the floor fall at 8192 and 8191, then 2000 tokens more), llama.cpp with an f32 KV cache in one
// context of N_TOK (node-llama-cpp 3.22.1, CPU, one thread, no flash attention):
//   reference  ref_generate --ppl --logits (float64, exact numerics) on the same ids: at every
//              position the largest logit difference relative to the row's largest |logit| within
//              1e-3 (f32 against float64 through 4 layers: the short oracle_forward sequences stay
//              near 1e-6; 9000 keys of f32 softmax sums give more room), and perplexity within 1e-3,
//              over all positions and over the positions from 8191 on.
//   vkllm      `vkllm perplexity -c N_TOK --cache-type f32 --json` on the GPU (lavapipe here), from
//              the text: the same ids (`vkllm tokenize`), perplexity within 1e-4 of llama.cpp's
//              (measured 5e-6). It reports one figure for the whole text, where the 2000 positions
//              past the border weigh a fifth: the reference without the temperature measured 0.26
//              of the logit range at position 9079, 0.33% on the tail's perplexity and 6.5e-4 on the
//              whole, so the bound is tight enough to see that much.
//
// usage: node long_check.mjs --vkllm BUILD/vkllm --ref BUILD/tests/ref_generate --dir WORKDIR
// exit 1 on any failure, with one line per failing check.
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const {getLlama, LlamaLogLevel} = await import(path.join(here, "../deps/node_modules/node-llama-cpp/dist/index.js"));

const BORDER = 8192, N_TOK = BORDER + 2000, LOGIT_TOL = 1e-3, PPL_TOL = 1e-3, VK_PPL_TOL = 1e-4;
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const vkllm = opt("--vkllm"), ref = opt("--ref"), dir = opt("--dir");
if (!vkllm || !ref || !dir) {
  console.error("usage: node long_check.mjs --vkllm VKLLM --ref REF_GENERATE --dir WORKDIR");
  process.exit(2);
}
fs.mkdirSync(dir, {recursive: true});
const run = (cmd, argv) => execFileSync(cmd, argv, {encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "pipe"]});
const failures = [];

const modelPath = path.resolve(dir, "long-llama4-f32.gguf");
run(vkllm, ["synth", "--arch", "llama4", "--type", "f32", "--seed", "7", "--ctx", "16384", "-q", "-o", modelPath]);

// a text of N_TOK tokens: words and numbers from a fixed LCG, tokenized by vkllm, then cut at
// N_TOK ids and decoded back by cutting the text where the ids say (the synthetic vocabulary is
// byte-level BPE, so the prefix of ids is the tokenization of some prefix only approximately:
// instead the text grows until it has at least N_TOK ids and the ids are taken as they are)
const WORDS = ["the", "chunk", "of", "attention", "layer", "token", "window", "expert", "routes", "a", "model",
               "Llama", "Scout", "sees", "only", "its", "own", "keys", "and", "temperature", "rises", "past"];
let s = 12345n, text = "";
const next = () => (s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn, Number(s >> 33n));
let ids = [];
while (ids.length < N_TOK) {
  for (let i = 0; i < 300; i++) text += (next() % 7 === 0 ? String(next() % 1000) : WORDS[next() % WORDS.length]) + (next() % 11 === 0 ? ".\n" : " ");
  fs.writeFileSync(path.join(dir, "long.txt"), text);
  ids = JSON.parse(run(vkllm, ["tokenize", "-m", modelPath, "-f", path.join(dir, "long.txt")]));
}
const nTok = ids.length;
console.log(`# ${nTok} tokens of text (chunk border at ${BORDER})`);

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, progressLogs: false,
                              logLevel: LlamaLogLevel.error, maxThreads: 1});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const ctx = await model.createContext({contextSize: nTok, batchSize: 512, threads: 1, flashAttention: false,
                                       experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
const res = await ctx.getSequence().controlledEvaluate(ids.map((t) => [t, {generateNext: {logits: true}}]));
const rows = res.map((r) => {
  const a = new Float64Array(nVocab).fill(-Infinity);
  for (const [t, l] of r.next.logits) a[t] = l;
  return a;
});
await ctx.dispose();
await model.dispose();

function nll(row, want) {
  let mx = -Infinity;
  for (const x of row) mx = Math.max(mx, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - mx);
  return -(row[want] - mx - Math.log(sum));
}
// perplexity over the predictions made at positions [from, to)
function ppl(get, from, to) {
  let s = 0;
  for (let i = from; i < to; i++) s += nll(get(i), ids[i + 1]);
  return Math.exp(s / (to - from));
}
const want = ppl((i) => rows[i], 0, nTok - 1), wantTail = ppl((i) => rows[i], BORDER - 1, nTok - 1);

// the reference, position by position
const out = JSON.parse(run(ref, ["-m", modelPath, "-p", ids.join(","), "--ppl", "--logits", "--numerics", "exact"]));
let worst = 0, at = 0;
for (let i = 0; i < nTok; i++) {
  let spread = 0, diff = 0;
  for (let j = 0; j < nVocab; j++) {
    spread = Math.max(spread, Math.abs(rows[i][j]));
    diff = Math.max(diff, Math.abs(rows[i][j] - out.logits[i][j]));
  }
  if (diff / spread > worst) worst = diff / spread, at = i;
}
const refPpl = ppl((i) => out.logits[i], 0, nTok - 1), refTail = ppl((i) => out.logits[i], BORDER - 1, nTok - 1);
const report = {tokens: nTok, ppl_llama_cpp: +want.toFixed(4), ppl_tail_llama_cpp: +wantTail.toFixed(4),
                reference: {max_logit_diff: +worst.toExponential(2), at, ppl_rel: +Math.abs(refPpl / want - 1).toExponential(2),
                            ppl_tail_rel: +Math.abs(refTail / wantTail - 1).toExponential(2)}};
if (!(worst <= LOGIT_TOL)) failures.push(`reference: logits differ from llama.cpp's by ${worst} of their range at position ${at} (> ${LOGIT_TOL})`);
if (!(Math.abs(refPpl / want - 1) <= PPL_TOL) || !(Math.abs(refTail / wantTail - 1) <= PPL_TOL))
  failures.push(`reference: perplexity ${refPpl} (from ${BORDER - 1}: ${refTail}) against llama.cpp's ${want} (${wantTail})`);

// vkllm on the GPU, from the text, in one window
const vk = JSON.parse(run(vkllm, ["perplexity", "-m", modelPath, "-f", path.join(dir, "long.txt"), "-c", String(nTok),
                                  "--cache-type", "f32", "--json"]));
report.vkllm = {tokens: vk.tokens, ppl_rel: +Math.abs(vk.ppl / want - 1).toExponential(2)};
if (vk.tokens !== nTok) failures.push(`vkllm perplexity scored a text of ${vk.tokens} tokens, vkllm tokenize gave ${nTok}`);
if (!(Math.abs(vk.ppl / want - 1) <= VK_PPL_TOL)) failures.push(`vkllm: perplexity ${vk.ppl} against llama.cpp's ${want}`);

console.log(JSON.stringify(report));
fs.rmSync(dir, {recursive: true, force: true});
for (const f of failures) console.error(f);
process.exit(failures.length ? 1 : 0);
