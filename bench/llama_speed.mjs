// llama.cpp's prefill and decode speed on a GGUF, through node-llama-cpp 3.22.1 (tests/deps):
// the peer vkllm's bench compares against. One JSON object on stdout:
//   {"backend":"cpu"|"vulkan","pp_tps":..,"tg_tps":..,"pp_tokens":P,"tg_tokens":N,"threads":T}
// Prefill: P tokens in one batch (one evaluate call); decode: N single-token evaluates after it,
// greedy on the logits llama.cpp returns. Best of -r repetitions, each on a fresh sequence.
//
// usage: node bench/llama_speed.mjs -m MODEL [--backend cpu|vulkan] [-p 512] [-n 64] [-t 2] [-r 2]
// On lavapipe the Vulkan backend needs GGML_VK_VISIBLE_DEVICES=0 (set here when not set).
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const modelPath = opt("-m");
if (!modelPath) {
  console.error("usage: node bench/llama_speed.mjs -m MODEL [--backend cpu|vulkan] [-p 512] [-n 64] [-t 2] [-r 2]");
  process.exit(2);
}
const backend = opt("--backend", "cpu"), P = Number(opt("-p", "512")), N = Number(opt("-n", "64"));
const threads = Number(opt("-t", "2")), reps = Number(opt("-r", "2"));
if (backend === "vulkan" && !process.env.GGML_VK_VISIBLE_DEVICES) process.env.GGML_VK_VISIBLE_DEVICES = "0";
const {getLlama, LlamaLogLevel} = await import(path.join(here, "../tests/deps/node_modules/node-llama-cpp/dist/index.js"));

const llama = await getLlama({gpu: backend === "vulkan" ? "vulkan" : false, build: "never", skipDownload: true,
                              progressLogs: false, logLevel: LlamaLogLevel.error, maxThreads: threads});
const model = await llama.loadModel({modelPath: path.resolve(modelPath), gpuLayers: backend === "vulkan" ? "max" : 0});
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const tokens = [];
for (let i = 0; i < P; i++) tokens.push((i * 7919 + 13) % nVocab);

let best = {pp: 0, tg: 0};
for (let r = 0; r < reps; r++) {
  const ctx = await model.createContext({contextSize: P + N + 16, batchSize: Math.max(P, 1), threads});
  const seq = ctx.getSequence();
  let t0 = performance.now();
  const items = tokens.map((t, i) => (i === P - 1 ? [t, {generateNext: {logits: true}}] : t));
  let res = await seq.controlledEvaluate(items);
  const pp = P / ((performance.now() - t0) / 1000);
  let next = 0;
  t0 = performance.now();
  for (let i = 0; i < N; i++) {
    res = await seq.controlledEvaluate([[next, {generateNext: {token: true}}]]);
    next = res[0]?.next?.token ?? 0;
  }
  const tg = N / ((performance.now() - t0) / 1000);
  best = {pp: Math.max(best.pp, pp), tg: Math.max(best.tg, tg)};
  await ctx.dispose();
}
console.log(JSON.stringify({backend, pp_tps: best.pp, tg_tps: best.tg, pp_tokens: P, tg_tokens: N, threads}));
await model.dispose();
await llama.dispose();
