// The corpora's MANIFEST.tsv files (tests/data/bad, tests/data/http): one
// case per line, tab-separated fields, '#' comments and blank lines skipped.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kamado::testing {

// Each line's fields; empty when the file cannot be read.
inline std::vector<std::vector<std::string>> ReadManifestRows(const std::filesystem::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string f; std::getline(split, f, '\t');) fields.push_back(f);
    rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace kamado::testing
