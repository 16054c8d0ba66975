#include "core/file_util.h"

#include <fstream>
#include <system_error>

namespace kamado {

Result<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("file '" + path.string() + "' does not exist or is not a regular file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Internal("cannot stat '" + path.string() + "': " + ec.message());
  if (size > max_bytes) {
    return InvalidArgument("file '" + path.string() + "' is " + std::to_string(size) +
                           " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path.string() + "'");
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (!in) return Internal("short read on '" + path.string() + "'");
  return data;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) return InvalidArgument("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InvalidArgument("cannot replace " + path.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace kamado
