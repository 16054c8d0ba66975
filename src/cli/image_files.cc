#include "cli/image_files.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "core/file_util.h"

namespace kamado::cli {

std::string ImageContentType(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  return "";
}

Result<std::vector<std::filesystem::path>> ListImages(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("--images '" + dir + "' is not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && !ImageContentType(entry.path()).empty()) {
      files.push_back(entry.path());
    }
  }
  if (ec) return InvalidArgument("cannot list --images '" + dir + "': " + ec.message());
  if (files.empty()) {
    return NotFound("no .jpg, .jpeg, .png or .webp images in --images '" + dir + "'");
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<std::filesystem::path>> CollectImages(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> paths;
  for (const std::string& a : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(a, ec)) {
      ASSIGN_OR_RETURN(auto found, ListImages(a));
      paths.insert(paths.end(), found.begin(), found.end());
    } else {
      paths.emplace_back(a);
    }
  }
  return paths;
}

}  // namespace kamado::cli

namespace kamado::cli {

Result<std::vector<perf::Payload>> ReadImagePayloads(const std::string& dir, const char* command) {
  constexpr size_t kMaxImages = 1000;
  ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files, ListImages(dir));
  if (files.size() > kMaxImages) {
    std::cerr << command << ": using the first " << kMaxImages << " of " << files.size() << " images in '"
              << dir << "'\n";
    files.resize(kMaxImages);
  }
  std::vector<perf::Payload> payloads;
  for (const std::filesystem::path& f : files) {
    ASSIGN_OR_RETURN(std::string body, ReadFile(f, size_t{64} << 20));
    payloads.push_back({f.filename().string(), ImageContentType(f), std::move(body)});
  }
  return payloads;
}

}  // namespace kamado::cli
