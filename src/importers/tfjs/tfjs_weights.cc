#include "importers/tfjs/tfjs_weights.h"

#include <bit>
#include <cstring>
#include <vector>

#include "core/file_util.h"

namespace kamado::importers::tfjs {
namespace {

// How one manifest entry is stored in the group's bytes.
enum class Storage { kFloat32, kInt32, kUint8, kUint16, kFloat16 };

struct Entry {
  std::string name;
  Shape shape;
  Storage storage = Storage::kFloat32;
  double min = 0.0;  // uint8/uint16: value = q·scale + min
  double scale = 1.0;
  int64_t count = 1;
  size_t bytes = 0;
};

size_t BytesPerElement(Storage s) {
  switch (s) {
    case Storage::kFloat32:
    case Storage::kInt32:
      return 4;
    case Storage::kUint16:
    case Storage::kFloat16:
      return 2;
    case Storage::kUint8:
      return 1;
  }
  return 4;
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // shards are little-endian, like every host kamado targets
  return v;
}

Result<Entry> ParseEntry(const Json& spec, const std::string& where) {
  Entry e;
  ASSIGN_OR_RETURN(e.name, GetField<std::string>(spec, "name", where));
  const std::string at = where + " ('" + e.name + "')";
  ASSIGN_OR_RETURN(e.shape, GetField<Shape>(spec, "shape", at));
  for (int64_t d : e.shape) {
    if (d < 0) return InvalidArgument(at + ": field 'shape' has a negative dimension");
  }
  e.count = NumElements(e.shape);
  ASSIGN_OR_RETURN(auto dtype, GetField<std::string>(spec, "dtype", at));
  if (dtype == "float32") {
    e.storage = Storage::kFloat32;
  } else if (dtype == "int32") {
    e.storage = Storage::kInt32;
  } else {
    return Unsupported(at + ": field 'dtype' = '" + dtype + "' is not supported (float32, int32)");
  }
  if (spec.contains("quantization") && !spec["quantization"].is_null()) {
    const Json& q = spec["quantization"];
    const std::string qat = at + ".quantization";
    ASSIGN_OR_RETURN(auto qdtype, GetField<std::string>(q, "dtype", qat));
    if (qdtype == "uint8" || qdtype == "uint16") {
      e.storage = qdtype == "uint8" ? Storage::kUint8 : Storage::kUint16;
      ASSIGN_OR_RETURN(e.min, GetField<double>(q, "min", qat));
      ASSIGN_OR_RETURN(e.scale, GetField<double>(q, "scale", qat));
    } else if (qdtype == "float16") {
      e.storage = Storage::kFloat16;
    } else {
      return Unsupported(qat + ": field 'dtype' = '" + qdtype +
                         "' is not supported (uint8, uint16, float16)");
    }
  }
  e.bytes = static_cast<size_t>(e.count) * BytesPerElement(e.storage);
  return e;
}

Tensor Decode(const Entry& e, const char* src) {
  std::vector<float> data(static_cast<size_t>(e.count));
  const size_t step = BytesPerElement(e.storage);
  for (size_t i = 0; i < data.size(); ++i) {
    const char* p = src + i * step;
    switch (e.storage) {
      case Storage::kFloat32:
        data[i] = Load<float>(p);
        break;
      case Storage::kInt32:
        data[i] = static_cast<float>(Load<int32_t>(p));
        break;
      case Storage::kUint8:
        data[i] = static_cast<float>(static_cast<uint8_t>(*p) * e.scale + e.min);
        break;
      case Storage::kUint16:
        data[i] = static_cast<float>(Load<uint16_t>(p) * e.scale + e.min);
        break;
      case Storage::kFloat16:
        data[i] = HalfToFloat(Load<uint16_t>(p));
        break;
    }
  }
  return Tensor(e.shape, std::move(data));
}

// The group's files must hold exactly `expected` bytes. On a mismatch, names
// the first file that runs past `expected`, or else the last (short) file.
Status CheckGroupSize(const std::vector<std::filesystem::path>& files,
                      const std::vector<size_t>& sizes, size_t expected, const std::string& where) {
  size_t total = 0;
  for (size_t s : sizes) total += s;
  if (total == expected) return Status::Ok();
  if (files.empty()) {
    return InvalidArgument(where + ": field 'paths' is empty but the weights need " +
                           std::to_string(expected) + " bytes");
  }
  size_t before = 0;  // bytes in the files before files[k]
  size_t k = 0;
  for (; k + 1 < files.size(); ++k) {
    if (before + sizes[k] > expected) break;
    before += sizes[k];
  }
  const size_t want = expected > before ? expected - before : 0;
  return InvalidArgument("weights file '" + files[k].string() + "' is " + std::to_string(sizes[k]) +
                         " bytes, expected " + std::to_string(want) + " (" + where + " needs " +
                         std::to_string(expected) + " bytes in " + std::to_string(files.size()) +
                         " file(s))");
}

}  // namespace

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf / NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal half: normalise the mantissa into an fp32 normal.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

Result<WeightMap> LoadWeights(const Json& manifest, const std::filesystem::path& dir) {
  if (!manifest.is_array()) {
    return InvalidArgument(std::string("field 'weightsManifest' must be an array, got ") +
                           manifest.type_name());
  }
  WeightMap weights;
  for (size_t g = 0; g < manifest.size(); ++g) {
    const std::string where = "weightsManifest[" + std::to_string(g) + "]";
    const Json& group = manifest[g];
    ASSIGN_OR_RETURN(auto paths, GetField<std::vector<std::string>>(group, "paths", where));
    ASSIGN_OR_RETURN(const Json* specs, GetNode(group, "weights", where));
    if (!specs->is_array()) {
      return InvalidArgument(where + ": field 'weights' must be an array");
    }
    std::vector<Entry> entries;
    size_t expected = 0;
    for (size_t i = 0; i < specs->size(); ++i) {
      ASSIGN_OR_RETURN(auto e,
                       ParseEntry((*specs)[i], where + ".weights[" + std::to_string(i) + "]"));
      expected += e.bytes;
      entries.push_back(std::move(e));
    }

    std::vector<std::filesystem::path> files;
    std::vector<size_t> sizes;
    std::string bytes;
    for (const auto& p : paths) {
      files.push_back(dir / p);
      ASSIGN_OR_RETURN(auto data, ReadFile(files.back()));
      sizes.push_back(data.size());
      bytes += data;
    }
    RETURN_IF_ERROR(CheckGroupSize(files, sizes, expected, where));

    size_t offset = 0;
    for (const Entry& e : entries) {
      if (weights.contains(e.name)) {
        return InvalidArgument(where + ": weight '" + e.name + "' appears twice in the manifest");
      }
      weights.emplace(e.name, Decode(e, bytes.data() + offset));
      offset += e.bytes;
    }
  }
  return weights;
}

}  // namespace kamado::importers::tfjs
