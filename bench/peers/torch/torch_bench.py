#!/usr/bin/python3
"""PyTorch latency, measured the way `kamado bench` measures kamado.

Debian's python3-torch 1.13 and python3-torchvision's model definitions with
random weights (none can be downloaded here): the network is built, put in
eval mode, converted to the precision asked (bf16: weights and activations
in bfloat16, as `kamado --precision bf16` holds them; softmax in fp32),
channels-last, traced and frozen with torch.jit; random input (uniform
[0, 1)), W warm-up runs, then N timed runs of batch B. The last line is one
JSON object with the fields `kamado bench --json` has (mean_ms, p50_ms,
p90_ms, p99_ms, min_ms, max_ms, throughput_ips).

    python3 bench/peers/torch/torch_bench.py --model inception_v3 --precision bf16 \
        --threads 2 --batch 1 --iterations 100 --warmup 10
"""
import argparse
import json
import time

import numpy as np
import torch
import torchvision


def build(name):
    if name == "inception_v3":
        return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True), 299
    if name == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(weights=None), 224
    raise SystemExit(f"unknown model {name}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net, size = build(a.model)
    net.eval()
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float32

    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return torch.softmax(self.inner(x.to(dtype)).float(), dim=1)

    model = WithSoftmax(net.to(dtype)).to(memory_format=torch.channels_last).eval()
    x = torch.rand(a.batch, 3, size, size).to(memory_format=torch.channels_last)
    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(model, x))
        for _ in range(a.warmup):
            traced(x)
        samples = []
        for _ in range(a.iterations):
            t0 = time.perf_counter()
            traced(x)
            samples.append((time.perf_counter() - t0) * 1000.0)
    s = np.array(samples)
    print(json.dumps({
        "model": a.model, "precision": a.precision, "threads": a.threads, "batch": a.batch,
        "torch": torch.__version__,
        "mean_ms": float(s.mean()), "p50_ms": float(np.percentile(s, 50)),
        "p90_ms": float(np.percentile(s, 90)), "p99_ms": float(np.percentile(s, 99)),
        "min_ms": float(s.min()), "max_ms": float(s.max()),
        "throughput_ips": a.batch * 1000.0 / float(s.mean()),
    }))


if __name__ == "__main__":
    main()
