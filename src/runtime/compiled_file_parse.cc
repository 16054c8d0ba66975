// The compiled-file parser: bounds-checked reading of the metadata, the
// graph and the weight table. No CompiledModel, no primitive: the fuzzer
// (fuzz/fuzz_compiled_file.cc) builds this file alone.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "core/sha256.h"
#include "runtime/compiled_file.h"
#include "runtime/compiled_file_internal.h"

namespace kamado::runtime {
namespace {

using namespace compiled_file_internal;


class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  template <typename T>
  Result<T> Pod(const char* what) {
    if (bytes_.size() - pos_ < sizeof(T)) return Truncated(what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Result<std::string> Str(const char* what) {
    ASSIGN_OR_RETURN(uint64_t n, Pod<uint64_t>(what));
    if (n > kMaxString) return Bad(std::string(what) + " is " + std::to_string(n) + " bytes long");
    if (bytes_.size() - pos_ < n) return Truncated(what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  Result<uint32_t> Count(const char* what, uint64_t max = kMaxCount) {
    ASSIGN_OR_RETURN(uint32_t n, Pod<uint32_t>(what));
    if (n > max) return Bad(std::string(what) + " count " + std::to_string(n) + " is over " + std::to_string(max));
    return n;
  }
  Result<std::vector<int64_t>> Ints(const char* what, uint64_t max = kMaxCount) {
    ASSIGN_OR_RETURN(uint32_t n, Count(what, max));
    std::vector<int64_t> v;
    for (uint32_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(int64_t x, Pod<int64_t>(what));
      v.push_back(x);
    }
    return v;
  }
  template <size_t N>
  Status Ints(std::array<int64_t, N>& out, const char* what) {
    for (auto& x : out) {
      ASSIGN_OR_RETURN(x, Pod<int64_t>(what));
    }
    return Status::Ok();
  }
  size_t pos() const { return pos_; }
  Status Bad(const std::string& why) const {
    return InvalidArgument("compiled file: " + why + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  Status Truncated(const char* what) const {
    return InvalidArgument(std::string("compiled file: ends at byte ") + std::to_string(bytes_.size()) +
                           " while reading " + what);
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

Result<ir::Activation> ReadActivation(Reader& r) {
  ir::Activation a;
  ASSIGN_OR_RETURN(uint8_t kind, r.Pod<uint8_t>("an activation"));
  if (kind > static_cast<uint8_t>(ir::ActivationKind::kGeluTanh)) return r.Bad("unknown activation kind " + std::to_string(kind));
  a.kind = static_cast<ir::ActivationKind>(kind);
  ASSIGN_OR_RETURN(a.alpha, r.Pod<float>("an activation"));
  ASSIGN_OR_RETURN(a.beta, r.Pod<float>("an activation"));
  return a;
}

Result<std::vector<ir::PostOp>> ReadPostOps(Reader& r) {
  ASSIGN_OR_RETURN(uint32_t n, r.Count("post-ops", 64));
  std::vector<ir::PostOp> ops;
  for (uint32_t i = 0; i < n; ++i) {
    ir::PostOp op;
    ASSIGN_OR_RETURN(uint8_t kind, r.Pod<uint8_t>("a post-op"));
    if (kind > 1) return r.Bad("unknown post-op kind " + std::to_string(kind));
    op.kind = static_cast<ir::PostOp::Kind>(kind);
    ASSIGN_OR_RETURN(op.activation, ReadActivation(r));
    ops.push_back(op);
  }
  return ops;
}

Result<ir::Attrs> ReadAttrs(Reader& r) {
  ASSIGN_OR_RETURN(uint8_t index, r.Pod<uint8_t>("attributes"));
  switch (index) {
    case 0: return ir::Attrs{};
    case 1: {
      ir::ConvAttrs a;
      RETURN_IF_ERROR(r.Ints(a.kernel, "Conv attributes"));
      RETURN_IF_ERROR(r.Ints(a.strides, "Conv attributes"));
      RETURN_IF_ERROR(r.Ints(a.dilations, "Conv attributes"));
      RETURN_IF_ERROR(r.Ints(a.pads, "Conv attributes"));
      ASSIGN_OR_RETURN(a.group, r.Pod<int64_t>("Conv attributes"));
      ASSIGN_OR_RETURN(a.post_ops, ReadPostOps(r));
      return ir::Attrs{a};
    }
    case 2: {
      ir::BatchNormAttrs a;
      ASSIGN_OR_RETURN(a.epsilon, r.Pod<float>("BatchNorm attributes"));
      ASSIGN_OR_RETURN(uint8_t relu, r.Pod<uint8_t>("BatchNorm attributes"));
      a.relu = relu != 0;
      return ir::Attrs{a};
    }
    case 3: {
      ir::ActivationAttrs a;
      ASSIGN_OR_RETURN(a.activation, ReadActivation(r));
      return ir::Attrs{a};
    }
    case 4: {
      ir::PadAttrs a;
      RETURN_IF_ERROR(r.Ints(a.pads, "Pad attributes"));
      ASSIGN_OR_RETURN(a.value, r.Pod<float>("Pad attributes"));
      return ir::Attrs{a};
    }
    case 5: {
      ir::PoolAttrs a;
      RETURN_IF_ERROR(r.Ints(a.kernel, "pool attributes"));
      RETURN_IF_ERROR(r.Ints(a.strides, "pool attributes"));
      RETURN_IF_ERROR(r.Ints(a.pads, "pool attributes"));
      ASSIGN_OR_RETURN(uint8_t include, r.Pod<uint8_t>("pool attributes"));
      a.count_include_pad = include != 0;
      ASSIGN_OR_RETURN(a.post_ops, ReadPostOps(r));
      return ir::Attrs{a};
    }
    case 6: {
      ir::ConcatAttrs a;
      ASSIGN_OR_RETURN(a.axis, r.Pod<int64_t>("Concat attributes"));
      return ir::Attrs{a};
    }
    case 7: {
      ir::FlattenAttrs a;
      ASSIGN_OR_RETURN(uint8_t last, r.Pod<uint8_t>("Flatten attributes"));
      a.channels_last = last != 0;
      return ir::Attrs{a};
    }
    case 8: {
      ir::DenseAttrs a;
      ASSIGN_OR_RETURN(a.post_ops, ReadPostOps(r));
      return ir::Attrs{a};
    }
    case 9: {
      ir::SoftmaxAttrs a;
      ASSIGN_OR_RETURN(a.axis, r.Pod<int64_t>("Softmax attributes"));
      return ir::Attrs{a};
    }
    case 10: {
      ir::BinaryAttrs a;
      ASSIGN_OR_RETURN(uint8_t kind, r.Pod<uint8_t>("Binary attributes"));
      if (kind > static_cast<uint8_t>(ir::BinaryKind::kDiv)) return r.Bad("unknown Binary kind");
      a.kind = static_cast<ir::BinaryKind>(kind);
      return ir::Attrs{a};
    }
    case 11: {
      ir::ReshapeAttrs a;
      ASSIGN_OR_RETURN(a.shape, r.Ints("Reshape attributes", kMaxRank));
      return ir::Attrs{a};
    }
    case 12: {
      ir::TransposeAttrs a;
      ASSIGN_OR_RETURN(a.perm, r.Ints("Transpose attributes", kMaxRank));
      return ir::Attrs{a};
    }
    case 13: {
      ir::SliceAttrs a;
      ASSIGN_OR_RETURN(a.starts, r.Ints("Slice attributes", kMaxRank));
      ASSIGN_OR_RETURN(a.sizes, r.Ints("Slice attributes", kMaxRank));
      return ir::Attrs{a};
    }
    case 14: {
      ir::LayerNormAttrs a;
      ASSIGN_OR_RETURN(a.axis, r.Pod<int64_t>("LayerNorm attributes"));
      ASSIGN_OR_RETURN(a.epsilon, r.Pod<float>("LayerNorm attributes"));
      return ir::Attrs{a};
    }
    default:
      return r.Bad("unknown attribute kind " + std::to_string(index));
  }
}
static_assert(std::variant_size_v<ir::Attrs> == 15, "ReadAttrs must read every Attrs alternative");

Result<CompiledFileKey> ReadKey(Reader& r) {
  CompiledFileKey k;
  ASSIGN_OR_RETURN(k.model_hash, r.Str("the key"));
  ASSIGN_OR_RETURN(k.build, r.Str("the key"));
  ASSIGN_OR_RETURN(k.onednn, r.Str("the key"));
  ASSIGN_OR_RETURN(k.isa, r.Str("the key"));
  ASSIGN_OR_RETURN(k.precision, r.Str("the key"));
  ASSIGN_OR_RETURN(k.batches, r.Ints("the key's batch sizes", 4096));
  ASSIGN_OR_RETURN(k.threads, r.Pod<int32_t>("the key"));
  ASSIGN_OR_RETURN(uint8_t wino, r.Pod<uint8_t>("the key"));
  k.winograd = wino != 0;
  return k;
}

Result<Shape> ReadShape(Reader& r, const char* what) {
  ASSIGN_OR_RETURN(std::vector<int64_t> dims, r.Ints(what, kMaxRank));
  for (int64_t d : dims) {
    if (d < -1) return r.Bad(std::string(what) + " has dimension " + std::to_string(d));
  }
  return Shape(dims.begin(), dims.end());
}

// A blob reference: offset and size in bytes, inside [0, blob_bytes).
Result<std::pair<uint64_t, uint64_t>> ReadSpan(Reader& r, uint64_t blob_bytes, const char* what) {
  ASSIGN_OR_RETURN(uint64_t offset, r.Pod<uint64_t>(what));
  ASSIGN_OR_RETURN(uint64_t size, r.Pod<uint64_t>(what));
  if (offset > blob_bytes || size > blob_bytes - offset) {
    return r.Bad(std::string(what) + " lies outside the weight data");
  }
  if (offset % 64 != 0) return r.Bad(std::string(what) + " is not 64-byte aligned");
  return std::make_pair(offset, size);
}

// An int-sized field of a descriptor's raw bytes at `offset`: enum fields
// are read as integers, so a value outside the enum is an error, not UB.
int32_t RawInt(const dnnl_memory_desc_t& d, size_t offset) {
  int32_t v;
  std::memcpy(&v, reinterpret_cast<const char*>(&d) + offset, sizeof(v));
  return v;
}

// Checks a descriptor read from the file before oneDNN computes with it.
Status CheckDesc(const dnnl_memory_desc_t& d, Reader& r) {
  static_assert(sizeof(dnnl_data_type_t) == 4 && sizeof(dnnl_format_kind_t) == 4 &&
                sizeof(dnnl_wino_memory_format_t) == 4);
  if (d.ndims < 1 || d.ndims > static_cast<int>(kMaxRank)) return r.Bad("a weight has rank " + std::to_string(d.ndims));
  // f32, bf16 in a bf16 model, s8 in an int8 one (runtime/precision.h).
  const int32_t type = RawInt(d, offsetof(dnnl_memory_desc_t, data_type));
  if (type != dnnl_f32 && type != dnnl_bf16 && type != dnnl_s8) {
    return r.Bad("a weight is neither f32, bf16 nor s8");
  }
  // s8 convolution weights may carry oneDNN's compensation for s8 sources
  // (and its 0.5 weight adjustment without VNNI); nothing else has extras.
  const uint64_t flags = d.extra.flags;
  const uint64_t allowed = type == dnnl_s8 ? (dnnl_memory_extra_flag_compensation_conv_s8s8 |
                                              dnnl_memory_extra_flag_scale_adjust |
                                              dnnl_memory_extra_flag_compensation_conv_asymmetric_src)
                                           : 0;
  if ((flags & ~allowed) != 0) return r.Bad("a weight has extra flags " + std::to_string(flags));
  if ((flags & dnnl_memory_extra_flag_scale_adjust) != 0 &&
      !(d.extra.scale_adjust > 0.0f && d.extra.scale_adjust <= 1.0f)) {
    return r.Bad("a weight has a bad scale adjustment");
  }
  if (d.extra.compensation_mask < 0 || d.extra.compensation_mask > 0x3f ||
      d.extra.asymm_compensation_mask < 0 || d.extra.asymm_compensation_mask > 0x3f) {
    return r.Bad("a weight has a bad compensation mask");
  }
  const int32_t kind = RawInt(d, offsetof(dnnl_memory_desc_t, format_kind));
  if (kind != dnnl_blocked && kind != dnnl_format_kind_wino) {
    return r.Bad("a weight has format kind " + std::to_string(kind));
  }
  if (kind == dnnl_format_kind_wino) {
    const int32_t wino = RawInt(d, offsetof(dnnl_memory_desc_t, format_desc) + offsetof(dnnl_wino_desc_t, wino_format));
    if (wino < dnnl_wino_undef || wino > dnnl_wino_wei_OBaaIBOIio) return r.Bad("a weight has Winograd format " + std::to_string(wino));
  }
  if (d.offset0 != 0) return r.Bad("a weight has an offset");
  for (int i = 0; i < d.ndims; ++i) {
    if (d.dims[i] < 1 || d.dims[i] > (int64_t{1} << 31) || d.padded_dims[i] < d.dims[i] ||
        d.padded_dims[i] > (int64_t{1} << 31) || d.padded_offsets[i] != 0) {
      return r.Bad("a weight has dimension " + std::to_string(d.dims[i]));
    }
  }
  if (kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    if (b.inner_nblks < 0 || b.inner_nblks > DNNL_MAX_NDIMS) return r.Bad("a weight has a bad blocking");
    for (int i = 0; i < b.inner_nblks; ++i) {
      if (b.inner_idxs[i] < 0 || b.inner_idxs[i] >= d.ndims || b.inner_blks[i] < 1 || b.inner_blks[i] > 64) {
        return r.Bad("a weight has a bad blocking");
      }
    }
    for (int i = 0; i < d.ndims; ++i) {
      if (b.strides[i] < 0 || b.strides[i] > (int64_t{1} << 40)) return r.Bad("a weight has a bad stride");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string CompiledFileKey::Difference(const CompiledFileKey& o) const {
  auto ints = [](const std::vector<int64_t>& v) {
    std::string s;
    for (int64_t x : v) {
      if (!s.empty()) s += ',';
      s += std::to_string(x);
    }
    return "[" + s + "]";
  };
  if (model_hash != o.model_hash) return "model files hash " + model_hash.substr(0, 16) + ", not " + o.model_hash.substr(0, 16);
  if (build != o.build) return "kamado build '" + build + "', not '" + o.build + "'";
  if (onednn != o.onednn) return "oneDNN " + onednn + ", not " + o.onednn;
  if (isa != o.isa) return "CPU ISA " + isa + ", not " + o.isa;
  if (precision != o.precision) return "precision " + precision + ", not " + o.precision;
  if (batches != o.batches) return "batch sizes " + ints(batches) + ", not " + ints(o.batches);
  if (threads != o.threads) return "threads " + std::to_string(threads) + ", not " + std::to_string(o.threads);
  if (winograd != o.winograd) return std::string("winograd ") + (winograd ? "on" : "off") + ", not " + (o.winograd ? "on" : "off");
  return "";
}

Result<ParsedCompiledFile> ParseCompiledFile(std::span<const uint8_t> bytes, bool verify_checksum) {
  if (bytes.size() < sizeof(kMagic) + 8 + kDigestBytes ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return InvalidArgument("compiled file: not a kamado compiled file (no KAMADOC\\1 header)");
  }
  if (verify_checksum) {
    const auto body = bytes.first(bytes.size() - kDigestBytes);
    const auto stored = bytes.last(kDigestBytes);
    if (Sha256Of(body) != std::string(reinterpret_cast<const char*>(stored.data()), kDigestBytes)) {
      return InvalidArgument("compiled file: checksum mismatch (truncated or corrupt)");
    }
  }
  uint64_t meta_bytes = 0;
  std::memcpy(&meta_bytes, bytes.data() + sizeof(kMagic), sizeof(meta_bytes));
  const size_t meta_start = sizeof(kMagic) + sizeof(meta_bytes);
  const size_t end = bytes.size() - kDigestBytes;
  if (meta_bytes > end - meta_start) {
    return InvalidArgument("compiled file: metadata of " + std::to_string(meta_bytes) +
                           " bytes does not fit in the file");
  }
  const size_t blob_start = AlignUp(meta_start + meta_bytes);
  if (blob_start > end) return InvalidArgument("compiled file: no weight data");
  const std::span<const uint8_t> blob = bytes.subspan(blob_start, end - blob_start);

  Reader r(bytes.subspan(meta_start, meta_bytes));
  ParsedCompiledFile out;
  ASSIGN_OR_RETURN(out.key, ReadKey(r));
  ir::Graph& g = out.graph;
  ASSIGN_OR_RETURN(g.name, r.Str("the graph's name"));
  ASSIGN_OR_RETURN(uint8_t layout, r.Pod<uint8_t>("the graph"));
  if (layout > static_cast<uint8_t>(Layout::kNHWC)) return r.Bad("unknown input layout");
  g.input_layout = static_cast<Layout>(layout);
  ASSIGN_OR_RETURN(uint32_t num_values, r.Count("values"));
  std::vector<int32_t> producers;
  for (uint32_t i = 0; i < num_values; ++i) {
    ASSIGN_OR_RETURN(std::string name, r.Str("a value's name"));
    ASSIGN_OR_RETURN(Shape shape, ReadShape(r, "a value's shape"));
    ASSIGN_OR_RETURN(int32_t producer, r.Pod<int32_t>("a value"));
    ASSIGN_OR_RETURN(uint8_t has_constant, r.Pod<uint8_t>("a value"));
    ir::ValueId id;
    if (has_constant) {
      ASSIGN_OR_RETURN(Shape cshape, ReadShape(r, "a constant's shape"));
      ASSIGN_OR_RETURN(auto span, ReadSpan(r, blob.size(), "a constant"));
      auto count = CheckedNumElements(cshape);
      if (!count.ok() || *count < 0 || static_cast<uint64_t>(*count) * sizeof(float) != span.second) {
        return r.Bad("constant '" + name + "' has " + std::to_string(span.second) +
                     " bytes for shape " + ShapeToString(cshape));
      }
      const auto* p = reinterpret_cast<const float*>(blob.data() + span.first);
      id = g.AddConstant(std::move(name), Tensor(cshape, std::vector<float>(p, p + *count)));
      g.value(id).shape = shape;
    } else {
      id = g.AddValue(std::move(name), shape);
    }
    producers.push_back(producer);
  }
  auto valid_value = [&](int32_t v, bool absent_ok) {
    return (absent_ok && v == ir::kNoValue) || (v >= 0 && v < static_cast<int32_t>(num_values));
  };
  ASSIGN_OR_RETURN(uint32_t num_nodes, r.Count("nodes"));
  for (uint32_t i = 0; i < num_nodes; ++i) {
    ASSIGN_OR_RETURN(std::string name, r.Str("a node's name"));
    ASSIGN_OR_RETURN(uint8_t op, r.Pod<uint8_t>("a node"));
    if (op >= std::size(ir::kAllOpTypes)) return r.Bad("node '" + name + "' has unknown op " + std::to_string(op));
    std::vector<ir::ValueId> ids[2];
    for (int k = 0; k < 2; ++k) {
      ASSIGN_OR_RETURN(uint32_t n, r.Count("a node's values", 4096));
      for (uint32_t j = 0; j < n; ++j) {
        ASSIGN_OR_RETURN(int32_t v, r.Pod<int32_t>("a node's values"));
        if (!valid_value(v, k == 0)) return r.Bad("node '" + name + "' names value " + std::to_string(v));
        ids[k].push_back(v);
      }
    }
    ASSIGN_OR_RETURN(uint8_t dead, r.Pod<uint8_t>("a node"));
    ASSIGN_OR_RETURN(ir::Attrs attrs, ReadAttrs(r));
    // AddNode sets each output's producer; restore the recorded ones after.
    const ir::NodeId id = g.AddNode(std::move(name), static_cast<ir::OpType>(op), ids[0], ids[1], std::move(attrs));
    g.node(id).dead = dead != 0;
  }
  for (int k = 0; k < 2; ++k) {
    ASSIGN_OR_RETURN(uint32_t n, r.Count("graph inputs/outputs", 4096));
    for (uint32_t j = 0; j < n; ++j) {
      ASSIGN_OR_RETURN(int32_t v, r.Pod<int32_t>("graph inputs/outputs"));
      if (!valid_value(v, false)) return r.Bad("graph input/output names value " + std::to_string(v));
      if (k == 0) g.AddInput(v); else g.AddOutput(v);
    }
  }
  // Producers as recorded (AddNode set them; a dead node's outputs lost theirs).
  for (ir::ValueId v = 0; v < g.num_values(); ++v) {
    const int32_t p = producers[static_cast<size_t>(v)];
    if (p != ir::kNoNode && (p < 0 || p >= g.num_nodes())) {
      return r.Bad("value " + std::to_string(v) + " has producer " + std::to_string(p));
    }
    g.value(v).producer = p;
  }
  ASSIGN_OR_RETURN(uint32_t num_constants, r.Count("reordered weights"));
  for (uint32_t i = 0; i < num_constants; ++i) {
    ASSIGN_OR_RETURN(int32_t value, r.Pod<int32_t>("a reordered weight"));
    if (!valid_value(value, false)) return r.Bad("a reordered weight names value " + std::to_string(value));
    ASSIGN_OR_RETURN(dnnl_memory_desc_t raw, r.Pod<dnnl_memory_desc_t>("a reordered weight"));
    RETURN_IF_ERROR(CheckDesc(raw, r));
    ASSIGN_OR_RETURN(auto span, ReadSpan(r, blob.size(), "a reordered weight"));
    dnnl::memory::desc desc(raw);
    if (desc.get_size() != span.second) {
      return r.Bad("reordered weight of '" + g.value(value).name + "' has " + std::to_string(span.second) +
                   " bytes, its descriptor " + std::to_string(desc.get_size()));
    }
    out.constants.push_back({value, desc, blob.data() + span.first});
  }
  if (r.pos() != meta_bytes) return r.Bad("metadata has " + std::to_string(meta_bytes - r.pos()) + " bytes left over");
  if (spdlog::should_log(spdlog::level::debug)) {
    size_t graph_bytes = 0, table_bytes = 0;
    for (ir::ValueId v = 0; v < g.num_values(); ++v) {
      if (g.value(v).is_constant()) graph_bytes += static_cast<size_t>(g.value(v).constant->size()) * sizeof(float);
    }
    for (const auto& c : out.constants) table_bytes += c.desc.get_size();
    spdlog::debug("compiled file: {} values, {} nodes, {:.1f} MiB of constants in the graph (copied), "
                  "{} weights {:.1f} MiB mapped", g.num_values(), g.num_nodes(), graph_bytes / 1048576.0,
                  out.constants.size(), table_bytes / 1048576.0);
  }
  // Structure: every node reads values that exist and no cycle. Shapes and
  // attributes are checked again when the plans are built.
  auto order = g.TopologicalOrder();
  if (!order.ok()) return InvalidArgument("compiled file: " + order.status().message());
  if (g.inputs().empty() || g.outputs().empty()) {
    return InvalidArgument("compiled file: the graph has no input or no output");
  }
  return out;
}

}  // namespace kamado::runtime
