#include "serving/cgroup_paths.h"

#include <sstream>

#include "core/file_util.h"

namespace kamado::serving {

namespace fs = std::filesystem;

std::string SelfCgroupPath(const std::string& self_cgroup, const std::string& controller) {
  std::istringstream in(self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string names = line.substr(a + 1, b - a - 1);
    std::istringstream list(names);
    std::string name;
    bool match = controller.empty() && names.empty();
    while (!match && std::getline(list, name, ',')) match = name == controller;
    if (match) return line.substr(b + 1);
  }
  return {};
}

std::string ReadSelfCgroup() {
  auto text = ReadFile("/proc/self/cgroup");
  return text.ok() ? *std::move(text) : std::string();
}

std::vector<fs::path> CgroupDirs(const fs::path& root, const std::string& self_cgroup,
                                 const std::string& controller, const std::vector<std::string>& mounts) {
  const std::string own = SelfCgroupPath(self_cgroup, controller);
  std::vector<fs::path> dirs;
  if (!own.empty() && own != "/" && own.front() == '/') {
    for (const std::string& m : mounts) {
      // The own cgroup, then each ancestor below the mount: limits are
      // hierarchical, so a parent slice's quota binds this process too.
      fs::path rel = fs::path(own.substr(1)).lexically_normal();
      if (!rel.empty() && rel.filename().empty()) rel = rel.parent_path();  // "a/b/"
      if (rel.empty() || rel == "." || *rel.begin() == "..") continue;  // climbs out of the mount
      while (!rel.empty()) {
        dirs.push_back((m.empty() ? root : root / m) / rel);
        if (!rel.has_parent_path()) break;
        rel = rel.parent_path();
      }
    }
  }
  for (const std::string& m : mounts) dirs.push_back(m.empty() ? root : root / m);
  return dirs;
}

}  // namespace kamado::serving
