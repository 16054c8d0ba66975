#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14) into build-fuzz/ and runs each for
# SECONDS seconds (default 6) on a working copy of its seed corpus.
#   fuzz/run.sh [SECONDS] [TARGET...]   make test: 6 s each; make fuzz: 300 s each
# Seeds (committed, small): fuzz/seeds/<name>/, tests/data/bad/ (images),
# tests/data/http/ (raw requests) and fuzz/seeds/http/ (the success paths),
# fuzz/seeds/written/ (kamado's own JSON files, the cost YAML); the ONNX importer's are node-test models
# from Debian's libonnx-testdata, copied at run time; the compiled-file
# parser's is written by a runtime test.
# New inputs go to build-fuzz/corpus/<target>/; crashes to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH="${1:-6}"
shift || true
ALL=(fuzz_decode_jpeg fuzz_decode_png fuzz_decode_webp fuzz_decode_to_tensor
     fuzz_http_request fuzz_serve_yaml fuzz_model_yaml fuzz_onnx_import fuzz_compiled_file
     fuzz_written_files)
TARGETS=("${@:-${ALL[@]}}")
BUILD=build-fuzz
if [[ ! -f $BUILD/build.ninja ]] || ! grep -q fuzz_written_files $BUILD/build.ninja; then
  cmake -S fuzz -B $BUILD -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
cmake --build $BUILD
mkdir -p $BUILD/crashes $BUILD/seeds/onnx
for t in conv_with_strides_padding relu gemm_default_no_bias maxpool_2d_default averagepool_2d_default \
         concat_2d_axis_0 reshape_reordered_all_dims batchnorm_example globalaveragepool softmax_axis_1 \
         add mul transpose_default flatten_axis0 clip_default_min \
         layer_normalization_default_axis layer_normalization_4d_axis1 pow_bcast_scalar erf matmul_3d; do
  src=/usr/share/libonnx-testdata/data/node/test_$t/model.onnx
  [[ -f $src ]] && cp "$src" $BUILD/seeds/onnx/$t.onnx
done
# Compiled-file seeds: the small test model's file, written by the runtime
# test that checks its size (it needs the main build).
mkdir -p $BUILD/seeds/compiled
if [[ -x build/tests/runtime/runtime_compiled_file_test ]]; then
  KAMADO_FUZZ_SEEDS=$BUILD/seeds/compiled build/tests/runtime/runtime_compiled_file_test \
    --gtest_filter='*SmallModelsFileIsSmall*' >/dev/null
else
  echo "fuzz: no main build, fuzz_compiled_file starts without seeds" >&2
fi
for target in "${TARGETS[@]}"; do
  corpus=$BUILD/corpus/$target
  mkdir -p "$corpus"
  case $target in
    fuzz_decode_to_tensor) seeds=(fuzz/seeds/jpeg fuzz/seeds/png fuzz/seeds/webp tests/data/bad) ;;
    fuzz_decode_*) seeds=(fuzz/seeds/${target#fuzz_decode_} tests/data/bad) ;;
    fuzz_http_request) seeds=(fuzz/seeds/http tests/data/http) ;;
    fuzz_serve_yaml) seeds=(fuzz/seeds/serve_yaml) ;;
    fuzz_model_yaml) seeds=(fuzz/seeds/model_yaml) ;;
    fuzz_onnx_import) seeds=($BUILD/seeds/onnx) ;;
    fuzz_compiled_file) seeds=($BUILD/seeds/compiled) ;;
    fuzz_written_files) seeds=(fuzz/seeds/written) ;;
    *) echo "fuzz: unknown target $target" >&2; exit 2 ;;
  esac
  echo "fuzz: $target for ${SECONDS_EACH}s"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    $BUILD/$target -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=$([[ $target == fuzz_compiled_file ]] && echo 262144 || echo 65536) \
      -artifact_prefix=$BUILD/crashes/$target- -print_final_stats=1 \
      "$corpus" "${seeds[@]}" > $BUILD/$target.log 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" $BUILD/$target.log || true
  if [[ ${status:-0} != 0 ]] && ! ls $BUILD/crashes/$target-* >/dev/null 2>&1; then
    echo "fuzz: $target failed to run (exit ${status}); see $BUILD/$target.log" >&2
    exit 1
  fi
  unset status
  if ls $BUILD/crashes/$target-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls $BUILD/crashes/$target-*)" >&2
    exit 1
  fi
done
