#!/usr/bin/env python3
"""Writes the bad-request corpus tests/data/http/*.http and its MANIFEST.tsv.

Each file is the raw bytes of one HTTP/1.1 exchange's request, sent as is on a
fresh connection to a server holding models/mobilenet_v2 (input 'input_1').
The manifest gives the status kamado must answer and a substring of its error
(tests/serving/http_hardening_test.cc: HardeningCorpus). The same files seed
the request-path fuzzer (fuzz/fuzz_http_request.cc). Deterministic and
stdlib-only; re-run after editing.
"""
import json
import os

HOST = b"Host: 127.0.0.1\r\n"
INFER = b"/v2/models/mobilenet_v2/infer"
CLASSIFY = b"/v2/models/mobilenet_v2/classify"


def request(method, target, body=b"", headers=b"", host=True, version=b"HTTP/1.1", length=True):
    head = method + b" " + target + b" " + version + b"\r\n" + (HOST if host else b"") + headers
    if length and (body or method == b"POST"):
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return head + b"\r\n" + body


def infer(doc):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return request(b"POST", INFER, raw, b"Content-Type: application/json\r\n")


def cases():
    # --- the conformance rules (RFC 9110 / 9112) ---
    yield "target_not_utf8", request(b"GET", b"/v2/\xff\xfe"), 400, "request target is not valid UTF-8"
    yield "header_not_utf8", request(b"GET", b"/v2", headers=b"X-Name: caf\xc3\x28\r\n"), 400, \
        "header 'X-Name' is not valid UTF-8"
    yield "content_type_not_utf8", request(b"POST", CLASSIFY, b"abc", b"Content-Type: image/\xe9\r\n"), 400, \
        "header 'Content-Type' is not valid UTF-8"
    yield "no_host", request(b"GET", b"/v2", host=False), 400, "needs a Host header"
    yield "two_hosts", request(b"GET", b"/v2", headers=b"Host: other\r\n"), 400, "more than one Host header"
    yield "te_gzip_chunked", request(b"POST", CLASSIFY, b"3\r\nabc\r\n0\r\n\r\n",
                                     b"Transfer-Encoding: gzip, chunked\r\n", length=False), 501, \
        "transfer coding 'gzip' is not supported"
    yield "te_chunked_then_gzip", request(b"POST", CLASSIFY, b"3\r\nabc\r\n0\r\n\r\n",
                                          b"Transfer-Encoding: chunked, gzip\r\n", length=False), 400, \
        "Transfer-Encoding"
    yield "te_and_content_length", request(b"POST", CLASSIFY, b"3\r\nabc\r\n0\r\n\r\n",
                                           b"Transfer-Encoding: chunked\r\nContent-Length: 12\r\n",
                                           length=False), 400, "Content-Length"
    yield "two_content_lengths", request(b"POST", CLASSIFY, b"abcdef",
                                         b"Content-Length: 5\r\nContent-Length: 6\r\n", length=False), 400, \
        "malformed HTTP request"
    yield "content_length_not_a_number", request(b"POST", CLASSIFY, b"abc", b"Content-Length: 3x\r\n",
                                                 length=False), 400, "malformed HTTP request"
    yield "bad_chunk_size", request(b"POST", CLASSIFY, b"zz\r\nabc\r\n0\r\n\r\n",
                                    b"Transfer-Encoding: chunked\r\n", length=False), 400, "malformed HTTP request"
    yield "unknown_method", request(b"BREW", b"/v2"), 405, "method BREW is not allowed"
    yield "bad_method_token", request(b"GE(T", b"/v2"), 400, "malformed HTTP request"
    yield "nul_in_header", request(b"GET", b"/v2", headers=b"X-A: a\x00b\r\n"), 400, "malformed HTTP request"
    # RFC 9112 section 5.2: a server may replace obs-fold with a space (Beast does) instead of 400.
    yield "obs_fold", request(b"GET", b"/v2", headers=b"X-A: a\r\n b\r\n"), 200, ""
    yield "post_on_health", request(b"POST", b"/v2/health/live"), 405, "allowed: GET, HEAD"
    yield "get_on_infer", request(b"GET", INFER), 405, "allowed: POST"
    yield "no_route", request(b"GET", b"/v3/models"), 404, "no route for /v3/models"
    yield "unknown_model", request(b"GET", b"/v2/models/nope"), 404, "model 'nope' is not loaded"
    # --- OIP /infer bodies ---
    yield "json_malformed", infer(b'{"inputs": [1, 2,'), 400, "the request's JSON is malformed at byte"
    yield "json_string_not_utf8", infer(b'{"inputs":[{"name":"in\xffput","datatype":"FP32","shape":[1],"data":[1]}]}'), \
        400, "not valid UTF-8"
    yield "json_wrong_type", infer({"inputs": [{"name": "input_1", "datatype": "FP32", "shape": [1, 224, 224, 3],
                                                "data": [0]}], "parameters": {"binary_data_output": "yes"}}), \
        400, "has the wrong type"
    yield "json_not_object", infer(b"[1, 2, 3]"), 400, "must be a JSON object"
    yield "no_inputs", infer({"inputs": []}), 400, "'inputs' must be a non-empty array"
    yield "shape_overflows", infer({"inputs": [{"name": "input_1", "datatype": "FP32",
                                                "shape": [1, 4611686018427387905, 4, 2], "data": [0, 0]}]}), \
        400, "more elements than fit in 64 bits"
    yield "shape_negative", infer({"inputs": [{"name": "input_1", "datatype": "FP32", "shape": [-1, 2],
                                               "data": [0, 0]}]}), 400, "non-negative integers"
    yield "rows_over_limit", infer({"inputs": [{"name": "input_1", "datatype": "BYTES", "shape": [5000],
                                                "data": []}]}), 400, "over the limit of 256"
    yield "wrong_datatype", infer({"inputs": [{"name": "input_1", "datatype": "INT8", "shape": [1], "data": [1]}]}), \
        422, "datatype 'INT8' is not FP32 or BYTES"
    yield "wrong_input_name", infer({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["YQ=="]}]}), \
        400, "has no input 'x'"
    yield "bad_base64", infer({"inputs": [{"name": "input_1", "datatype": "BYTES", "shape": [1], "data": ["!!"]}]}), \
        400, "base64"
    yield "bytes_not_an_image", infer({"inputs": [{"name": "input_1", "datatype": "BYTES", "shape": [1],
                                                   "data": ["aGVsbG8="]}]}), 400, "unrecognised image format"
    yield "fp32_wrong_shape", infer({"inputs": [{"name": "input_1", "datatype": "FP32", "shape": [1, 2],
                                                 "data": [0, 0]}]}), 400, "must have shape"
    past_end = b'{"inputs":[{"name":"input_1","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":100}}]}'
    yield "binary_past_end", request(b"POST", INFER, past_end + b"\x01\x00\x00\x00",
                                     b"Inference-Header-Content-Length: " + str(len(past_end)).encode() + b"\r\n"), \
        400, "runs past the end"
    yield "header_length_not_a_number", request(b"POST", INFER, b"{}", b"Inference-Header-Content-Length: x\r\n"), \
        400, "Inference-Header-Content-Length is not a number"
    yield "header_length_too_large", request(b"POST", INFER, b"{}", b"Inference-Header-Content-Length: 99\r\n"), \
        400, "larger than the body"
    # --- /classify bodies ---
    yield "classify_empty", request(b"POST", CLASSIFY, b"", b"Content-Type: image/png\r\n"), 400, "no image"
    yield "classify_text", request(b"POST", CLASSIFY, b"hello", b"Content-Type: image/png\r\n"), 400, \
        "unrecognised image format"
    yield "classify_wrong_media", request(b"POST", CLASSIFY, b"hello", b"Content-Type: text/plain\r\n"), 415, \
        "is not an image"
    yield "multipart_no_boundary", request(b"POST", CLASSIFY, b"--x\r\n\r\n", b"Content-Type: multipart/form-data\r\n"), \
        400, "boundary"
    yield "bad_top_k", request(b"POST", CLASSIFY + b"?top_k=-3", b"hello", b"Content-Type: image/png\r\n"), 400, \
        "'top_k' must be a positive integer"


def main():
    out_dir = os.path.dirname(os.path.abspath(__file__))
    for f in os.listdir(out_dir):
        if f.endswith(".http"):
            os.remove(os.path.join(out_dir, f))
    lines = ["# file\tstatus\terror substring (tests/serving/http_hardening_test.cc)"]
    for name, data, status, needle in cases():
        with open(os.path.join(out_dir, name + ".http"), "wb") as f:
            f.write(data)
        lines.append(f"{name}.http\t{status}\t{needle}")
    with open(os.path.join(out_dir, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
