#!/usr/bin/env node
// ONNX Runtime latency, measured the way `kamado bench` measures kamado:
// session created once, random input (uniform [0,1)), W warm-up runs, then N
// timed runs of batch B; the last line is one JSON object with the same
// fields (mean_ms, p50_ms, p90_ms, p99_ms, min_ms, max_ms, throughput_ips).
//
//   node bench/peers/ort/ort_bench.js --model build/onnx/mobilenet_v2/model.onnx \
//        --shape 1,224,224,3 --threads 1 --iterations 100 --warmup 10 --batch 1
'use strict';
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { threads: 1, iterations: 100, warmup: 10, batch: 1 };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    a[key] = argv[i + 1];
  }
  if (!a.model || !a.shape) {
    console.error('usage: ort_bench.js --model M.onnx --shape 1,H,W,C [--threads T] ' +
                  '[--iterations N] [--warmup W] [--batch B]');
    process.exit(2);
  }
  for (const k of ['threads', 'iterations', 'warmup', 'batch']) a[k] = Number(a[k]);
  a.shape = a.shape.split(',').map(Number);
  a.shape[0] = a.batch;
  return a;
}

// numpy's default percentile: linear interpolation between closest ranks.
function percentile(sorted, q) {
  const pos = (sorted.length - 1) * q / 100;
  const lo = Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function main() {
  const a = parseArgs(process.argv);
  const session = await ort.InferenceSession.create(a.model, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const size = a.shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; ++i) data[i] = Math.random();
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, a.shape) };
  for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  const samples = [];
  for (let i = 0; i < a.iterations; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...samples].sort((x, y) => x - y);
  const mean = samples.reduce((x, y) => x + y, 0) / samples.length;
  console.log(JSON.stringify({
    peer: 'onnxruntime-node', version: require('onnxruntime-node/package.json').version,
    model: a.model, batch: a.batch, threads: a.threads, iterations: a.iterations,
    mean_ms: mean, p50_ms: percentile(sorted, 50), p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99), min_ms: sorted[0], max_ms: sorted[sorted.length - 1],
    throughput_ips: 1000 * a.batch / mean,
  }));
}

main().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
