// llama.cpp's token ids for the tokenizer corpus, the witness vkllm's tokenizer is compared with
// (tests/tokenizer/tokenizer_oracle.cmake runs this, then vkllm). llama.cpp is node-llama-cpp 3.22.1
// on the CPU, vocabulary only.
//
// usage: node tokenizer_oracle.mjs MODEL.gguf CORPUS OUTDIR
// CORPUS is in llama.cpp's fixture format (texts separated by "\n__ggml_vocab_test__\n"). Writes:
//   OUTDIR/special.out  one line per text: llama_tokenize(add_special=true, parse_special=true)
//                       (node-llama-cpp never adds BOS/EOS itself: they are added here as the
//                       model's add_bos/add_eos say, which is what add_special does)
//   OUTDIR/plain.out    one line per text: add_special=false, parse_special=false
//   OUTDIR/whole.json   the whole corpus as one text, add_special and parse_special on, as a
//                       JSON array (the format `vkllm tokenize` prints)
//   OUTDIR/detok.txt    llama.cpp's own detokenize(whole ids) for the record
import {readFileSync, writeFileSync, mkdirSync} from "node:fs";
import {fileURLToPath} from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const deps = path.join(here, "../deps/node_modules");
const {getLlama, LlamaLogLevel} = await import(path.join(deps, "node-llama-cpp/dist/index.js"));

const [modelPath, corpusPath, outDir] = process.argv.slice(2);
if (!modelPath || !corpusPath || !outDir) {
  console.error("usage: node tokenizer_oracle.mjs MODEL.gguf CORPUS OUTDIR");
  process.exit(2);
}
mkdirSync(outDir, {recursive: true});

// Texts are bytes: split the raw file so nothing is re-encoded on the way.
const raw = readFileSync(corpusPath);
const sep = Buffer.from("\n__ggml_vocab_test__\n");
const texts = [];
for (let pos = 0; pos < raw.length;) {
  const next = raw.indexOf(sep, pos);
  if (next < 0) {
    texts.push(raw.subarray(pos).toString("utf8"));
    break;
  }
  texts.push(raw.subarray(pos, next).toString("utf8"));
  pos = next + sep.length;
}

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, progressLogs: false,
                              logLevel: LlamaLogLevel.error, maxThreads: 1});
const model = await llama.loadModel({modelPath: path.resolve(modelPath), vocabOnly: true, gpuLayers: 0});
const t = model.tokens;
const withSpecial = (ids) => {
  const out = Array.from(ids);
  if (t.shouldPrependBosToken && t.bos != null) out.unshift(t.bos);
  if (t.shouldAppendEosToken && t.eos != null) out.push(t.eos);
  return out;
};

const special = texts.map((s) => withSpecial(model.tokenize(s, true)).join(" "));
const plain = texts.map((s) => Array.from(model.tokenize(s, false)).join(" "));
const whole = withSpecial(model.tokenize(raw.toString("utf8"), true));
writeFileSync(path.join(outDir, "special.out"), special.join("\n") + "\n");
writeFileSync(path.join(outDir, "plain.out"), plain.join("\n") + "\n");
writeFileSync(path.join(outDir, "whole.json"), JSON.stringify(whole) + "\n");
writeFileSync(path.join(outDir, "detok.txt"), model.detokenize(whole, true));
console.log(JSON.stringify({model: modelPath, texts: texts.length, whole_tokens: whole.length,
                            vocabulary: model.vocabularyType, bos: t.bos, eos: t.eos,
                            add_bos: t.shouldPrependBosToken, add_eos: t.shouldAppendEosToken}));
await model.dispose();
