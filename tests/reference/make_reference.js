#!/usr/bin/env node
// Independent reference outputs for kamado, computed with TF.js 4.22.0 on its
// pure-JS CPU backend (tfjs dequantizes the uint8 weights itself).
//
// usage: node tests/reference/make_reference.js [--models-dir DIR] [--images DIR]
//          [--models inception_v3,mobilenet_v2] [--tensors OUTDIR] [--probs]
//          [--cache-dir DIR]
//   --tensors OUTDIR  write preprocessed inputs (raw little-endian float32,
//                     NHWC [1,H,W,3]) to OUTDIR/<model>/<sha256-of-png>.f32 and
//                     OUTDIR/<model>/random-<seed>.f32 (cheap, no model run)
//   --probs           run the model for entries missing from the cache
//                     <cache-dir>/<model>.json (default tests/data/reference)
// Relative paths are resolved against the current directory; defaults are
// relative to the repository root.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { PNG } = require('pngjs');
const tf = require('@tensorflow/tfjs');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const RANDOM_SEEDS = [1, 2, 3];
const SCHEMA = 'kamado-reference/1';

const PREPROCESSING =
  'nsfwjs@4.3.0 NSFWJS.infer(): decode PNG (pngjs, 8-bit) to RGBA bytes; ' +
  'tf.browser.fromPixels(pixels, 3) keeps R,G,B and drops alpha (grayscale -> R=G=B) -> int32 [h,w,3]; ' +
  '.toFloat(); .div(255) (float32 x/255, correctly rounded); ' +
  'if (h,w) != (H,W): tf.image.resizeBilinear(size=[H,W], alignCorners=true, halfPixelCenters=false), stretched ' +
  '(tfjs CPU kernel: ratio=(in-1)/(out-1), src=ratio*i, lo=max(0,floor(src)), hi=min(in-1,ceil(src)), frac=src-lo; ' +
  'top=tl+(tr-tl)*xfrac; bot=bl+(br-bl)*xfrac; out=top+(bot-top)*yfrac; all in double, one rounding to float32); ' +
  'reshape to NHWC [1,H,W,3]. Normalization happens BEFORE resizing.';

const RANDOM_GENERATOR =
  'mulberry32, one generator per seed: state = seed (uint32). Per value: ' +
  'state = (state + 0x6D2B79F5) mod 2^32; t = state; t = imul32(t ^ (t >>> 15), t | 1); ' +
  't ^= t + imul32(t ^ (t >>> 7), t | 61)  (uint32 wraparound); r = (t ^ (t >>> 14)) as uint32; ' +
  'value = float32((r >>> 8) / 16777216)  (exact, in [0,1)). ' +
  'Values fill the [1,H,W,3] NHWC float32 tensor in memory order (c fastest, then x, then y). ' +
  'The tensor is fed to the model as is (no preprocessing).';

function die(msg) { console.error(`make_reference: ERROR: ${msg}`); process.exit(1); }
function log(msg) { console.log(`make_reference: ${msg}`); }

function parseArgs(argv) {
  const a = {
    modelsDir: path.join(REPO_ROOT, 'models'),
    images: path.join(REPO_ROOT, 'data', 'images'),
    cacheDir: path.join(REPO_ROOT, 'tests', 'data', 'reference'),
    models: ['inception_v3', 'mobilenet_v2'],
    tensors: null,
    probs: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) die(`${k} needs a value`); return argv[++i]; };
    if (k === '--models-dir') a.modelsDir = path.resolve(val());
    else if (k === '--images') a.images = path.resolve(val());
    else if (k === '--cache-dir') a.cacheDir = path.resolve(val());
    else if (k === '--models') a.models = val().split(',').filter(Boolean);
    else if (k === '--tensors') a.tensors = path.resolve(val());
    else if (k === '--probs') a.probs = true;
    else if (k === '-h' || k === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 15).join('\n'));
      process.exit(0);
    } else die(`unknown argument: ${k}`);
  }
  if (!a.tensors && !a.probs) die('nothing to do: pass --tensors OUTDIR and/or --probs');
  return a;
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// Minimal reader for the few kamado.yaml fields we need.
function readKamadoYaml(file) {
  const text = fs.readFileSync(file, 'utf8');
  const num = (re) => { const m = text.match(re); if (!m) die(`${file}: cannot parse ${re}`); return Number(m[1]); };
  const labelsM = text.match(/^labels:\s*\[([^\]]*)\]/m);
  const sourceM = text.match(/^source:\s*(\S+)/m);
  const layoutM = text.match(/^input:.*layout:\s*(\w+)/m);
  if (layoutM && layoutM[1] !== 'NHWC') die(`${file}: only NHWC models are supported here`);
  return {
    height: num(/^input:.*height:\s*(\d+)/m),
    width: num(/^input:.*width:\s*(\d+)/m),
    labels: labelsM ? labelsM[1].split(',').map((s) => s.trim()).filter(Boolean) : null,
    source: sourceM ? sourceM[1] : null,
  };
}

async function loadModel(dir) {
  const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const weightSpecs = [];
  const parts = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
    weightSpecs.push(...group.weights);
  }
  const buf = Buffer.concat(parts);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const handler = tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
  });
  const model = await tf.loadLayersModel(handler);
  return { model, weightsSha256: sha256(buf) };
}

// Exactly nsfwjs@4.3.0 NSFWJS.infer() preprocessing (with size = H = W there).
function preprocessPng(pngBuf, H, W) {
  const png = PNG.sync.read(pngBuf); // always 8-bit RGBA output
  const pixels = { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
                   width: png.width, height: png.height };
  const t = tf.tidy(() => {
    const img = tf.browser.fromPixels(pixels, 3);
    const normalized = img.toFloat().div(tf.scalar(255));
    let resized = normalized;
    if (img.shape[0] !== H || img.shape[1] !== W) {
      resized = tf.image.resizeBilinear(normalized, [H, W], /* alignCorners= */ true);
    }
    return resized.reshape([1, H, W, 3]);
  });
  const data = t.dataSync().slice();
  t.dispose();
  return { data, width: png.width, height: png.height,
           colorType: png.color ? (png.alpha ? 'RGBA' : 'RGB') : (png.alpha ? 'GA' : 'G') };
}

function mulberry32Tensor(seed, n) {
  let state = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = (t ^ (t >>> 14)) >>> 0;
    out[i] = (r >>> 8) / 16777216;
  }
  return out;
}

function f32Bytes(f32) {
  const b = Buffer.alloc(f32.length * 4);
  for (let i = 0; i < f32.length; i++) b.writeFloatLE(f32[i], i * 4);
  return b;
}

function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function runModel(model, input, H, W) {
  const x = tf.tensor4d(input, [1, H, W, 3], 'float32');
  const t0 = process.hrtime.bigint();
  const y = model.predict(x);
  const probs = Array.from(y.dataSync()); // float32 values, exact as JS numbers
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  x.dispose(); y.dispose();
  return { probs, ms };
}

function sortedObject(obj) {
  const out = {};
  for (const k of Object.keys(obj).sort()) out[k] = obj[k];
  return out;
}

function serialize(cache) {
  // Pretty JSON but keep float arrays on one line.
  return JSON.stringify(cache, (k, v) => v, 2)
    .replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g,
             (m, inner) => '[' + inner.split(',').map((s) => s.trim()).join(', ') + ']') + '\n';
}

async function processModel(args, name, images) {
  const dir = path.join(args.modelsDir, name);
  if (!fs.existsSync(path.join(dir, 'model.json'))) die(`${dir}/model.json not found (run scripts/fetch-models.sh)`);
  const cfg = readKamadoYaml(path.join(dir, 'kamado.yaml'));
  const H = cfg.height, W = cfg.width, n = H * W * 3;
  log(`== ${name}: input [1,${H},${W},3]`);

  let model = null, weightsSha256 = null;
  const cacheFile = path.join(args.cacheDir, `${name}.json`);
  let cache = null;
  if (args.probs) {
    const t0 = Date.now();
    ({ model, weightsSha256 } = await loadModel(dir));
    log(`${name}: model loaded in ${Date.now() - t0} ms (weights sha256 ${weightsSha256.slice(0, 16)}...)`);
    if (fs.existsSync(cacheFile)) {
      cache = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
      if (cache.schema !== SCHEMA || cache.weights_sha256 !== weightsSha256 ||
          cache.tfjs_version !== tf.version.tfjs || cache.input.height !== H || cache.input.width !== W) {
        log(`${name}: cache ${cacheFile} is stale (schema/weights/tfjs/input changed); recomputing everything`);
        cache = null;
      }
    }
    if (!cache) {
      cache = {
        schema: SCHEMA,
        model: name,
        source: cfg.source,
        weights_sha256: weightsSha256,
        tfjs_version: tf.version.tfjs,
        tfjs_backend: tf.getBackend(),
        input: { layout: 'NHWC', shape: [1, H, W, 3], height: H, width: W, dtype: 'float32' },
        labels: cfg.labels,
        output: 'model.predict() output: softmax probabilities, float32, one per label, in label order',
        preprocessing: PREPROCESSING,
        random_generator: RANDOM_GENERATOR,
        images: {},
        random: {},
      };
    }
  }
  const save = () => {
    cache.images = sortedObject(cache.images);
    writeAtomic(cacheFile, serialize(cache));
  };
  const top1 = (probs) => cfg.labels ? cfg.labels[probs.indexOf(Math.max(...probs))] : probs.indexOf(Math.max(...probs));

  for (const img of images) {
    const pngBuf = fs.readFileSync(img);
    const key = sha256(pngBuf);
    const base = path.basename(img);
    const tensorFile = args.tensors ? path.join(args.tensors, name, `${key}.f32`) : null;
    const needTensor = tensorFile && !fs.existsSync(tensorFile);
    const needProbs = args.probs && !cache.images[key];
    if (!needTensor && !needProbs) { log(`${name}: ${base}: cached`); continue; }
    const t0 = Date.now();
    const pre = preprocessPng(pngBuf, H, W);
    const preMs = Date.now() - t0;
    const inputSha = sha256(f32Bytes(pre.data));
    if (needTensor) writeAtomic(tensorFile, f32Bytes(pre.data));
    let msg = `${name}: ${base} (${pre.width}x${pre.height} ${pre.colorType}): preprocess ${preMs} ms`;
    if (needProbs) {
      const { probs, ms } = runModel(model, pre.data, H, W);
      cache.images[key] = { file: base, width: pre.width, height: pre.height, png_color: pre.colorType,
                            input_sha256: inputSha, probs, top1: top1(probs), inference_ms: Math.round(ms) };
      save();
      msg += `, inference ${ms.toFixed(0)} ms, top1 ${top1(probs)} [${probs.map((p) => p.toFixed(4)).join(', ')}]`;
    }
    log(msg);
  }

  for (const seed of RANDOM_SEEDS) {
    const tensorFile = args.tensors ? path.join(args.tensors, name, `random-${seed}.f32`) : null;
    const needTensor = tensorFile && !fs.existsSync(tensorFile);
    const needProbs = args.probs && !cache.random[String(seed)];
    if (!needTensor && !needProbs) { log(`${name}: random seed ${seed}: cached`); continue; }
    const data = mulberry32Tensor(seed, n);
    if (needTensor) writeAtomic(tensorFile, f32Bytes(data));
    let msg = `${name}: random seed ${seed}`;
    if (needProbs) {
      const { probs, ms } = runModel(model, data, H, W);
      cache.random[String(seed)] = { seed, first_values: Array.from(data.slice(0, 4)),
                                     input_sha256: sha256(f32Bytes(data)), probs, top1: top1(probs),
                                     inference_ms: Math.round(ms) };
      save();
      msg += `: inference ${ms.toFixed(0)} ms, top1 ${top1(probs)} [${probs.map((p) => p.toFixed(4)).join(', ')}]`;
    }
    log(msg);
  }
  if (args.probs) { save(); model.dispose(); log(`${name}: cache ${path.relative(process.cwd(), cacheFile)}`); }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') die(`backend is ${tf.getBackend()}, expected cpu`);
  log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`);
  if (!fs.existsSync(args.images)) die(`images dir ${args.images} not found (run scripts/fetch-test-images.sh)`);
  const images = fs.readdirSync(args.images).filter((f) => /\.png$/i.test(f)).sort()
    .map((f) => path.join(args.images, f));
  if (images.length === 0) die(`no PNG files in ${args.images}`);
  log(`${images.length} PNG images in ${args.images}`);
  for (const name of args.models) await processModel(args, name, images);
}

main().catch((e) => { console.error(e); process.exit(1); });
