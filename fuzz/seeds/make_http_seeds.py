#!/usr/bin/env python3
"""Writes fuzz/seeds/http/: requests the stub service answers 200
(tests/serving/stub_model_service.h, model "tiny"), so the request fuzzer
starts from the success paths of every decoder. router_memory_test.cc checks
each still gets 200. Run from the repository root: fuzz/seeds/make_http_seeds.py"""
import base64
import json
import struct
import zlib
from pathlib import Path

OUT = Path("fuzz/seeds/http")


def post(target, body, ctype, extra=""):
    if isinstance(body, str):
        body = body.encode()
    head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    vals = [i / 24 for i in range(12)]
    seeds = {}
    seeds["tiny_infer_json.http"] = post("/v2/models/tiny/infer", json.dumps(
        {"id": "s1", "inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 2, 2, 3], "data": vals}],
         "outputs": [{"name": "probs", "parameters": {"classification": 2}}]}), "application/json")
    hdr = json.dumps({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 2, 2, 3],
                                  "parameters": {"binary_data_size": 48}}],
                      "outputs": [{"name": "probs", "parameters": {"binary_data": True}}]}).encode()
    seeds["tiny_infer_binary.http"] = post("/v2/models/tiny/infer", hdr + struct.pack("<12f", *vals),
                                           "application/octet-stream",
                                           f"Inference-Header-Content-Length: {len(hdr)}\r\n")
    # A 1x1 RGB PNG.
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00")) + chunk(b"IEND", b""))
    seeds["tiny_classify_png.http"] = post("/v2/models/tiny/classify?top_k=2", png, "image/png")
    form = (b"--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + png + b"\r\n--b1--\r\n")
    seeds["tiny_classify_multipart.http"] = post("/v2/models/tiny/classify", form, "multipart/form-data; boundary=b1")
    b64 = {"b64": base64.b64encode(png).decode()}
    seeds["tiny_infer_bytes_b64.http"] = post("/v2/models/tiny/infer", json.dumps(
        {"inputs": [{"name": "pixels", "datatype": "BYTES", "shape": [2], "data": [b64, b64]}]}), "application/json")
    seeds["tiny_classify_chunked.http"] = (
        b"POST /v2/models/tiny/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(png):x}\r\n".encode() + png + b"\r\n0\r\nX-Trailer: 1\r\n\r\n")
    seeds["pipelined_gets.http"] = (
        b"GET /v2 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v2/models/tiny HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /v2/models/tiny/versions/1/ready HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n")
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
