#include "runtime/compiled_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "core/build_info.h"
#include "core/sha256.h"
#include "runtime/dnnl/dnnl_util.h"

namespace kamado::runtime {
namespace {

constexpr char kMagic[8] = {'K', 'A', 'M', 'A', 'D', 'O', 'C', 1};
constexpr size_t kAlign = 4096;
constexpr size_t kDigestBytes = 32;
// Bounds the parser holds every count to, far above any real model, so a
// corrupt count fails at once instead of reserving gigabytes.
constexpr uint64_t kMaxCount = 1 << 22;
constexpr uint64_t kMaxString = 1 << 16;
constexpr uint32_t kMaxRank = 8;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::string IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "isa#" + std::to_string(static_cast<int>(isa));
  }
}

// ---- writing ---------------------------------------------------------------

class Writer {
 public:
  template <typename T>
  void Pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&v);
    out_.append(p, sizeof(T));
  }
  void U8(uint8_t v) { Pod(v); }
  void U32(uint32_t v) { Pod(v); }
  void I32(int32_t v) { Pod(v); }
  void U64(uint64_t v) { Pod(v); }
  void I64(int64_t v) { Pod(v); }
  void F32(float v) { Pod(v); }
  void Str(const std::string& s) {
    U64(s.size());
    out_.append(s);
  }
  void Ints(const std::vector<int64_t>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (int64_t x : v) I64(x);
  }
  template <size_t N>
  void Ints(const std::array<int64_t, N>& v) {
    for (int64_t x : v) I64(x);
  }
  void Ids(const std::vector<int32_t>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (int32_t x : v) I32(x);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

void WriteActivation(Writer& w, const ir::Activation& a) {
  w.U8(static_cast<uint8_t>(a.kind));
  w.F32(a.alpha);
  w.F32(a.beta);
}

void WritePostOps(Writer& w, const std::vector<ir::PostOp>& ops) {
  w.U32(static_cast<uint32_t>(ops.size()));
  for (const ir::PostOp& op : ops) {
    w.U8(static_cast<uint8_t>(op.kind));
    WriteActivation(w, op.activation);
  }
}

void WriteAttrs(Writer& w, const ir::Attrs& attrs) {
  w.U8(static_cast<uint8_t>(attrs.index()));
  std::visit(
      [&w](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ir::ConvAttrs>) {
          w.Ints(a.kernel), w.Ints(a.strides), w.Ints(a.dilations), w.Ints(a.pads);
          w.I64(a.group);
          WritePostOps(w, a.post_ops);
        } else if constexpr (std::is_same_v<T, ir::BatchNormAttrs>) {
          w.F32(a.epsilon);
        } else if constexpr (std::is_same_v<T, ir::ActivationAttrs>) {
          WriteActivation(w, a.activation);
        } else if constexpr (std::is_same_v<T, ir::PadAttrs>) {
          w.Ints(a.pads);
          w.F32(a.value);
        } else if constexpr (std::is_same_v<T, ir::PoolAttrs>) {
          w.Ints(a.kernel), w.Ints(a.strides), w.Ints(a.pads);
          w.U8(a.count_include_pad);
          WritePostOps(w, a.post_ops);
        } else if constexpr (std::is_same_v<T, ir::ConcatAttrs>) {
          w.I64(a.axis);
        } else if constexpr (std::is_same_v<T, ir::FlattenAttrs>) {
          w.U8(a.channels_last);
        } else if constexpr (std::is_same_v<T, ir::DenseAttrs>) {
          WritePostOps(w, a.post_ops);
        } else if constexpr (std::is_same_v<T, ir::SoftmaxAttrs>) {
          w.I64(a.axis);
        } else if constexpr (std::is_same_v<T, ir::BinaryAttrs>) {
          w.U8(static_cast<uint8_t>(a.kind));
        } else if constexpr (std::is_same_v<T, ir::ReshapeAttrs>) {
          w.Ints(a.shape);
        } else if constexpr (std::is_same_v<T, ir::TransposeAttrs>) {
          w.Ints(a.perm);
        } else {
          static_assert(std::is_same_v<T, std::monostate>, "an Attrs alternative is not written");
        }
      },
      attrs);
}

void WriteKey(Writer& w, const CompiledFileKey& k) {
  w.Str(k.model_hash), w.Str(k.build), w.Str(k.onednn), w.Str(k.isa), w.Str(k.precision);
  w.Ints(k.batches);
  w.I32(k.threads);
  w.U8(k.winograd);
}

// ---- reading ---------------------------------------------------------------

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
  if (kind > static_cast<uint8_t>(ir::ActivationKind::kSqrt)) return r.Bad("unknown activation kind " + std::to_string(kind));
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
    default:
      return r.Bad("unknown attribute kind " + std::to_string(index));
  }
}
static_assert(std::variant_size_v<ir::Attrs> == 13, "ReadAttrs must read every Attrs alternative");

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

// Checks a descriptor read from the file before oneDNN computes with it.
Status CheckDesc(const dnnl_memory_desc_t& d, Reader& r) {
  if (d.ndims < 1 || d.ndims > static_cast<int>(kMaxRank)) return r.Bad("a weight has rank " + std::to_string(d.ndims));
  if (d.data_type != dnnl_f32) return r.Bad("a weight is not f32");
  if (d.format_kind != dnnl_blocked && d.format_kind != dnnl_format_kind_wino) {
    return r.Bad("a weight has format kind " + std::to_string(d.format_kind));
  }
  if (d.offset0 != 0) return r.Bad("a weight has an offset");
  for (int i = 0; i < d.ndims; ++i) {
    if (d.dims[i] < 1 || d.dims[i] > (int64_t{1} << 31) || d.padded_dims[i] < d.dims[i] ||
        d.padded_dims[i] > (int64_t{1} << 31) || d.padded_offsets[i] != 0) {
      return r.Bad("a weight has dimension " + std::to_string(d.dims[i]));
    }
  }
  if (d.format_kind == dnnl_blocked) {
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

CompiledFileKey CurrentCompiledFileKey(std::string model_hash, std::vector<int64_t> batches,
                                       int threads, bool winograd) {
  CompiledFileKey k;
  k.model_hash = std::move(model_hash);
  k.build = CurrentBuild().ToString();
  const dnnl_version_t* v = dnnl_version();
  k.onednn = std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
             std::to_string(v->patch) + " (" + (v->hash ? v->hash : "") + ")";
  k.isa = IsaName(dnnl::get_effective_cpu_isa());
  k.batches = std::move(batches);
  k.threads = threads;
  k.winograd = winograd;
  return k;
}

Status WriteCompiledFile(const CompiledModel& model, const CompiledFileKey& key,
                         const std::filesystem::path& path) {
  // A batch size the model cannot run at (a constant with a row per sample)
  // is left out; the server finds that out itself when it warms up.
  for (size_t i = 0; i < key.batches.size(); ++i) {
    auto plan = model.GetPlan(key.batches[i], key.threads);
    if (!plan.ok() && i == 0) return plan.status();
  }
  const ir::Graph& g = model.graph();
  const auto constants = model.ReorderedConstants();

  // The weight data: each piece 4 KiB-aligned (the reordered weights, then
  // the graph's remaining constant tensors).
  std::vector<std::pair<const void*, size_t>> pieces;
  std::vector<uint64_t> offsets;
  uint64_t blob = 0;
  auto add = [&](const void* p, size_t n) {
    offsets.push_back(blob);
    pieces.emplace_back(p, n);
    blob = AlignUp(blob + n);
    return offsets.back();
  };

  // A constant whose only reordered copy is in Winograd's format keeps its
  // source in the graph (oneDNN cannot reorder out of Winograd's format).
  // It goes in the table too, in its plain layout, so a reader keeps no
  // private copy of it: its graph value is written without data.
  std::set<ir::ValueId> in_table;
  std::vector<std::pair<ir::ValueId, dnnl::memory>> plain_sources;
  for (const auto& [value, memory] : constants) in_table.insert(value);
  for (ir::ValueId value : in_table) {
    const ir::Value& v = g.value(value);
    if (!v.is_constant() || v.constant->shape().empty() || v.constant->shape().size() > 6) continue;
    static constexpr dnnl::memory::format_tag kPlain[] = {
        dnnl::memory::format_tag::a, dnnl::memory::format_tag::ab, dnnl::memory::format_tag::abc,
        dnnl::memory::format_tag::abcd, dnnl::memory::format_tag::abcde, dnnl::memory::format_tag::abcdef};
    const Shape& shape = v.constant->shape();
    const dnnl::memory::desc desc(dnnl::memory::dims(shape.begin(), shape.end()), dnnl::memory::data_type::f32,
                                  kPlain[shape.size() - 1]);
    plain_sources.emplace_back(value, dnnl::memory(desc, CpuEngine(), const_cast<float*>(v.constant->data())));
  }

  Writer w;
  WriteKey(w, key);
  w.Str(g.name);
  w.U8(static_cast<uint8_t>(g.input_layout));
  w.U32(static_cast<uint32_t>(g.num_values()));
  for (ir::ValueId id = 0; id < g.num_values(); ++id) {
    const ir::Value& v = g.value(id);
    w.Str(v.name);
    w.Ints(std::vector<int64_t>(v.shape.begin(), v.shape.end()));
    w.I32(v.producer);
    const bool with_data = v.is_constant() && in_table.count(id) == 0;
    w.U8(with_data);
    if (with_data) {
      w.Ints(std::vector<int64_t>(v.constant->shape().begin(), v.constant->shape().end()));
      const size_t bytes = static_cast<size_t>(v.constant->size()) * sizeof(float);
      w.U64(add(v.constant->data(), bytes));
      w.U64(bytes);
    }
  }
  w.U32(static_cast<uint32_t>(g.num_nodes()));
  for (ir::NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    w.Str(n.name);
    w.U8(static_cast<uint8_t>(n.op));
    w.Ids(n.inputs);
    w.Ids(n.outputs);
    w.U8(n.dead);
    WriteAttrs(w, n.attrs);
  }
  w.Ids(g.inputs());
  w.Ids(g.outputs());
  w.U32(static_cast<uint32_t>(constants.size() + plain_sources.size()));
  for (const auto& [value, memory] : plain_sources) {
    const dnnl::memory::desc desc = memory.get_desc();
    w.I32(value);
    w.Pod(desc.data);
    w.U64(add(memory.get_data_handle(), desc.get_size()));
    w.U64(desc.get_size());
  }
  for (const auto& [value, memory] : constants) {
    const dnnl::memory::desc desc = memory.get_desc();
    w.I32(value);
    w.Pod(desc.data);
    w.U64(add(memory.get_data_handle(), desc.get_size()));
    w.U64(desc.get_size());
  }

  std::string& meta = w.bytes();
  std::string head(kMagic, sizeof(kMagic));
  const uint64_t meta_bytes = meta.size();
  head.append(reinterpret_cast<const char*>(&meta_bytes), sizeof(meta_bytes));
  head += meta;
  head.resize(AlignUp(head.size()), '\0');

  Sha256 digest;
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(getpid());
  std::error_code ec;
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  auto put = [&](const void* p, size_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    digest.Update(p, n);
  };
  put(head.data(), head.size());
  const std::string zeros(kAlign, '\0');
  uint64_t at = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    put(pieces[i].first, pieces[i].second);
    at = offsets[i] + pieces[i].second;
    const uint64_t next = i + 1 < pieces.size() ? offsets[i + 1] : blob;
    if (next > at) put(zeros.data(), next - at);
  }
  const std::string sum = digest.Final();
  out.write(sum.data(), static_cast<std::streamsize>(sum.size()));
  out.close();
  if (!out) {
    std::filesystem::remove(tmp, ec);
    return InvalidArgument("cannot write the compiled file " + tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return InvalidArgument("cannot rename the compiled file to " + path.string() + ": " + ec.message());
  }
  return Status::Ok();
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

namespace {

// A read-only shared mapping of a whole file, unmapped when released.
struct Mapping {
  void* addr = MAP_FAILED;
  size_t bytes = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, bytes);
  }
};

}  // namespace

Result<std::shared_ptr<const CompiledModel>> LoadCompiledFile(const std::filesystem::path& path,
                                                              const CompiledFileKey& expected) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no compiled file " + path.string());
    return InvalidArgument("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return InvalidArgument(path.string() + " is not a regular file");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->bytes = static_cast<size_t>(st.st_size);
  if (mapping->bytes > 0) {
    // Shared and read-only: the weights are the file's page-cache pages,
    // one physical copy for every process that maps the file.
    mapping->addr = mmap(nullptr, mapping->bytes, PROT_READ, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (mapping->bytes > 0 && mapping->addr == MAP_FAILED) {
    return InvalidArgument("cannot map " + path.string() + ": " + std::strerror(errno));
  }
  const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(mapping->addr == MAP_FAILED ? nullptr : mapping->addr),
                                       mapping->bytes);
  auto parsed = ParseCompiledFile(bytes, /*verify_checksum=*/true);
  if (!parsed.ok()) return parsed.status().WithPrefix(path.string() + ": ");
  if (parsed->key != expected) {
    return InvalidArgument(path.string() + ": stale compiled file: " + parsed->key.Difference(expected));
  }
  std::vector<std::pair<ir::ValueId, dnnl::memory>> constants;
  try {
    for (const auto& c : parsed->constants) {
      constants.emplace_back(c.value, dnnl::memory(c.desc, CpuEngine(), const_cast<void*>(c.data)));
    }
  } catch (const dnnl::error& e) {
    return FromDnnlError(e, "mapping the weights of " + path.string());
  }
  auto model = CompiledModel::FromCompiled(std::move(parsed->graph), expected.winograd, expected.threads,
                                           std::move(constants), mapping);
  if (!model.ok()) return model.status().WithPrefix(path.string() + ": ");
  return model;
}

}  // namespace kamado::runtime
