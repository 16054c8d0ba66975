// libFuzzer: bytes as a model.onnx (what kamado convert / the ONNX exporter
// write, and what users bring) -> ImportOnnxModel. The importer reads a path,
// so each input is written to a file in /dev/shm first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "importers/onnx/onnx_importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/kamado_fuzz_onnx_" + std::to_string(getpid()) + ".onnx";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  (void)kamado::importers::ImportOnnxModel(path);
  return 0;
}
