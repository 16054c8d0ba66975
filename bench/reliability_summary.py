#!/usr/bin/env python3
"""Summarises a bench/reliability.sh output directory as the Markdown tables of
docs/RELIABILITY.md ("Figures").   bench/reliability_summary.py OUT_DIR"""
import json
import os
import sys


def level(path):
    with open(path) as f:
        return json.loads(f.read().splitlines()[-1])["levels"][0]


def rss_between(samples, start, end):
    return [(t, kb / 1024) for t, kb in samples if start <= t <= end]


def slope_mb_per_hour(points):
    n = len(points)
    if n < 2:
        return float("nan")
    mt = sum(t for t, _ in points) / n
    mr = sum(r for _, r in points) / n
    num = sum((t - mt) * (r - mr) for t, r in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return num / den * 3600 if den else float("nan")


def main():
    out = sys.argv[1]
    p = lambda name: os.path.join(out, name)
    samples = []
    for line in open(p("rss.txt")):
        parts = line.split()
        if len(parts) == 2:
            samples.append((int(parts[0]), int(parts[1])))
    cap, quiet, soak, over = (level(p(n)) for n in ("capacity.txt", "quiet.txt", "soak.txt", "overload.txt"))
    t = lambda name: int(open(p(name)).read().strip())
    soak_rss = rss_between(samples, t("soak.start"), t("soak.end"))
    over_rss = rss_between(samples, t("overload.start"), t("overload.end"))
    print(f"Capacity (closed loop, 2 outstanding): **{cap['throughput_rps']:.1f} req/s**, p99 {cap['p99_ms']:.1f} ms.\n")
    print(f"Quiet, {quiet['rate']:g} req/s Poisson for 60 s: p50 {quiet['p50_ms']:.1f} ms, "
          f"p99 {quiet['p99_ms']:.1f} ms, {quiet['errors']} errors.\n")
    print(f"**Soak**: {soak['rate']:g} req/s (70%), Poisson, {soak['requests']} requests, "
          f"{soak['errors']} errors {json.dumps(soak['errors_by_status'])}; RSS {soak_rss[0][1]:.0f} → "
          f"{soak_rss[-1][1]:.0f} MB (min {min(r for _, r in soak_rss):.0f}, max {max(r for _, r in soak_rss):.0f}), "
          f"slope {slope_mb_per_hour(soak_rss):+.2f} MB/hour.\n")
    print("| window | throughput (req/s) | p99 (ms) |\n|---|---|---|")
    for i, w in enumerate(soak["windows"]):
        print(f"| {i * 5}–{i * 5 + 5} min | {w['throughput_rps']:.2f} | {w['p99_ms']:.1f} |")
    print()
    print(f"**Overload**: {over['rate']:g} req/s (3×) for {t('overload.end') - t('overload.start')} s: "
          f"{over['requests']} requests, {over['requests'] - over['errors']} answered 200, errors by status "
          f"{json.dumps(over['errors_by_status'])} (0: no answer within the client's 10 s); "
          f"p99 of the 200s {over['p99_ms']:.1f} ms, max {over['max_ms']:.1f} ms against the 1000 ms "
          f"deadline; peak RSS {max(r for _, r in over_rss):.0f} MB.\n")
    flood = json.loads(open(p("flood.txt")).read().splitlines()[-1])
    fl = level(p("flood_load.txt"))
    fds = open(p("flood_fds.txt")).read().strip()
    print(f"**Connections**: {flood['held_idle']} idle + {flood['held_slowloris']} slowloris held at the end "
          f"({flood['reopened']} reopened after the server closed them, {flood['refused_503']} refused, "
          f"{flood['connect_failed']} failed to connect; the server had {fds} descriptors open 20 s in). "
          f"Traffic meanwhile, {fl['rate']:g} req/s for 60 s: p50 {fl['p50_ms']:.1f} ms, "
          f"p99 **{fl['p99_ms']:.1f} ms** against {quiet['p99_ms']:.1f} ms quiet, {fl['errors']} errors.")


if __name__ == "__main__":
    main()
