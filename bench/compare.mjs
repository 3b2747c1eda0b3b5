// bench/compare: vkllm against llama.cpp on the same synthesized models, in one run, alternately.
//
//   node bench/compare.mjs [--models qwen3-0.6b:q8_0,...] [-p 64] [-n 32] [-r 3] [--vulkan] [--out FILE]
//
// For each model: `vkllm bench -m M --json` (vkllm on its chosen Vulkan device), llama.cpp's CPU
// backend (node-llama-cpp 3.22.1 prebuilt, 2 threads unless -t) and, with --vulkan, llama.cpp's
// own Vulkan backend on the same device (GGML_VK_VISIBLE_DEVICES=0), through bench/llama_speed.mjs.
// The three run one after the other per repetition round, so a noisy machine hurts all of them
// alike. Writes a markdown table of tokens/s and ratios (vkllm over llama.cpp) with device, driver,
// commit and date to --out (default bench/compare-latest.md) and to stdout, and the ratios as an
// SVG bar chart beside it (the same name, .svg).
// Models are written by `vkllm synth` into bench/models/ (kept between runs; not in git):
// NAME:TYPE[:LAYERS], NAME a synth preset, LAYERS a reduced layer count (said in the table).
//
// Needs build/vkllm (scripts/run.sh or cmake builds it) and tests/deps (bash tests/deps/install.sh).
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const models = opt("--models", "qwen3-0.6b:q8_0").split(",");
const P = opt("-p", "64"), N = opt("-n", "32"), R = Number(opt("-r", "3")), T = opt("-t", "2");
const withVulkan = args.includes("--vulkan");
const out = opt("--out", path.join(here, "compare-latest.md"));
const vkllm = path.join(root, "build/vkllm");
if (!fs.existsSync(vkllm)) {
  console.error("bench/compare: build/vkllm is missing; build first (scripts/run.sh or cmake -B build && cmake --build build)");
  process.exit(2);
}
if (!fs.existsSync(path.join(root, "tests/deps/node_modules/node-llama-cpp/package.json"))) {
  console.error("bench/compare: llama.cpp is missing; run `bash tests/deps/install.sh`");
  process.exit(2);
}

const run = (cmd, argv, env = {}) =>
  execFileSync(cmd, argv, {encoding: "utf8", maxBuffer: 1 << 26, env: {...process.env, ...env},
                           stdio: ["ignore", "pipe", "inherit"]});
const lastJson = (text) => JSON.parse(text.trim().split("\n").pop());

fs.mkdirSync(path.join(here, "models"), {recursive: true});
const rows = [];
let device = "", driver = "";
for (const spec of models) {
  const [preset, type, layers] = spec.split(":");
  const file = path.join(here, "models", `${preset}-${type}${layers ? `-${layers}l` : ""}.gguf`);
  if (!fs.existsSync(file)) {
    console.error(`synthesizing ${path.basename(file)}`);
    run(vkllm, ["synth", "--preset", preset, "--type", type, "-q", "-o", file, ...(layers ? ["--n-layer", layers] : [])]);
  }
  const res = {vk: [], cpu: [], vulkan: []};
  for (let r = 0; r < R; r++) {
    console.error(`${path.basename(file)}: round ${r + 1} of ${R}`);
    const v = lastJson(run(vkllm, ["bench", "-m", file, "-p", P, "-n", N, "-r", "1", "--json"]));
    device = v.device, driver = v.driver;
    res.vk.push(v);
    res.cpu.push(lastJson(run("node", [path.join(here, "llama_speed.mjs"), "-m", file, "--backend", "cpu", "-p", P, "-n", N,
                                      "-t", T, "-r", "1"])));
    // llama.cpp's Vulkan backend on lavapipe crashes on some models (SIGSEGV on the Qwen3-30B-A3B
    // shapes with node-llama-cpp 3.22.1): the table says so instead of losing the whole run
    if (withVulkan && !res.vulkanFailed) {
      try {
        res.vulkan.push(lastJson(run("node", [path.join(here, "llama_speed.mjs"), "-m", file, "--backend", "vulkan", "-p", P,
                                             "-n", N, "-t", T, "-r", "1"], {GGML_VK_VISIBLE_DEVICES: process.env.GGML_VK_VISIBLE_DEVICES ?? "0"})));
      } catch (e) {
        res.vulkanFailed = e.signal ? `crashed (${e.signal})` : `failed (exit ${e.status})`;
        console.error(`${path.basename(file)}: llama.cpp Vulkan ${res.vulkanFailed}; its columns say so`);
      }
    }
  }
  const mean = (a, k) => (a.length ? a.reduce((s, x) => s + x[k], 0) / a.length : NaN);
  rows.push({model: `${preset}${layers ? ` (${layers} layers)` : ""}`, type,
             vk_pp: mean(res.vk, "pp_tps"), vk_tg: mean(res.vk, "tg_tps"),
             cpu_pp: mean(res.cpu, "pp_tps"), cpu_tg: mean(res.cpu, "tg_tps"),
             vul_pp: withVulkan && !res.vulkanFailed ? mean(res.vulkan, "pp_tps") : NaN,
             vul_tg: withVulkan && !res.vulkanFailed ? mean(res.vulkan, "tg_tps") : NaN, vul_note: res.vulkanFailed});
}

let commit = "?";
try {
  commit = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], {encoding: "utf8"}).trim();
} catch {}
const f = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : "–");
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(3)}x` : "–");
let md = `vkllm ${commit} against llama.cpp (node-llama-cpp 3.22.1), ${new Date().toISOString().slice(0, 10)}.\n` +
         `Device: ${device} (${driver}); host ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}); ` +
         `llama.cpp CPU with ${T} threads${withVulkan ? "; llama.cpp Vulkan on the same device" : ""}. ` +
         `pp${P} and tg${N} tokens/s, mean of ${R} alternating rounds; synthesized models (random weights, real shapes).\n\n` +
         `| model | type | vkllm pp | llama.cpp CPU pp | ratio | vkllm tg | llama.cpp CPU tg | ratio |` +
         (withVulkan ? ` llama.cpp Vulkan pp | ratio | llama.cpp Vulkan tg | ratio |` : "") + "\n" +
         `|---|---|---|---|---|---|---|---|` + (withVulkan ? `---|---|---|---|` : "") + "\n";
for (const r of rows)
  md += `| ${r.model} | ${r.type} | ${f(r.vk_pp)} | ${f(r.cpu_pp)} | ${ratio(r.vk_pp, r.cpu_pp)} | ${f(r.vk_tg)} | ${f(r.cpu_tg)} | ` +
        `${ratio(r.vk_tg, r.cpu_tg)} |` +
        (withVulkan ? (r.vul_note ? ` ${r.vul_note} | – | ${r.vul_note} | – |`
                                  : ` ${f(r.vul_pp)} | ${ratio(r.vk_pp, r.vul_pp)} | ${f(r.vul_tg)} | ${ratio(r.vk_tg, r.vul_tg)} |`) : "") + "\n";
// the ratios as a chart beside the table: one bar per model and test, on a log scale (ratios
// span 0.001x to 10x), with the 1x line where vkllm equals the peer
function chart(rows) {
  const bars = [];
  for (const r of rows) {
    bars.push({label: `${r.model} ${r.type} pp vs CPU`, v: r.vk_pp / r.cpu_pp});
    bars.push({label: `${r.model} ${r.type} tg vs CPU`, v: r.vk_tg / r.cpu_tg});
    if (withVulkan) {
      bars.push({label: `${r.model} ${r.type} pp vs Vulkan`, v: r.vk_pp / r.vul_pp});
      bars.push({label: `${r.model} ${r.type} tg vs Vulkan`, v: r.vk_tg / r.vul_tg});
    }
  }
  const W = 760, left = 260, right = 20, top = 40, bh = 22, H = top + bars.length * bh + 40;
  const lo = -3, hi = 1; // 0.001x .. 10x
  const x = (v) => left + ((Math.log10(Math.min(Math.max(v, 10 ** lo), 10 ** hi)) - lo) / (hi - lo)) * (W - left - right);
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n` +
            `<rect width="${W}" height="${H}" fill="white"/>\n` +
            `<text x="${left}" y="20" font-size="14">vkllm / llama.cpp tokens per second (log scale; right of 1x: vkllm faster)</text>\n`;
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e);
    svg += `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${H - 30}" stroke="${e === 0 ? "#000" : "#ccc"}"/>` +
           `<text x="${gx}" y="${H - 14}" text-anchor="middle">${10 ** e}x</text>\n`;
  }
  bars.forEach((b, i) => {
    const y = top + i * bh, v = Number.isFinite(b.v) ? b.v : 0;
    svg += `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>` +
           `<rect x="${x(10 ** lo)}" y="${y + 4}" width="${Math.max(1, x(v) - x(10 ** lo))}" height="${bh - 8}" ` +
           `fill="${v >= 1 ? "#2a7" : "#c55"}"/>` +
           `<text x="${x(v) + 4}" y="${y + 15}">${v ? v.toFixed(3) + "x" : "–"}</text>\n`;
  });
  return svg + "</svg>\n";
}
const svgPath = out.replace(/\.md$/, "") + ".svg";
fs.writeFileSync(svgPath, chart(rows));
md += `\n![ratios](${path.basename(svgPath)})\n`;
fs.writeFileSync(out, md);
process.stdout.write(md);
