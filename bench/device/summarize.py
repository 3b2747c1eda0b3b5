#!/usr/bin/env python3
"""Turns what bench/device/run.sh collected (its work folder) into one JSON and one markdown table,
committed as bench/device/latest.json and latest.md: the device, driver, commit and date; the copy,
FMA and matrix peaks; each kernel's time and share of its peak; the tile sweeps; and per model and
test vkllm's and llama.cpp's (Vulkan) tokens per second with vkllm's decode GB/s.

usage: summarize.py WORK_DIR OUT.json OUT.md   (standard library only: it runs on the lent machine)
"""
import glob
import json
import os
import re
import sys


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def load_json(path):
    """a program's JSON output, or None when the program failed or wrote none"""
    text = read(path)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def tests(work):
    rows = []
    for line in read(os.path.join(work, "tests.txt")).splitlines():
        m = re.match(r"(\S+)\s+rc=(\d+)\s+(\d+)s\s*(.*)", line)
        if m:
            rows.append({"name": m[1], "rc": int(m[2]), "seconds": int(m[3]), "last_line": m[4]})
    return rows


def share(row):
    """the kernel's share of the peak it is judged by, and that peak's name"""
    for key in ("pct_matrix", "pct_fma", "pct_copy"):
        if key in row:
            return row[key], key[4:]
    return None, None


def llama_tests(result):
    """llama-bench -o json: one object per test; n_prompt > 0 is pp, n_gen > 0 is tg"""
    out = {}
    for t in result or []:
        key = "pp" if t.get("n_prompt", 0) > 0 else "tg"
        out[key] = {"tps": t.get("avg_ts"), "sd": t.get("stddev_ts")}
        out["gpu"] = t.get("gpu_info")
        out["build"] = t.get("build_commit")
        out["flash_attn"] = t.get("flash_attn")
    return out


def models(work, copy_gbs, dispatch_us):
    rows = []
    for spec in read(os.path.join(work, "specs.txt")).split():
        name = spec.replace(":", "-")
        v = load_json(os.path.join(work, "models", name + ".vkllm.json"))
        ll = llama_tests(load_json(os.path.join(work, "models", name + ".llama.json")))
        if v is None and not ll:
            continue
        row = {"spec": spec}
        if v:
            row.update({"model": v.get("model"), "type": v.get("type"), "n_layer": v.get("n_layer"),
                        "weights_bytes": v.get("weights_bytes"), "decode_bytes": v.get("decode_bytes")})
            row["vkllm"] = {"pp_tps": v.get("pp_tps"), "pp_sd": v.get("pp_sd"), "tg_tps": v.get("tg_tps"),
                            "tg_sd": v.get("tg_sd"), "tg_gbs": v.get("tg_gbs"),
                            "tg_pct_copy": 100 * v["tg_gbs"] / copy_gbs if copy_gbs and v.get("tg_gbs") else None}
            # the decode loop: wall time a token, the GPU's step from first command to last, the
            # rest (the GPU waiting on the host), and inside the step an estimate of the idle at
            # barriers (their count times a dependent dispatch's cost from bench --kernels)
            if "tg_wall_us" in v:
                row["decode_loop"] = {k: v.get("tg_" + k) for k in ("wall_us", "gpu_us", "host_us", "dispatches", "barriers")}
                if dispatch_us:
                    row["decode_loop"]["barrier_idle_us_est"] = v["tg_barriers"] * dispatch_us
        else:
            row["vkllm_error"] = read(os.path.join(work, "models", name + ".vkllm.err"))[-300:]
        if ll:
            row["llama_cpp_vulkan"] = {"pp_tps": ll.get("pp", {}).get("tps"), "pp_sd": ll.get("pp", {}).get("sd"),
                                       "tg_tps": ll.get("tg", {}).get("tps"), "tg_sd": ll.get("tg", {}).get("sd"),
                                       "gpu": ll.get("gpu"), "build": ll.get("build"), "flash_attn": ll.get("flash_attn")}
        else:
            row["llama_cpp_error"] = read(os.path.join(work, "models", name + ".llama.err"))[-300:]
        if v and ll:
            ratio = {}
            for t in ("pp", "tg"):
                a, b = row["vkllm"].get(t + "_tps"), row["llama_cpp_vulkan"].get(t + "_tps")
                ratio[t] = a / b if a and b else None
            row["ratio"] = ratio
        rows.append(row)
    return rows


def sweeps(work):
    out = {}
    for path in sorted(glob.glob(os.path.join(work, "sweep", "*.json"))):
        kind, tile = os.path.basename(path)[:-5].split("-", 1)
        data = load_json(path)
        if data:
            out.setdefault(kind, {})[tile] = [
                {"type": k["type"], "shape": k["shape"], "ms": k["ms"], "pct": share(k)[0], "of": share(k)[1]}
                for k in data.get("kernels", [])]
    return out


def summarize(work):
    kernels = load_json(os.path.join(work, "kernels.json")) or {}
    gpu = read(os.path.join(work, "gpu.txt")).split(", ")
    peaks = {k: kernels[k] for k in kernels if k.endswith(("_gbs", "_gflops", "_gops")) and k != "kernels"}
    t = tests(work)
    return {
        "device": gpu[0] if gpu[0] else kernels.get("device"),
        "nvidia_driver": gpu[1] if len(gpu) > 1 else None,
        "vulkan_device": kernels.get("device"),
        "vulkan_driver": kernels.get("driver"),
        "commit": " ".join(read(os.path.join(work, "commit.txt")).split("\n")),
        "date": read(os.path.join(work, "date.txt")),
        "host_cores": read(os.path.join(work, "nproc.txt")),
        "peaks": peaks,
        "tests": t,
        # exit 77: the test does not apply to this device (CTest's skip code, e.g. no coopmat)
        "tests_failed": [x["name"] for x in t if x["rc"] not in (0, 77)],
        "tests_skipped": [x["name"] for x in t if x["rc"] == 77],
        "kernels": kernels.get("kernels", []),
        "sweeps": sweeps(work),
        "dependent_dispatch_us": kernels.get("dependent_dispatch_us"),
        "models": models(work, kernels.get("copy_gbs"), kernels.get("dependent_dispatch_us")),
        "models_skipped": read(os.path.join(work, "skipped.txt")).split(),
    }


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(s):
    lines = [f"# vkllm on {s['device']} ({s['date']})", "",
             f"Commit {s['commit']}; Vulkan driver {s['vulkan_driver']}"
             + (f", NVIDIA driver {s['nvidia_driver']}" if s["nvidia_driver"] else "")
             + ". Made by bench/device/run.sh and summarize.py.", ""]
    p = s["peaks"]
    if p:
        lines.append("Peaks measured by vkllm's own shaders: " + ", ".join(
            f"{k.rsplit('_', 1)[0]} {v:.0f} {k.rsplit('_', 1)[1].replace('gbs', 'GB/s').replace('gflops', 'GFLOP/s').replace('gops', 'GOP/s')}"
            for k, v in p.items()) + ".")
        lines.append("")
    if s["models"]:
        lines += ["| model | type | layers | test | vkllm t/s | llama.cpp Vulkan t/s | vkllm / llama.cpp | vkllm decode GB/s (% of copy) |",
                  "|---|---|---|---|---|---|---|---|"]
        for m in s["models"]:
            v, ll, r = m.get("vkllm", {}), m.get("llama_cpp_vulkan", {}), m.get("ratio", {})
            for t, label in (("pp", "pp512"), ("tg", "tg128")):
                gbs = f"{fmt(v.get('tg_gbs'), 0)} ({fmt(v.get('tg_pct_copy'))}%)" if t == "tg" and v else ""
                lines.append(f"| {m['spec'].split(':')[0]} | {m.get('type', '')} | {m.get('n_layer', '')} | {label} | "
                             f"{fmt(v.get(t + '_tps'))} | {fmt(ll.get(t + '_tps'))} | {fmt(r.get(t), 2)}x | {gbs} |")
        lines.append("")
        loops = [m for m in s["models"] if "decode_loop" in m]
        if loops:
            lines += ["Decode loop, per token (tg128): wall time, the GPU's step from first command to last, the GPU "
                      "waiting on the host between steps, and the step's dispatches and barriers"
                      + (f" (idle at barriers estimated at {s['dependent_dispatch_us']:.2f} us each, "
                         "bench --kernels' dependent dispatch)" if s["dependent_dispatch_us"] else "") + ":", "",
                      "| model | wall us | GPU step us | host gap us | dispatches | barriers | est. barrier idle us |",
                      "|---|---|---|---|---|---|---|"]
            for m in loops:
                d = m["decode_loop"]
                lines.append(f"| {m['spec']} | {fmt(d['wall_us'])} | {fmt(d['gpu_us'])} | {fmt(d['host_us'])} "
                             f"({fmt(100 * d['host_us'] / d['wall_us'] if d['wall_us'] else None)}%) | {d['dispatches']} | "
                             f"{d['barriers']} | {fmt(d.get('barrier_idle_us_est'))} |")
            lines.append("")
    if s["models_skipped"]:
        lines += ["Not measured (the run's time ran out or synth failed): " + ", ".join(s["models_skipped"]), ""]
    if s["kernels"]:
        lines += ["| kernel | type | shape | ms | GB/s | GFLOP/s | share of peak |", "|---|---|---|---|---|---|---|"]
        for k in s["kernels"]:
            pct, of = share(k)
            lines.append(f"| {k['kernel']} | {k['type']} | {k['shape']} | {k['ms']:.3f} | {k['gbs']:.0f} | "
                         f"{k['gflops']:.0f} | {fmt(pct)}% {of} |")
        lines.append("")
    for kind, tiles in s["sweeps"].items():
        lines.append(f"Tile sweep, {kind} (share of peak per shape):")
        for tile, rows in tiles.items():
            lines.append(f"- {tile}: " + ", ".join(f"{r['type']} {r['shape']} {fmt(r['pct'])}%" for r in rows))
        lines.append("")
    t = s["tests"]
    if t:
        ran = len(t) - len(s["tests_skipped"])
        lines.append(f"GPU tests under the validation layer: {ran - len(s['tests_failed'])} of {ran} passed"
                     + (f"; failed: {', '.join(s['tests_failed'])}" if s["tests_failed"] else "")
                     + (f"; skipped (not for this device): {', '.join(s['tests_skipped'])}" if s["tests_skipped"] else "") + ".")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: summarize.py WORK_DIR OUT.json OUT.md")
    s = summarize(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        json.dump(s, f, indent=1)
        f.write("\n")
    with open(sys.argv[3], "w") as f:
        f.write(markdown(s))


if __name__ == "__main__":
    main()
