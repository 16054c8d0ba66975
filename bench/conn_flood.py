#!/usr/bin/env python3
"""Holds idle and slowloris connections open against a server on loopback.

  bench/conn_flood.py --port 8080 --idle 10000 --slowloris 500 --duration 120

A separate client process (docs/RELIABILITY.md "Connections"): `--idle`
connections send nothing; `--slowloris` connections send half a request
header and then one more header line every `--drip-s` seconds, never
finishing it. A connection the server closes is opened again, so the counts
hold for `--duration` seconds. Prints one JSON line: how many were held at
the end, reopened, refused (a 503 over max_connections) and failed to connect.
Python stdlib only; loopback only.
"""
import argparse
import json
import resource
import selectors
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--slowloris", type=int, default=500)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--drip-s", type=float, default=5)
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("conn_flood: loopback only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "reopened": 0, "refused_503": 0, "connect_failed": 0}

    def open_one(kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex((args.host, args.port))
        except OSError:
            stats["connect_failed"] += 1
            s.close()
            return
        if kind == "slow":
            try:
                s.send(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
        sel.register(s, selectors.EVENT_READ, kind)
        stats["opened"] += 1

    for _ in range(args.idle):
        open_one("idle")
    for _ in range(args.slowloris):
        open_one("slow")
    end = time.monotonic() + args.duration
    next_drip = time.monotonic() + args.drip_s
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            s, kind = key.fileobj, key.data
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 503"):
                stats["refused_503"] += 1
            sel.unregister(s)
            s.close()
            stats["reopened"] += 1
            open_one(kind)
        if time.monotonic() >= next_drip:
            next_drip += args.drip_s
            for key in list(sel.get_map().values()):
                if key.data == "slow":
                    try:
                        key.fileobj.send(b"X-Drip: 1\r\n")
                    except OSError:
                        pass
    held = {"idle": 0, "slow": 0}
    for key in sel.get_map().values():
        held[key.data] += 1
    print(json.dumps({"held_idle": held["idle"], "held_slowloris": held["slow"], **stats}))


if __name__ == "__main__":
    main()
