#!/usr/bin/env python3
"""Tail latency against the queueing bound (issue 15).

For one server configuration (the flags after --): start `kamado serve` on
CPUs 0-1 with --trace, measure its capacity closed loop (`kamado load
--concurrency C`), then run open-loop Poisson levels at the given fractions of
that capacity, each --duration seconds, and print per level: achieved rate,
client p50/p99 (from the intended send time), the server-side p99 (trace
total), and the M/D/1 p99 sojourn for a deterministic service time D = the
median decode + run time of the batch-1 requests at the lowest level (and the
M/G/1 p99 with the measured service times themselves), computed by the
Lindley recursion over 400,000 Poisson arrivals.

  bench/tail.py [--model models/inception_v3] [--images DIR] [--levels 0.3,0.5,0.7]
      [--duration 120] [--capacity-concurrency 4] [--label NAME] -- SERVE FLAGS...
  bench/tail.py --reanalyze TRACE.jsonl   # the server-side columns again, from a saved trace
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

import serverproc


def p99(xs):
    xs = sorted(xs)
    return xs[max(0, -(-99 * len(xs) // 100) - 1)] if xs else float("nan")


def sojourn_p99(rate, service, servers=1, n=400_000, seed=7):
    """p99 sojourn of a FIFO queue with `servers` servers (M/D/c, M/G/c):
    Poisson(rate/s) arrivals, service times (ms) drawn from `service` (one
    value: deterministic)."""
    rng = random.Random(seed)
    free = [0.0] * servers  # when each server is next free
    out = []
    t = 0.0
    mean_gap = 1000.0 / rate
    for _ in range(n):
        t += rng.expovariate(1.0 / mean_gap)
        s = service[0] if len(service) == 1 else rng.choice(service)
        k = min(range(servers), key=free.__getitem__)
        start = max(t, free[k])
        free[k] = start + s
        out.append(free[k] - t)
    return p99(out[n // 10:])


def load(args, port, extra):
    cmd = ["taskset", "-c", args.client_cpus, args.kamado, "load", "--url", f"http://127.0.0.1:{port}", "--model", args.name,
           "--images", args.images, "--json"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()
    return json.loads(out[-1])["levels"][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/inception_v3")
    ap.add_argument("--images", default=None)
    ap.add_argument("--levels", default="0.3,0.5,0.7")
    ap.add_argument("--duration", type=int, default=120)
    ap.add_argument("--capacity-concurrency", type=int, default=4)
    ap.add_argument("--capacity-duration", type=int, default=30)
    ap.add_argument("--label", default="")
    ap.add_argument("--servers", type=int, default=1,
                    help="c of the M/D/c bound: sessions × workers of the configuration")
    ap.add_argument("--server-cpus", default="0,1")
    ap.add_argument("--client-cpus", default="0,1")
    ap.add_argument("--kamado", default="build/kamado")
    ap.add_argument("serve", nargs="*")
    args = ap.parse_args()
    args.name = os.path.basename(args.model.rstrip("/"))
    work = tempfile.mkdtemp(prefix="kamado_tail_")
    if args.images is None:
        args.images = os.path.join(work, "jpeg")
        os.mkdir(args.images)
        os.symlink(os.path.abspath("data/images/retina.jpg"), os.path.join(args.images, "retina.jpg"))
    trace = os.path.join(work, "trace.jsonl")
    cmd = ["taskset", "-c", args.server_cpus, args.kamado, "serve", "--model", args.model, "--port", "0",
           "--trace", trace] + args.serve
    server, port = serverproc.start(cmd)
    try:
        cap = load(args, port, ["--concurrency", str(args.capacity_concurrency),
                                "--duration", str(args.capacity_duration), "--warmup", "3"])
        capacity = cap["throughput_rps"]
        label = args.label or " ".join(args.serve) or "defaults"
        print(f"### {label} (server on CPUs {args.server_cpus}, client on {args.client_cpus}): capacity {capacity:.1f} req/s (closed loop, c={args.capacity_concurrency}, "
              f"p99 {cap['p99_ms']:.0f} ms)\n")
        c = args.servers
        print(f"| load | rate req/s | p50 ms | p99 ms | server p99 ms | send lag p99 ms | D ms | M/D/{c} p99 ms "
              f"| p99 / M/D/{c} | M/G/{c} p99 ms | same arrivals, D server: p99 ms | server p99 / that |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
        service = None
        for frac in [float(x) for x in args.levels.split(",")]:
            rate = capacity * frac
            before = sum(1 for _ in open(trace)) if os.path.exists(trace) else 0
            lvl = load(args, port, ["--rate", f"{rate:.2f}", "--distribution", "poisson",
                                    "--duration", str(args.duration), "--warmup", "3"])
            time.sleep(1)
            recs = []
            for path in [p for p in os.listdir(work) if p.startswith("trace.jsonl")]:
                with open(os.path.join(work, path)) as f:
                    recs += [json.loads(l) for l in f]
            recs = recs[before:] if len(recs) > before else recs
            # Inference requests only: the load tool's metadata GETs (one per
            # connection at a level's start) are traced too, with batch 0.
            recs = [r for r in recs if r["batch"] >= 1]
            server_p99 = p99([r["total_ms"] for r in recs if r["status"] == 200])
            if service is None:
                service = [r["decode_ms"] + r["infer_ms"] for r in recs if r["batch"] == 1 and r["status"] == 200]
            d = statistics.median(service)
            md1 = sojourn_p99(lvl["throughput_rps"], [d], args.servers)
            # The same arrivals (header read times) through a server of fixed
            # service time D: what queueing alone gives on this sample path.
            free, path = 0.0, []
            for r in sorted(recs, key=lambda r: r["t_us"]):
                a = r["t_us"] / 1000.0 - max(0.0, r.get("read_ms", 0.0))
                free = max(a, free) + d
                path.append(free - a)
            path_p99 = p99(path) if args.servers == 1 else float("nan")
            server_path = p99([r["total_ms"] + max(0.0, r.get("read_ms", 0.0)) for r in recs if r["status"] == 200])
            mg1 = sojourn_p99(lvl["throughput_rps"], service, args.servers)
            print(f"| {frac:.0%} | {lvl['throughput_rps']:.2f} | {lvl['p50_ms']:.0f} | {lvl['p99_ms']:.0f} | "
                  f"{server_p99:.0f} | {lvl.get('send_lag_p99_ms', 0):.0f} | {d:.0f} | {md1:.0f} | {lvl['p99_ms'] / md1:.2f} | {mg1:.0f} | "
                  f"{path_p99:.0f} | {server_path / path_p99:.2f} |", flush=True)
        print()
    finally:
        server.terminate()
        server.wait(60)


def reanalyze(path):
    """Recomputes the server-side columns from a saved trace: levels are split
    at the load tool's metadata GETs (batch 0, one per connection at each
    level's start); the first segment is the capacity run."""
    recs = sorted((json.loads(l) for l in open(path)), key=lambda r: r["t_us"])
    levels, current = [], []
    for r in recs:
        if r["batch"] == 0:
            if current:
                levels.append(current)
                current = []
            continue
        current.append(r)
    if current:
        levels.append(current)
    levels = levels[1:]  # the capacity run
    service = [r["decode_ms"] + r["infer_ms"] for r in levels[0] if r["batch"] == 1]
    d = statistics.median(service)
    print("| level | requests traced | server p99 ms | D ms | same arrivals, D server: p99 ms | server p99 / that |")
    print("|---|---|---|---|---|---|")
    for i, lvl in enumerate(levels):
        free, soj = 0.0, []
        for r in lvl:
            a = r["t_us"] / 1000.0 - max(0.0, r.get("read_ms", 0.0))
            free = max(a, free) + d
            soj.append(free - a)
        server = p99([r["total_ms"] + max(0.0, r.get("read_ms", 0.0)) for r in lvl if r["status"] == 200])
        print(f"| {i + 1} | {len(lvl)} | {server:.0f} | {d:.0f} | {p99(soj):.0f} | {server / p99(soj):.2f} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--reanalyze":
        reanalyze(sys.argv[2])
    else:
        main()
