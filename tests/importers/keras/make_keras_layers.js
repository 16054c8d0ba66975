#!/usr/bin/env node
// Small TF.js Layers models, one per Keras layer kamado's TF.js importer
// learned for issue 17 (SeparableConv2D, LayerNormalization, Multiply for an
// SE gate, Reshape, GlobalMaxPooling2D, dilated Conv2D, swish/gelu/gelu_new),
// with seeded random weights, and TF.js's own output for a seeded input:
// the independent reference tests/importers/tfjs_keras_layers_test.cc holds
// kamado to. TF.js 4.22.0, pure-JS CPU backend (tests/reference/node_modules).
//
//   node tests/importers/keras/make_keras_layers.js OUTDIR
// writes OUTDIR/<case>/{model.json, weights.bin, input.f32, output.f32}
// (float32 little-endian; input NHWC [1, H, W, C], output flattened).
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require(path.join(__dirname, '..', '..', 'reference', 'node_modules', '@tensorflow', 'tfjs'));

function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(rand, shape, lo, hi) {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rand();
  return tf.tensor(v, shape);
}

// Every weight random; scales (gamma) kept away from 0.
function randomizeWeights(model, rand) {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(layer.weights.map((w, i) =>
      w.name.endsWith('gamma') ? uniform(rand, ws[i].shape, 0.5, 1.5) : uniform(rand, ws[i].shape, -0.5, 0.5)));
  }
}

const L = tf.layers;
const CASES = {
  // Xception's SeparableConv2D, depth multiplier 2, dilated, then swish.
  separable_swish: () => {
    const x = tf.input({ shape: [9, 9, 6] });
    let y = L.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthMultiplier: 2,
      dilationRate: 2, activation: 'swish', name: 'sep' }).apply(x);
    y = L.flatten({ name: 'flat' }).apply(y);
    return tf.model({ inputs: x, outputs: y });
  },
  // LayerNormalization over the channels, then GELU (erf).
  layer_norm_gelu: () => {
    const x = tf.input({ shape: [5, 5, 6] });
    let y = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'conv' }).apply(x);
    y = L.layerNormalization({ axis: -1, epsilon: 1e-3, name: 'ln' }).apply(y);
    y = L.activation({ activation: 'gelu', name: 'gelu' }).apply(y);
    y = L.flatten({ name: 'flat' }).apply(y);
    return tf.model({ inputs: x, outputs: y });
  },
  // A squeeze-and-excitation block: GAP, two Dense, Reshape to [1, 1, C],
  // Multiply with the features; then GlobalMaxPooling2D.
  squeeze_excite: () => {
    const x = tf.input({ shape: [7, 7, 8] });
    const f = L.conv2d({ filters: 8, kernelSize: 1, name: 'conv' }).apply(x);
    let g = L.globalAveragePooling2d({ name: 'squeeze' }).apply(f);
    g = L.dense({ units: 2, activation: 'relu', name: 'fc1' }).apply(g);
    g = L.dense({ units: 8, activation: 'sigmoid', name: 'fc2' }).apply(g);
    g = L.reshape({ targetShape: [1, 1, 8], name: 'gate' }).apply(g);
    let y = L.multiply({ name: 'excite' }).apply([f, g]);
    y = L.globalMaxPooling2d({ name: 'gmp' }).apply(y);
    return tf.model({ inputs: x, outputs: y });
  },
  // A dilated Conv2D with GELU's tanh form, a Reshape that moves elements
  // between H, W and C, a 1×1 conv on the result.
  dilated_reshape: () => {
    const x = tf.input({ shape: [10, 10, 3] });
    let y = L.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, activation: 'gelu_new', name: 'dil' }).apply(x);
    y = L.reshape({ targetShape: [3, 12, 4], name: 'shuffle' }).apply(y);
    y = L.conv2d({ filters: 2, kernelSize: 1, name: 'mix' }).apply(y);
    y = L.flatten({ name: 'flat' }).apply(y);
    return tf.model({ inputs: x, outputs: y });
  },
};

async function main() {
  const out = process.argv[2];
  if (!out) { console.error('usage: make_keras_layers.js OUTDIR'); process.exit(2); }
  await tf.setBackend('cpu');
  let seed = 1;
  for (const [name, build] of Object.entries(CASES)) {
    const dir = path.join(out, name);
    fs.mkdirSync(dir, { recursive: true });
    const model = build();
    const rand = mulberry32(seed++);
    randomizeWeights(model, rand);
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(artifacts.weightData));
      const json = {
        format: 'layers-model', generatedBy: 'kamado make_keras_layers.js', convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const shape = [1, ...model.inputs[0].shape.slice(1)];
    const input = uniform(rand, shape, -1, 1);
    const output = model.predict(input);
    fs.writeFileSync(path.join(dir, 'input.f32'), Buffer.from((await input.data()).buffer));
    fs.writeFileSync(path.join(dir, 'output.f32'), Buffer.from((await output.data()).buffer));
    console.log(`make_keras_layers: ${name}: input ${JSON.stringify(shape)}, output ${JSON.stringify(output.shape)}`);
  }
}

main().catch((e) => { console.error(`make_keras_layers: ${e.stack || e}`); process.exit(1); });
