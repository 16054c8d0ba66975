#!/usr/bin/env python3
"""Closed-loop throughput of P × S × T configurations that fit the machine,
JPEG input (data/images/*.jpg), for each model: for each configuration a
fresh server on CPUs 0-1, then `kamado load --concurrency C` for --duration
seconds, --runs times (configurations interleaved run by run, so drift on a
noisy host hits all alike); prints the median req/s and p99 of each.

  bench/throughput.py [--models models/mobilenet_v2,models/inception_v3] [--runs 5]
      [--concurrency 8] [--duration 20]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

import serverproc

CONFIGS = [  # (label, serve flags): P × S × T = 2 CPUs
    ("1 × 1 × 2", ["--sessions", "1", "--threads", "2"]),
    ("1 × 2 × 1", ["--sessions", "2", "--threads", "1"]),
    ("2 × 1 × 1", ["--workers", "2", "--sessions", "1", "--threads", "1"]),
]


def serve(args, model, flags, cache):
    cmd = ["taskset", "-c", "0,1", args.kamado, "serve", "--model", model, "--port", "0",
           "--compile-cache", cache] + flags
    return serverproc.start(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="models/mobilenet_v2,models/inception_v3")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--kamado", default="build/kamado")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kamado_tput_")
    jpeg = os.path.join(work, "jpeg")
    os.mkdir(jpeg)
    for f in sorted(os.listdir("data/images")):
        if f.endswith(".jpg"):
            os.symlink(os.path.abspath(os.path.join("data/images", f)), os.path.join(jpeg, f))
    print(f"| model | P × S × T | req/s (median of {args.runs}) | runs | p99 ms (median) |")
    print("|---|---|---|---|---|")
    for model in args.models.split(","):
        name = os.path.basename(model.rstrip("/"))
        results = {label: [] for label, _ in CONFIGS}
        for _ in range(args.runs):
            for label, flags in CONFIGS:
                p, port = serve(args, model, flags, os.path.join(work, "cache"))
                try:
                    out = subprocess.run([args.kamado, "load", "--url", f"http://127.0.0.1:{port}", "--model", name,
                                          "--images", jpeg, "--concurrency", str(args.concurrency),
                                          "--duration", str(args.duration), "--warmup", "3", "--json"],
                                         capture_output=True, text=True, check=True).stdout.strip().splitlines()
                    lvl = json.loads(out[-1])["levels"][0]
                    results[label].append((lvl["throughput_rps"], lvl["p99_ms"]))
                finally:
                    p.terminate()
                    p.wait(60)
        for label, _ in CONFIGS:
            r = results[label]
            tput = statistics.median(x[0] for x in r)
            print(f"| {name} | {label} | {tput:.1f} | {', '.join(f'{x[0]:.1f}' for x in r)} | "
                  f"{statistics.median(x[1] for x in r):.0f} |", flush=True)


if __name__ == "__main__":
    main()
