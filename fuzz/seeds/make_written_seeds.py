#!/usr/bin/env python3
"""Writes fuzz/seeds/written/: one valid input per reader of
fuzz/fuzz_written_files.cc, its first byte choosing the reader (0 gate entry,
1 quantization table, 2 tune result, 3 cost profile, 4 instance catalog).
Run from the repository root: fuzz/seeds/make_written_seeds.py"""
import json
from pathlib import Path

OUT = Path("fuzz/seeds/written")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    gate = {"precision": "int8", "against": "fp32", "isa": "avx512_core_vnni", "onednn": "2.6.0", "build": "abc",
            "model_hash": "00ff", "images": "data/calib", "photos": 50, "reference_classes": 12, "num_classes": 1000,
            "top1_agreement": 0.98, "topk_overlap": 0.95, "max_abs_dp": 0.04, "mean_abs_dp": 0.001,
            "thresholds": {"min_top1_agreement": 0.97, "max_mean_abs_dp": 0.005, "min_photos": 50, "min_classes": 10},
            "passed": True, "failures": [], "measured_at": "2026-12-07T17:00:00Z"}
    quant = {"version": 1, "activations": {"conv1": {"max": 6.0, "unsigned": True}, "add": {"max": 3.5, "unsigned": False}},
             "weight_max": {"conv1": [0.5, 0.25, 1.0]}}
    tune = {"slo_p99_ms": 250, "date": "2026-12-03", "machine": {"vcpus": 2, "cpu": "Xeon"},
            "recommended": {"slo_rps": 14.5}}
    seeds = {
        "gate.json": b"\x00" + json.dumps(gate).encode(),
        "quantization.json": b"\x01" + json.dumps(quant).encode(),
        "tune.json": b"\x02" + json.dumps(tune).encode(),
        "profile.yaml": b"\x03" + Path("examples/cost-study/study.yaml").read_bytes(),
        "instances.yaml": b"\x04" + Path("data/instances.yaml").read_bytes(),
    }
    # What the target found while it was written: counts no int holds.
    seeds["gate_photos_1e300.json"] = b"\x00" + json.dumps(dict(gate, photos=1e300)).encode()
    seeds["tune_vcpus_1e300.json"] = b"\x02" + json.dumps(dict(tune, machine={"vcpus": 1e300})).encode()
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
