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

#include "core/build_info.h"
#include "core/sha256.h"
#include "runtime/compiled_file_internal.h"
#include "runtime/dnnl/dnnl_util.h"

namespace kamado::runtime {
namespace {

using namespace compiled_file_internal;

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
          w.U8(a.relu);
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
        } else if constexpr (std::is_same_v<T, ir::SliceAttrs>) {
          w.Ints(a.starts);
          w.Ints(a.sizes);
        } else if constexpr (std::is_same_v<T, ir::LayerNormAttrs>) {
          w.I64(a.axis);
          w.F32(a.epsilon);
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

}  // namespace

CompiledFileKey CurrentCompiledFileKey(std::string model_hash, std::vector<int64_t> batches,
                                       int threads, bool winograd, Precision precision) {
  CompiledFileKey k;
  k.model_hash = std::move(model_hash);
  k.build = CurrentBuild().ToString();
  k.onednn = OneDnnVersion();
  k.isa = EffectiveIsaName();
  k.batches = std::move(batches);
  k.threads = threads;
  k.winograd = winograd;
  k.precision = std::string(PrecisionName(precision));
  return k;
}

Status WriteCompiledFile(const CompiledModel& model, const CompiledFileKey& key,
                         const std::filesystem::path& path) {
  if (key.precision != PrecisionName(model.precision())) {
    return Internal("compiled file key says precision " + key.precision + " for a " +
                    std::string(PrecisionName(model.precision())) + " model");
  }
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
  // (Not for int8: it keeps every fp32 source, whose plain copy would carry
  // the same descriptor as a bias already scaled into accumulator units;
  // the file holds only the quantised copies.)
  for (ir::ValueId value : in_table) {
    const ir::Value& v = g.value(value);
    if (model.precision() == Precision::kInt8) break;
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

Result<std::shared_ptr<const CompiledModel>> LoadCompiledFile(
    const std::filesystem::path& path, const CompiledFileKey& expected,
    std::shared_ptr<const QuantTable> quantization) {
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
  if (!parsed.ok()) return parsed.status().WithPrefix(path.string());
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
  auto precision = ParsePrecision(expected.precision);
  if (!precision.ok()) return precision.status().WithPrefix(path.string());
  auto model = CompiledModel::FromCompiled(std::move(parsed->graph), expected.winograd, *precision,
                                           expected.threads, std::move(constants), mapping,
                                           std::move(quantization));
  if (!model.ok()) return model.status().WithPrefix(path.string());
  return model;
}

}  // namespace kamado::runtime
