#!/usr/bin/env python3
"""Memory of the whole server (supervisor plus workers) for P worker processes.

For each P: starts `kamado serve --workers P` on an ephemeral loopback port
(pinned to CPUs 0-1), sends JPEG requests until every worker has answered at
least --per-worker of them (the X-Kamado-Worker header says which did), then
reads /proc/PID/smaps_rollup of every process of the server and prints RSS,
PSS and USS (Private_Clean + Private_Dirty) summed, with how much of each
worker's PSS is the mapped compiled file (the shared weights).

  bench/workers_memory.py --model models/inception_v3 --workers 1,2,4 \
      [--max-batch 1] [--image data/images/retina.jpg] [-- extra serve flags]

P = 0 in --workers means today's single process: no --workers, no compiled file.
"""
import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import serverproc


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def rollup(pid):
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                vals[m.group(1)] = int(m.group(2))
    return vals


def file_pss(pid, suffix=".kmc"):
    total = 0
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                current = line.rstrip().endswith(suffix)
            elif current and line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def run(args, workers, cache):
    cmd = ["taskset", "-c", "0,1", args.kamado, "serve", "--model", args.model, "--port", "0",
           "--sessions", str(args.sessions), "--threads", str(args.threads),
           "--max-batch", str(args.max_batch)]
    if workers >= 1:
        cmd += ["--workers", str(workers), "--compile-cache", cache]
        if workers * args.sessions * args.threads > os.cpu_count():
            cmd.append("--oversubscribe")
    cmd += args.extra
    proc, port = serverproc.start(cmd)
    image = open(args.image, "rb").read()
    counts = {}
    lock = threading.Lock()
    need = max(1, workers)
    done = threading.Event()

    def client():
        while not done.is_set():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", f"/v2/models/{args.name}/classify", image, {"Content-Type": "image/jpeg"})
            r = c.getresponse()
            r.read()
            w = r.getheader("X-Kamado-Worker", "0")
            c.close()
            with lock:
                if r.status == 200:
                    counts[w] = counts.get(w, 0) + 1
                if len(counts) >= need and min(counts.values()) >= args.per_worker:
                    done.set()

    threads = [threading.Thread(target=client) for _ in range(max(2, need))]
    for t in threads:
        t.start()
    done.wait(600)
    done.set()
    for t in threads:
        t.join()
    time.sleep(2)  # the allocator trimmer runs after a second idle
    pids = [proc.pid] + children(proc.pid)
    rows = []
    for pid in pids:
        r = rollup(pid)
        rows.append((pid, r["Rss"], r["Pss"], r.get("Private_Clean", 0) + r.get("Private_Dirty", 0),
                     file_pss(pid)))
    proc.terminate()
    proc.wait(60)
    return rows, counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/inception_v3")
    ap.add_argument("--name", default=None)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-batch", type=int, default=1)
    ap.add_argument("--per-worker", type=int, default=10)
    ap.add_argument("--image", default="data/images/retina.jpg")
    ap.add_argument("--kamado", default="build/kamado")
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    args.name = args.name or os.path.basename(args.model.rstrip("/"))
    cache = tempfile.mkdtemp(prefix="kamado_mem_")
    try:
        print(f"| P | processes | RSS MB | PSS MB | USS MB | compiled file PSS MB | requests per worker |")
        print("|---|---|---|---|---|---|---|")
        for p in [int(x) for x in args.workers.split(",")]:
            rows, counts = run(args, p, cache)
            rss = sum(r[1] for r in rows) / 1024
            pss = sum(r[2] for r in rows) / 1024
            uss = sum(r[3] for r in rows) / 1024
            fpss = sum(r[4] for r in rows) / 1024
            label = "single process (no file)" if p == 0 else str(p)
            per = ",".join(f"{k}:{v}" for k, v in sorted(counts.items()))
            print(f"| {label} | {len(rows)} | {rss:.1f} | {pss:.1f} | {uss:.1f} | {fpss:.1f} | {per} |", flush=True)
            for pid, r_rss, r_pss, r_uss, r_f in rows:
                print(f"|   pid {pid} | | {r_rss/1024:.1f} | {r_pss/1024:.1f} | {r_uss/1024:.1f} | {r_f/1024:.1f} | |",
                      flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
