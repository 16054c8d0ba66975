#!/usr/bin/env bash
# Prepare everything the tests need (idempotent, works from any cwd):
#   1. models/{inception_v3,mobilenet_v2}   (scripts/fetch-models.sh)
#   2. data/images/*.png|jpg                (scripts/fetch-test-images.sh)
#      data/calib/: int8 calibration photos (scripts/fetch-calibration-photos.sh)
#   3. tests/reference/node_modules         (npm ci, only if missing)
#      tests/deploy/node_modules            (the same: kubernetes-models, yaml)
#      tests/shadow/browser/node_modules    (the same: playwright-core)
#   4. build/reference/<model>/*.f32 preprocessed tensors and the TF.js
#      reference cache tests/data/reference/<model>.json (only missing
#      entries are computed; pure-JS inference is slow).
#   5. build/zoo/: the torchvision zoo in ONNX (tests/zoo/export_zoo.py)
#   6. build/keras_layers/: small TF.js Layers models and TF.js's outputs
#      (tests/importers/keras/make_keras_layers.js, a few seconds)
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

"$SCRIPT_DIR/fetch-models.sh"
"$SCRIPT_DIR/fetch-test-images.sh"
"$SCRIPT_DIR/fetch-calibration-photos.sh"

if [[ ! -d tests/reference/node_modules/@tensorflow/tfjs || ! -d tests/reference/node_modules/pngjs ]]; then
  echo "prepare-test-data: npm ci in tests/reference"
  (cd tests/reference && npm ci --no-audit --no-fund)
fi
if [[ ! -d tests/deploy/node_modules/kubernetes-models || ! -d tests/deploy/node_modules/yaml ]]; then
  echo "prepare-test-data: npm ci in tests/deploy"
  (cd tests/deploy && npm ci --no-audit --no-fund)
fi
if [[ ! -d tests/shadow/browser/node_modules/playwright-core ]]; then
  echo "prepare-test-data: npm ci in tests/shadow/browser"
  (cd tests/shadow/browser && npm ci --no-audit --no-fund)
fi

node tests/reference/make_reference.js \
  --models-dir models --images data/images --tensors build/reference --probs

# 5. build/zoo: torchvision's classifiers exported to ONNX with PyTorch's
#    logits (tests/zoo/zoo_test.cc); a model whose export key is unchanged
#    is not exported again.
/usr/bin/python3 tests/zoo/export_zoo.py build/zoo

# 6. build/keras_layers: one small TF.js model per Keras layer the importer
#    learned for issue 17, with TF.js's output (tests/importers/tfjs_keras_layers_test.cc).
node tests/importers/keras/make_keras_layers.js build/keras_layers
