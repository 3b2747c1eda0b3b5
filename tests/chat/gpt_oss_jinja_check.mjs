// Oracle: the prompt `vkllm chat --reasoning-effort` writes for gpt-oss, against gpt-oss's own Jinja
// template (llama.cpp's models/templates/openai-gpt-oss-120b.jinja) rendered by llama.cpp's Jinja
// engine (common/jinja, which llama-cli and llama-server run by default), reached through
// node-llama-cpp 3.22.1's AddonJinjaRenderer binding. node-llama-cpp has no binding for
// llama_chat_apply_template, so llama.cpp's built-in form itself is checked against strings derived
// from src/llama-chat.cpp (test_chat_template.c).
//
// vkllm writes the template's system block (with reasoning_effort) and its developer message as the
// first two messages of the built-in form, so:
//  - a first turn (system block, developer message, user message, generation prompt) is identical
//    to the Jinja template's, for each effort, with and without a system text;
//  - over several turns the two agree up to the first earlier answer, where the built-in form writes
//    "<|start|>assistant<|message|>C<|return|>" and the Jinja template
//    "<|start|>assistant<|channel|>final<|message|>C<|end|>": checked as the one known difference.
//
// usage: node gpt_oss_jinja_check.mjs TEST_CHAT_TEMPLATE_BINARY LLAMA_CPP_DIR     (exit 1 on a mismatch)
import {fileURLToPath} from "node:url";
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const deps = path.join(here, "../deps/node_modules");
const {getLlama, LlamaLogLevel} = await import(path.join(deps, "node-llama-cpp/dist/index.js"));

const [bin, llamaDir] = process.argv.slice(2);
if (!bin || !llamaDir) {
  console.error("usage: node gpt_oss_jinja_check.mjs TEST_CHAT_TEMPLATE_BINARY LLAMA_CPP_DIR");
  process.exit(2);
}
const llama = await getLlama({gpu: false, logLevel: LlamaLogLevel.error});
const source = fs.readFileSync(path.join(llamaDir, "models/templates/openai-gpt-oss-120b.jinja"), "utf8");
const jinja = new llama._bindings.AddonJinjaRenderer(source);

function jinjaPrompt(effort, system, turns) {
  const messages = [];
  if (system) messages.push({role: "system", content: system});
  turns.forEach((content, i) => messages.push({role: i % 2 ? "assistant" : "user", content}));
  return jinja.render({messages, add_generation_prompt: true, reasoning_effort: effort, bos_token: "", eos_token: ""});
}

function vkllmPrompt(effort, date, system, turns) {
  return execFileSync(bin, ["--gpt-oss-prompt", effort, date, system, ...turns], {encoding: "utf8"});
}

let failed = 0, passed = 0;
function expect(ok, what, a, b) {
  if (ok) { passed++; return; }
  failed++;
  console.error(`FAIL ${what}\n vkllm [${JSON.stringify(a)}]\n jinja [${JSON.stringify(b)}]`);
}

const systems = ["", "You are terse.", "Answer in French.\nUse one sentence."];
for (const effort of ["low", "medium", "high"]) {
  for (const system of systems) {
    const turn = ["What is 2+2?"];
    const want = jinjaPrompt(effort, system, turn);
    const date = /Current date: (\S+)\n/.exec(want)?.[1]; // the template's strftime_now, read back
    const got = vkllmPrompt(effort, date ?? "?", system, turn);
    expect(got === want, `first turn, effort ${effort}, system ${JSON.stringify(system)}`, got, want);
  }
}

// several turns: identical up to the first answer; then the one known difference
{
  const turns = ["Hi", "Hello!", "2+2?", "4", "Thanks"];
  const want = jinjaPrompt("high", "You are terse.", turns);
  const date = /Current date: (\S+)\n/.exec(want)?.[1];
  const got = vkllmPrompt("high", date ?? "?", "You are terse.", turns);
  const builtin = got.replaceAll("<|start|>assistant<|message|>", "<|start|>assistant<|channel|>final<|message|>")
    .replaceAll("<|return|>", "<|end|>");
  const cut = got.indexOf("<|start|>assistant<|message|>");
  expect(cut > 0 && got.slice(0, cut) === want.slice(0, cut), "several turns, up to the first answer", got, want);
  expect(builtin === want, "several turns, answers as the built-in form writes them (no channel, <|return|>)", got, want);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
