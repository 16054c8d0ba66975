#include "importers/onnx/onnx_tensor.h"

#include <cstring>
#include <fstream>

namespace kamado::importers::onnximport {
namespace {

using TP = ::onnx::TensorProto;

// Bytes of an EXTERNAL tensor: key/value pairs location, offset, length.
Result<std::string> ReadExternal(const TP& proto, const std::filesystem::path& base_dir,
                                 const std::string& what, size_t want) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return InvalidArgument(what + ": external_data " + kv.key() + "='" + kv.value() +
                             "' is not a number");
    }
  }
  if (location.empty()) return InvalidArgument(what + ": external data without a location");
  const std::filesystem::path file = base_dir / location;
  if (length < 0) length = static_cast<int64_t>(want);
  if (length != static_cast<int64_t>(want)) {
    return InvalidArgument(what + ": external data length " + std::to_string(length) +
                           " bytes, the shape needs " + std::to_string(want));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound(what + ": external data file '" + file.string() + "' not found");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<int64_t>(in.tellg());
  if (offset < 0 || offset + length > size) {
    return InvalidArgument(what + ": external data file '" + file.string() + "' has " +
                           std::to_string(size) + " bytes, needs " +
                           std::to_string(offset + length) + " (offset " +
                           std::to_string(offset) + " + length " + std::to_string(length) + ")");
  }
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return InvalidArgument(what + ": cannot read external data file '" + file.string() + "'");
  return bytes;
}

}  // namespace

std::string DataTypeName(int32_t data_type) {
  if (TP::DataType_IsValid(data_type)) {
    return TP::DataType_Name(static_cast<TP::DataType>(data_type));
  }
  return "dtype " + std::to_string(data_type);
}

Result<ConstTensor> DecodeTensor(const TP& proto, const std::filesystem::path& base_dir,
                                 const std::string& what) {
  ConstTensor t;
  for (int64_t d : proto.dims()) {
    if (d < 0) return InvalidArgument(what + ": negative dimension");
    t.shape.push_back(d);
  }
  // A file can claim any dims: the element count must fit, and its bytes too.
  auto count = CheckedNumElements(t.shape);
  if (!count.ok()) return count.status().WithPrefix(what);
  const auto n = static_cast<size_t>(*count);
  const int32_t type = proto.data_type();
  size_t elem = 0;
  switch (type) {
    case TP::FLOAT: elem = 4; break;
    case TP::INT64: elem = 8; t.integer = true; break;
    case TP::INT32: elem = 4; t.integer = true; break;
    default:
      return Unsupported(what + ": dtype " + DataTypeName(type) +
                         " is not supported (float32, int64, int32)");
  }
  if (n > (size_t{1} << 62) / elem) {
    return InvalidArgument(what + ": shape " + ShapeToString(t.shape) + " is too large to hold");
  }
  std::string raw;
  bool has_raw = proto.has_raw_data();
  if (proto.data_location() == TP::EXTERNAL) {
    ASSIGN_OR_RETURN(raw, ReadExternal(proto, base_dir, what, n * elem));
    has_raw = true;
  } else if (has_raw) {
    raw = proto.raw_data();
  }
  if (has_raw) {
    if (raw.size() != n * elem) {
      return InvalidArgument(what + ": raw_data has " + std::to_string(raw.size()) +
                             " bytes, shape needs " + std::to_string(n * elem));
    }
    // ONNX raw data is little-endian, as is every platform kamado runs on.
    if (type == TP::FLOAT) {
      t.floats.resize(n);
      if (n) std::memcpy(t.floats.data(), raw.data(), n * 4);
    } else if (type == TP::INT64) {
      t.ints.resize(n);
      if (n) std::memcpy(t.ints.data(), raw.data(), n * 8);
    } else {
      std::vector<int32_t> v(n);
      if (n) std::memcpy(v.data(), raw.data(), n * 4);
      t.ints.assign(v.begin(), v.end());
    }
    return t;
  }
  size_t got = 0;
  if (type == TP::FLOAT) {
    t.floats.assign(proto.float_data().begin(), proto.float_data().end());
    got = t.floats.size();
  } else if (type == TP::INT64) {
    t.ints.assign(proto.int64_data().begin(), proto.int64_data().end());
    got = t.ints.size();
  } else {
    t.ints.assign(proto.int32_data().begin(), proto.int32_data().end());
    got = t.ints.size();
  }
  if (got != n) {
    return InvalidArgument(what + ": holds " + std::to_string(got) + " values, shape " +
                           ShapeToString(t.shape) + " needs " + std::to_string(n));
  }
  return t;
}

}  // namespace kamado::importers::onnximport
