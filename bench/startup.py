#!/usr/bin/env python3
"""Time to ready of `kamado serve`: from exec to the "listening" line, with no
compiled file (cold: import, passes, reorders, plans), with a valid one
(mapped: plans only), and without a compile cache at all; median of --runs.

  bench/startup.py [--models models/mobilenet_v2,models/inception_v3] [--runs 3]
      [--workers 1] [-- extra serve flags]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time


def once(args, model, cache):
    cmd = ["taskset", "-c", "0,1", args.kamado, "serve", "--model", model, "--port", "0",
           "--workers", str(args.workers)] + (["--compile-cache", cache] if cache else []) + args.extra
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if "listening on http://" in line:
            break
    ready = time.monotonic() - start
    p.terminate()
    p.wait(60)
    return ready


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="models/mobilenet_v2,models/inception_v3")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--kamado", default="build/kamado")
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    print("| model | workers | no compile cache s | cold (no file) s | valid file s |")
    print("|---|---|---|---|---|")
    for model in args.models.split(","):
        none, cold, warm = [], [], []
        for _ in range(args.runs):
            cache = tempfile.mkdtemp(prefix="kamado_startup_")
            try:
                if args.workers == 1:
                    none.append(once(args, model, None))
                cold.append(once(args, model, cache))
                warm.append(once(args, model, cache))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        med = lambda v: f"{statistics.median(v):.2f}" if v else "–"
        print(f"| {os.path.basename(model)} | {args.workers} | {med(none)} | {med(cold)} | {med(warm)} |", flush=True)


if __name__ == "__main__":
    main()
