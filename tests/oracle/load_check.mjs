// Oracle: llama.cpp (node-llama-cpp 3.22.1, CPU, prebuilt binaries) loads a GGUF written by
// `vkllm synth` and generates from it. Proves the file follows llama.cpp's conventions (keys,
// tensor names and shapes, vocabulary) and that the random weights make a live model: greedy
// decoding must not collapse to one repeated token.
//
// usage: node load_check.mjs MODEL.gguf [MODEL.gguf ...]
// prints one JSON line per model: {"model", "arch", "tokens": [...], "distinct": N}
// exit 1 on any failure, with a one-line reason.
import {fileURLToPath} from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const {getLlama, LlamaLogLevel} = await import(path.join(here, "../deps/node_modules/node-llama-cpp/dist/index.js"));

const N_GENERATE = 24;
const MIN_DISTINCT = 4; // a live random model wanders; a dead one repeats itself

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, progressLogs: false,
                              logLevel: LlamaLogLevel.error, maxThreads: 1});
let failed = false;
for (const modelPath of process.argv.slice(2)) {
  try {
    const model = await llama.loadModel({modelPath: path.resolve(modelPath), gpuLayers: 0});
    const ctx = await model.createContext({contextSize: 256, threads: 1});
    const seq = ctx.getSequence();
    let prompt = model.tokenize("The quick brown fox jumps over the lazy dog. Once upon a time", false);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) prompt = [model.tokens.bos, ...prompt];
    const out = [];
    for await (const t of seq.evaluate(prompt, {temperature: 0, yieldEogToken: true})) {
      out.push(t);
      if (out.length >= N_GENERATE) break;
    }
    const distinct = new Set(out).size;
    const arch = model.fileInfo.metadata.general.architecture;
    console.log(JSON.stringify({model: modelPath, arch, prompt_tokens: prompt.length, tokens: out, distinct}));
    if (out.length < N_GENERATE) {
      console.error(`${modelPath}: generation stopped after ${out.length} tokens`);
      failed = true;
    } else if (distinct < MIN_DISTINCT) {
      console.error(`${modelPath}: degenerate output, only ${distinct} distinct tokens in ${out.length}`);
      failed = true;
    }
    await ctx.dispose();
    await model.dispose();
  } catch (e) {
    console.error(`${modelPath}: llama.cpp failed: ${String(e.message ?? e).split("\n")[0]}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
