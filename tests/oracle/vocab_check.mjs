// Oracle: a GGUF vocabulary written by vkllm (tests/loader/make_vocab_gguf, loader/vocab_hf.c) makes
// llama.cpp (node-llama-cpp 3.22.1, CPU, vocab only) tokenize like the Hugging Face tokenizer it came
// from (@lenml/tokenizers, a port of transformers.js). Each text is tokenized by llama.cpp with
// special-token parsing on (HF always parses added tokens) and by HF without added BOS/EOS.
//
// A mismatch that is a known llama.cpp-vs-HF difference (HF's NFC normalizer for qwen2 and llama.cpp's
// missing \p{M} in gpt-4o's regex, from shared/reference/gguf-tokenizer-chat-notes.md section 2.12;
// two more below that a converter-made GGUF shares) is reported as expected and does not fail the
// check. Anything else is printed with both token lists.
//
// usage: node vocab_check.mjs MODEL.gguf PACKAGE     (PACKAGE: qwen3 | llama3 | deepseek_v3 | gptoss | gemma3)
// exit 1 on any unexpected mismatch or failure.
import {fileURLToPath} from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const deps = path.join(here, "../deps/node_modules");
const {getLlama, LlamaLogLevel} = await import(path.join(deps, "node-llama-cpp/dist/index.js"));

const [modelPath, pkgArg] = process.argv.slice(2);
if (!modelPath || !pkgArg) {
  console.error("usage: node vocab_check.mjs MODEL.gguf PACKAGE");
  process.exit(2);
}
const pkg = pkgArg.replace(/^@lenml\/tokenizer-/, "");

// Chat-shaped text with each family's own special tokens.
const specialText = {
  qwen3: "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>{}</tool_call><|endoftext|>",
  llama3: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  deepseek_v3: "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi there<｜Assistant｜><think>\n</think>ok<｜end▁of▁sentence｜>",
  gptoss: "<|start|>system<|message|>Reasoning: low<|end|><|start|>user<|message|>Hi there<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>",
  gemma3: "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n<start_of_image><mask>",
};

// The texts, with the pre-tokenizers for which a difference is documented (notes section 2.12).
const texts = [
  {text: "Hello world! It's 2024."},
  {text: "I'm sure they'll say we've done it, isn't it? 'RE you sure? We'Ve a'lL"},
  {text: "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n"},
  {text: "3.14159 1234567 1,000,000 0x1F 33333333 3..3 3...3 1e-9"},
  {text: "我想在apple工作1314151天～ 日本語のテキストです。한국어 텍스트"},
  {text: "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙 👍🏽"},
  {text: "a  b   c\t\td\n\n\n  e    \n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n"},
  {text: specialText[pkg] ?? "<|im_start|>user"},
  {text: "Ünïcödé façade naïve — “quotes” … ñ ß Ωμέγα"},
  {text: "https://example.com/path?q=1&x=y#frag  <div class=\"x\">text</div> ------======= ......!!!!!!??????"},
  {text: " leading space, and trailing space "},
  {text: "нещо на Български مرحبا بالعالم שלום עולם"},
  {text: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa AAAAAAAAAAAA"},
  {text: "cafe\u0301 e\u0301te\u0301", documented: {qwen3: "HF normalizes to NFC (qwen3's NFC normalizer); llama.cpp does not"}},
  {text: "नमस्ते दुनिया", documented: {gptoss: "llama.cpp's gpt-4o regex has no \\p{M}: combining marks split words"}},
  // Not in section 2.12, found with this script; both come from llama.cpp or the converter, so a GGUF
  // made by convert_hf_to_gguf.py behaves the same:
  {text: "do not include </s> as an end", documented: {
    qwen3: "llama.cpp forces end-of-generation-looking texts (</s>) to CONTROL, so with special parsing on it is one token"}},
  {text: "spaces are replaced with \u2581 by the normalizer", documented: {
    gemma3: "the converter stores Gemma's user-defined \u2581-run tokens with spaces, so a literal \u2581\u2581\u2581 no longer merges"}},
];

const {fromPreTrained} = await import(path.join(deps, `@lenml/tokenizer-${pkg}/dist/main.mjs`));
const hf = fromPreTrained();
const llama = await getLlama({gpu: false, build: "never", skipDownload: true, progressLogs: false,
                              logLevel: LlamaLogLevel.error, maxThreads: 1});
// node-llama-cpp tries a full load first, which logs "missing tensor 'token_embd.weight'" for a
// vocabulary-only file before the vocab-only load succeeds.
let model;
try {
  model = await llama.loadModel({modelPath: path.resolve(modelPath), vocabOnly: true, gpuLayers: 0});
} catch (e) {
  console.error(`${modelPath}: llama.cpp could not load it: ${String(e.message ?? e).split("\n")[0]}`);
  process.exit(1);
}

let unexpected = 0, expected = 0, same = 0;
for (const {text, documented} of texts) {
  const ours = Array.from(model.tokenize(text, true));
  const theirs = Array.from(hf.encode(text, {add_special_tokens: false}));
  if (ours.length === theirs.length && ours.every((t, i) => t === theirs[i])) {
    same++;
    continue;
  }
  const why = documented?.[pkg];
  if (why) expected++;
  else unexpected++;
  console.log(`${why ? "EXPECTED" : "MISMATCH"} ${JSON.stringify(text)}${why ? ` (${why})` : ""}`);
  console.log(`  llama.cpp: [${ours.join(", ")}]`);
  console.log(`  HF:        [${theirs.join(", ")}]`);
}
const t = model.tokens;
console.log(JSON.stringify({model: modelPath, package: pkg, vocabulary: model.vocabularyType, texts: texts.length,
                            identical: same, expected_differences: expected, mismatches: unexpected,
                            bos: t.bos, eos: t.eos, eot: t.eot, add_bos: t.shouldPrependBosToken}));
await model.dispose();
process.exit(unexpected ? 1 : 0);
