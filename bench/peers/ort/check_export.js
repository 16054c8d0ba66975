#!/usr/bin/env node
// Gate for the race: ONNX Runtime must give the original model's answers on
// kamado's export. Feeds the TF.js-preprocessed tensors
// (build/reference/<model>/<sha>.f32, NHWC) to the exported model and compares
// with the TF.js probabilities cached in tests/data/reference/<model>.json.
// Exits 1 if max |Δp| > 1e-4.
//
//   node bench/peers/ort/check_export.js MODEL_NAME ONNX_FILE [NHWC|NCHW]
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

async function main() {
  const [name, onnx, layout = 'NHWC'] = process.argv.slice(2);
  const root = path.resolve(__dirname, '../../..');
  const ref = JSON.parse(fs.readFileSync(path.join(root, 'tests/data/reference', `${name}.json`)));
  const size = ref.input.height;
  const session = await ort.InferenceSession.create(onnx);
  let worst = 0;
  let n = 0;
  for (const [sha, entry] of Object.entries(ref.images)) {
    const buf = fs.readFileSync(path.join(root, 'build/reference', name, `${sha}.f32`));
    let data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    let shape = [1, size, size, 3];
    if (layout === 'NCHW') {
      const t = new Float32Array(data.length);
      for (let h = 0; h < size; h++)
        for (let w = 0; w < size; w++)
          for (let c = 0; c < 3; c++) t[(c * size + h) * size + w] = data[(h * size + w) * 3 + c];
      data = t;
      shape = [1, 3, size, size];
    }
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
    const p = out[session.outputNames[0]].data;
    for (let i = 0; i < entry.probs.length; i++) worst = Math.max(worst, Math.abs(p[i] - entry.probs[i]));
    ++n;
  }
  console.log(`${name}: ONNX Runtime on ${onnx} (${layout}) vs TF.js over ${n} photos: max |dp| = ${worst.toExponential(2)}`);
  if (n === 0 || worst > 1e-4) process.exit(1);
}

main().catch((e) => { console.error(`check_export: ${e.message}`); process.exit(1); });
