#!/usr/bin/env node
// Fetch the default kamado models (nsfwjs@4.3.0 inception_v3 + mobilenet_v2)
// and rewrite them as standard TF.js layers-model directories:
//   models/<name>/model.json, group1-shard1of1.bin, kamado.yaml, .complete
//
// Usage: node scripts/fetch_models.js [--models-dir DIR] [--force]
// (DIR defaults to <repo>/models; repo root is resolved from this file's path.)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const PKG = 'nsfwjs';
const VERSION = '4.3.0';
const PINNED_INTEGRITY =
  'sha512-WTKDte0vp1X97N1h34P79G/hG+sVT3+TnDz9di1WseIJR93v11E4viNX7Vg9WsO6HYoR772Nzq2iM8jo3XBZ+g==';
const LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
const MODELS = [
  { name: 'inception_v3', size: 299 },
  { name: 'mobilenet_v2', size: 224 },
];

const REPO_ROOT = path.resolve(__dirname, '..');

class FetchError extends Error {}
function die(msg) {
  throw new FetchError(msg); // caught in main's caller, after temp dirs are cleaned up
}
function log(msg) {
  console.log(`fetch-models: ${msg}`);
}

function parseArgs(argv) {
  const args = { modelsDir: path.join(REPO_ROOT, 'models'), force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--models-dir') args.modelsDir = path.resolve(argv[++i]);
    else if (a === '--force') args.force = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: fetch_models.js [--models-dir DIR] [--force]');
      process.exit(0);
    } else die(`unknown argument: ${a}`);
  }
  return args;
}

function isComplete(dir) {
  return fs.existsSync(path.join(dir, '.complete')) &&
    fs.existsSync(path.join(dir, 'model.json')) &&
    fs.existsSync(path.join(dir, 'group1-shard1of1.bin')) &&
    fs.existsSync(path.join(dir, 'kamado.yaml'));
}

function npm(args, opts) {
  return execFileSync('npm', args, {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts,
  });
}

function sha512Integrity(file) {
  const h = crypto.createHash('sha512');
  h.update(fs.readFileSync(file));
  return 'sha512-' + h.digest('base64');
}

function yamlFor(m) {
  return [
    `name: ${m.name}`,
    'format: tfjs              # tfjs | onnx',
    'file: model.json          # or model.onnx',
    `input: {layout: NHWC, height: ${m.size}, width: ${m.size}}   # layout of the model's own input tensor`,
    'preprocess: {scale: 0.00392156862745098, mean: [0, 0, 0], std: [1, 1, 1], resize: bilinear_align_corners, fit: stretch}',
    `labels: [${LABELS.join(', ')}]`,
    `source: ${PKG}@${VERSION}`,
    '',
  ].join('\n');
}

function convertModel(srcDir, m, modelsDir, integrity) {
  // model.min.js / shards are browserify UMD bundles; the sibling
  // dist/models/package.json declares them CommonJS, so require() works.
  const bundle = require(path.join(srcDir, 'model.min.js'));
  if (!bundle || !bundle.modelTopology || !Array.isArray(bundle.weightsManifest)) {
    die(`${m.name}: model.min.js does not export {modelTopology, weightsManifest}`);
  }
  const topo = bundle.modelTopology;
  if (!topo.model_config) die(`${m.name}: modelTopology.model_config missing`);
  const inShape = topo.model_config.config.layers[0].config.batch_input_shape;
  if (JSON.stringify(inShape) !== JSON.stringify([null, m.size, m.size, 3])) {
    die(`${m.name}: unexpected input shape ${JSON.stringify(inShape)}`);
  }

  const weights = [];
  const chunks = [];
  for (const group of bundle.weightsManifest) {
    for (const p of group.paths) {
      const b64 = require(path.join(srcDir, `${p}.min.js`));
      if (typeof b64 !== 'string') die(`${m.name}: shard ${p} is not a base64 string`);
      chunks.push(Buffer.from(b64, 'base64'));
    }
    weights.push(...group.weights);
  }
  const data = Buffer.concat(chunks);

  // Every weight must be uint8-quantized float32; 1 byte per element.
  let expected = 0;
  for (const w of weights) {
    const q = w.quantization;
    if (w.dtype !== 'float32' || !q || q.dtype !== 'uint8' ||
        typeof q.min !== 'number' || typeof q.scale !== 'number') {
      die(`${m.name}: weight ${w.name} is not uint8-quantized float32: ${JSON.stringify(w)}`);
    }
    expected += w.shape.reduce((a, b) => a * b, 1);
  }
  if (data.length !== expected) {
    die(`${m.name}: weight buffer is ${data.length} bytes, manifest expects ${expected}`);
  }

  const modelJson = {
    format: 'layers-model',
    generatedBy: `keras v${topo.keras_version || '2.2.4'}`,
    convertedBy: `kamado fetch-models (from ${PKG}@${VERSION})`,
    modelTopology: topo,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }],
  };

  const finalDir = path.join(modelsDir, m.name);
  const tmpDir = path.join(modelsDir, `.tmp-${m.name}-${process.pid}`);
  fs.rmSync(tmpDir, { recursive: true, force: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  try {
    fs.writeFileSync(path.join(tmpDir, 'model.json'), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(tmpDir, 'group1-shard1of1.bin'), data);
    fs.writeFileSync(path.join(tmpDir, 'kamado.yaml'), yamlFor(m));
    const binSha = crypto.createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(tmpDir, '.complete'), JSON.stringify({
      source: `${PKG}@${VERSION}`, integrity, weights: weights.length,
      weight_bytes: data.length, weights_sha256: binSha,
    }, null, 2) + '\n');
    // Atomic-ish replace: drop any stale/incomplete dir, then rename.
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.renameSync(tmpDir, finalDir);
  } catch (e) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw e;
  }
  log(`${m.name}: ${weights.length} weights, ${data.length} bytes -> ${path.relative(process.cwd(), finalDir) || finalDir}`);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const dirs = MODELS.map((m) => path.join(args.modelsDir, m.name));
  if (!args.force && dirs.every(isComplete)) {
    log(`models already present in ${args.modelsDir} (${MODELS.map((m) => m.name).join(', ')}); nothing to do`);
    return;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kamado-fetch-models-'));
  try {
      const npmEnv = { ...process.env, npm_config_cache: path.join(work, 'npm-cache'),
                       npm_config_update_notifier: 'false' };
      const spec = `${PKG}@${VERSION}`;

      const registryIntegrity = npm(['view', spec, 'dist.integrity'], { env: npmEnv }).trim();
      log(`registry integrity: ${registryIntegrity}`);
      if (registryIntegrity !== PINNED_INTEGRITY) {
        die(`registry integrity for ${spec} (${registryIntegrity}) != pinned (${PINNED_INTEGRITY})`);
      }

      log(`npm pack ${spec} ...`);
      const out = npm(['pack', spec, '--json', '--pack-destination', work],
                      { env: npmEnv, cwd: work });
      const info = JSON.parse(out)[0];
      const tarball = path.join(work, info.filename);
      const actual = sha512Integrity(tarball);
      log(`tarball integrity:  ${actual}`);
      if (actual !== PINNED_INTEGRITY) die(`tarball integrity ${actual} != pinned ${PINNED_INTEGRITY}`);
      if (actual !== registryIntegrity) die(`tarball integrity ${actual} != registry ${registryIntegrity}`);

      const ex = path.join(work, 'x');
      fs.mkdirSync(ex);
      execFileSync('tar', ['-xzf', tarball, '-C', ex], { stdio: 'inherit' });
      const srcModels = path.join(ex, 'package', 'dist', 'models');

      fs.mkdirSync(args.modelsDir, { recursive: true });
      for (const m of MODELS) convertModel(path.join(srcModels, m.name), m, args.modelsDir, actual);
      log('done');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  try {
    main();
  } catch (e) {
    console.error(`fetch-models: ERROR: ${e instanceof FetchError ? e.message : (e.stack || e)}`);
    process.exit(1);
  }
