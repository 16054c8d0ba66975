#!/usr/bin/python3
"""Exports torchvision's classification models for the zoo test (issue 17).

For each model: random weights (fixed seed) with batch-norm statistics
randomised so that folding them is exercised, exported with torch.onnx at
each opset with a dynamic batch axis, plus one input batch and PyTorch's
logits for it. Nothing here is committed: the test generates it.

  /usr/bin/python3 tests/zoo/export_zoo.py OUT_DIR [--models a,b] [--opsets 13,17]

OUT_DIR/<model>/op<opset>/model.onnx and kamado.yaml (a model directory as
a user would write it for a PyTorch export: NCHW, ImageNet mean and std),
OUT_DIR/<model>/input.f32 and logits.f32 (little-endian float32, row-major)
and OUT_DIR/<model>/meta.json (their shapes). A model whose meta.json names
the same key (this file, torch and torchvision versions, the settings) is
not exported again: the output is cached by content hash.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import torch
import torchvision

BATCH = 2
SEED = 17

# name -> (constructor, keyword arguments, input side). Extra arguments turn
# off what only training uses (auxiliary heads) and PyTorch-side input
# transforms that are not part of the exported network's usual form.
MODELS = {
    "resnet18": ("resnet18", {}, 224),
    "resnet50": ("resnet50", {}, 224),
    "resnext50_32x4d": ("resnext50_32x4d", {}, 224),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 224),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, 224),
    "efficientnet_b0": ("efficientnet_b0", {}, 224),
    "densenet121": ("densenet121", {}, 224),
    "squeezenet1_1": ("squeezenet1_1", {}, 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}, 224),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}, 224),
    "regnet_y_400mf": ("regnet_y_400mf", {}, 224),
    "mnasnet1_0": ("mnasnet1_0", {}, 224),
    "convnext_tiny": ("convnext_tiny", {}, 224),
    "alexnet": ("alexnet", {}, 224),
    "vgg11_bn": ("vgg11_bn", {}, 224),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": True,
                                      "transform_input": False}, 299),
}

KAMADO_YAML = """\
# A PyTorch export as a user would describe it (docs/BRING_YOUR_OWN_MODEL.md).
name: {name}
format: onnx
file: model.onnx
input: {{layout: NCHW, height: {side}, width: {side}}}
preprocess: {{scale: 0.00392156862745098, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resize: bilinear, fit: stretch}}
source: torchvision {tv} {ctor} (random weights, seed {seed})
"""


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


SCRIPT_HASH = file_hash(__file__)


def cache_key(name, opsets):
    ctor, kwargs, side = MODELS[name]
    parts = [SCRIPT_HASH, torch.__version__, torchvision.__version__, name, ctor,
             json.dumps(kwargs, sort_keys=True), str(side), str(BATCH), str(SEED),
             ",".join(map(str, opsets))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def randomise_batch_norm(model, gen):
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def export(name, out_dir, opsets):
    ctor, kwargs, side = MODELS[name]
    model_dir = os.path.join(out_dir, name)
    meta_path = os.path.join(model_dir, "meta.json")
    key = cache_key(name, opsets)
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f).get("key") == key:
                return False
    os.makedirs(model_dir, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = getattr(torchvision.models, ctor)(weights=None, **kwargs)
    with torch.no_grad():
        randomise_batch_norm(model, gen)
    model.eval()
    x = torch.randn(BATCH, 3, side, side, generator=gen)
    with torch.no_grad():
        logits = model(x)
    for opset in opsets:
        d = os.path.join(model_dir, f"op{opset}")
        os.makedirs(d, exist_ok=True)
        tmp = os.path.join(d, "model.onnx.tmp")
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=opset, input_names=["input"],
                              output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              do_constant_folding=True)
        os.replace(tmp, os.path.join(d, "model.onnx"))
        with open(os.path.join(d, "kamado.yaml"), "w") as f:
            f.write(KAMADO_YAML.format(name=f"{name}_op{opset}", side=side, ctor=ctor,
                                       tv=torchvision.__version__, seed=SEED))
    x.numpy().astype("<f4").tofile(os.path.join(model_dir, "input.f32"))
    logits.numpy().astype("<f4").tofile(os.path.join(model_dir, "logits.f32"))
    with open(meta_path + ".tmp", "w") as f:
        json.dump({"key": key, "input_shape": list(x.shape), "logits_shape": list(logits.shape),
                   "opsets": opsets, "torch": torch.__version__,
                   "torchvision": torchvision.__version__}, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--opsets", default="13,17")
    args = ap.parse_args()
    opsets = [int(o) for o in args.opsets.split(",")]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit(f"export_zoo: unknown model '{name}' (known: {', '.join(MODELS)})")
        t0 = time.monotonic()
        done = export(name, args.out_dir, opsets)
        print(f"export_zoo: {name}: {'exported' if done else 'cached'} "
              f"({time.monotonic() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
