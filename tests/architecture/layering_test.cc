// The layer graph is a rule of the build, not only of the docs: this test
// reads the layer table of docs/ARCHITECTURE.md (between the `<!-- layers -->`
// markers: layer, folder, targets, may use) and fails when
//   - a target under src/ links a project target of a layer it may not use
//     (the build's own link lists, written by CMake to layer_links.txt);
//   - a file under src/ includes a header of a layer it may not use;
//   - a target or a folder under src/ is missing from the table.
// Run from the repository root.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_util.h"

namespace kamado {
namespace {

namespace fs = std::filesystem;

struct Layer {
  std::string name;
  std::string folder;               // "src/runtime/reference"
  std::set<std::string> targets;    // "kamado_reference"
  std::set<std::string> may_use;    // layer names
};

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c) && c != '`'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) {
    part = Trim(part);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// The rows of the table between "<!-- layers" and "<!-- /layers -->".
std::vector<Layer> ParseLayerTable(const std::string& markdown) {
  std::vector<Layer> layers;
  std::stringstream in(markdown);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("<!-- layers", 0) == 0) {
      inside = true;
      continue;
    }
    if (line.rfind("<!-- /layers", 0) == 0) break;
    if (!inside || line.rfind("|", 0) != 0 || line.find("---") != std::string::npos) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    std::string cell;
    while (std::getline(row, cell, '|')) cells.push_back(Trim(cell));
    if (cells.size() < 4 || cells[0] == "layer") continue;
    Layer l;
    l.name = cells[0];
    l.folder = cells[1];
    for (const std::string& t : SplitOn(cells[2], ',')) l.targets.insert(t);
    for (const std::string& u : SplitOn(cells[3], ',')) {
      if (u != "—" && u != "-") l.may_use.insert(u);
    }
    layers.push_back(std::move(l));
  }
  return layers;
}

class LayerRules {
 public:
  explicit LayerRules(std::vector<Layer> layers) : layers_(std::move(layers)) {}

  const std::vector<Layer>& layers() const { return layers_; }

  const Layer* ByTarget(const std::string& target) const {
    for (const Layer& l : layers_) {
      if (l.targets.count(target)) return &l;
    }
    return nullptr;
  }
  // The layer whose folder is the longest prefix of `path` ("src/runtime/ops/x.cc").
  const Layer* ByPath(const std::string& path) const {
    const Layer* best = nullptr;
    for (const Layer& l : layers_) {
      const std::string prefix = l.folder + "/";
      if (path.rfind(prefix, 0) == 0 && (!best || l.folder.size() > best->folder.size())) best = &l;
    }
    return best;
  }
  bool MayUse(const Layer& from, const Layer& to) const {
    return &from == &to || from.may_use.count(to.name) > 0;
  }

  // One message per link from a project target to a layer it may not use.
  // `links`: "target|folder|dep;dep;..." lines.
  std::vector<std::string> CheckLinks(const std::string& links) const {
    std::vector<std::string> errors;
    std::stringstream in(links);
    std::string line;
    while (std::getline(in, line)) {
      const std::vector<std::string> f = [&] {
        std::vector<std::string> parts;
        std::stringstream l(line);
        std::string p;
        while (std::getline(l, p, '|')) parts.push_back(p);
        return parts;
      }();
      if (f.size() < 2) continue;
      const Layer* from = ByTarget(f[0]);
      if (!from) {
        errors.push_back("target " + f[0] + " (" + f[1] + ") is in no layer of the table");
        continue;
      }
      if (from->folder != f[1]) {
        errors.push_back("target " + f[0] + " is in " + f[1] + ", the table says " + from->folder);
      }
      for (const std::string& dep : SplitOn(f.size() > 2 ? f[2] : "", ';')) {
        const Layer* to = ByTarget(dep);
        if (to && !MayUse(*from, *to)) {
          errors.push_back("target " + f[0] + " (layer " + from->name + ") links " + dep +
                           " (layer " + to->name + "), which it may not use");
        }
      }
    }
    return errors;
  }

  // One message per #include of a layer `path` may not use. `text` is the file.
  std::vector<std::string> CheckIncludes(const std::string& path, const std::string& text) const {
    std::vector<std::string> errors;
    const Layer* from = ByPath(path);
    if (!from) return {path + " is in no layer's folder"};
    static const std::regex include(R"re(^\s*#\s*include\s*"([a-z_]+/[^"]+)")re");
    std::stringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const Layer* to = ByPath("src/" + m[1].str());
      if (to && !MayUse(*from, *to)) {
        errors.push_back(path + ":" + std::to_string(number) + " (layer " + from->name +
                         ") includes \"" + m[1].str() + "\" (layer " + to->name +
                         "), which it may not use");
      }
    }
    return errors;
  }

 private:
  std::vector<Layer> layers_;
};

LayerRules LoadRules() {
  auto doc = ReadFile("docs/ARCHITECTURE.md");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return LayerRules(ParseLayerTable(doc.ok() ? *doc : ""));
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST(Layering, TheTableNamesEveryLayerOnce) {
  const LayerRules rules = LoadRules();
  ASSERT_GE(rules.layers().size(), 10u) << "no layer table found in docs/ARCHITECTURE.md";
  std::set<std::string> names;
  for (const Layer& l : rules.layers()) {
    EXPECT_TRUE(names.insert(l.name).second) << "layer " << l.name << " is listed twice";
    EXPECT_TRUE(fs::is_directory(l.folder)) << l.name << ": no folder " << l.folder;
  }
  for (const Layer& l : rules.layers()) {
    for (const std::string& u : l.may_use) {
      EXPECT_TRUE(names.count(u)) << l.name << " may use '" << u << "', which is not a layer";
    }
  }
  // Every folder directly under src/ belongs to a layer.
  for (const auto& entry : fs::directory_iterator("src")) {
    if (!entry.is_directory()) continue;
    EXPECT_NE(rules.ByPath(entry.path().string() + "/x.cc"), nullptr)
        << entry.path() << " is in no layer of docs/ARCHITECTURE.md";
  }
}

TEST(Layering, EveryTargetLinksOnlyLayersItMayUse) {
  const LayerRules rules = LoadRules();
  auto links = ReadFile(KAMADO_LAYER_LINKS);
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  ASSERT_NE(links->find("kamado_runtime|src/runtime|"), std::string::npos) << *links;
  const auto errors = rules.CheckLinks(*links);
  EXPECT_TRUE(errors.empty()) << Join(errors);
}

TEST(Layering, EveryIncludeIsOfALayerItMayUse) {
  const LayerRules rules = LoadRules();
  std::vector<std::string> errors;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator("src")) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
    auto text = ReadFile(entry.path());
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    const auto e = rules.CheckIncludes(entry.path().string(), *text);
    errors.insert(errors.end(), e.begin(), e.end());
    ++files;
  }
  EXPECT_GT(files, 100);
  EXPECT_TRUE(errors.empty()) << Join(errors);
}

// The checks can fail: the dependency this issue removed (image on runtime,
// runtime on the importers) is reported, by link and by include.
TEST(Layering, ReportsALinkOrIncludeThatPointsUp) {
  const LayerRules rules = LoadRules();
  const auto links = rules.CheckLinks(
      "kamado_image|src/image|kamado_image_decode;kamado_runtime\n"
      "kamado_runtime|src/runtime|kamado_ir;kamado_importers\n"
      "kamado_shiny|src/shiny|kamado_core\n");
  ASSERT_EQ(links.size(), 3u) << Join(links);
  EXPECT_NE(links[0].find("links kamado_runtime (layer runtime)"), std::string::npos) << links[0];
  EXPECT_NE(links[1].find("links kamado_importers (layer importers)"), std::string::npos);
  EXPECT_NE(links[2].find("kamado_shiny (src/shiny) is in no layer"), std::string::npos);

  const auto includes = rules.CheckIncludes(
      "src/image/preprocess.h", "#include <vector>\n#include \"core/tensor.h\"\n"
                                "  #include \"runtime/model_config.h\"\n");
  ASSERT_EQ(includes.size(), 1u) << Join(includes);
  EXPECT_NE(includes[0].find("src/image/preprocess.h:3 (layer image) includes "
                             "\"runtime/model_config.h\" (layer runtime)"),
            std::string::npos)
      << includes[0];
  // The reference kernels sit inside src/runtime but are their own layer.
  EXPECT_EQ(rules.ByPath("src/runtime/reference/reference_kernels.cc")->name, "reference");
  EXPECT_EQ(rules.ByPath("src/runtime/ops/pooling.cc")->name, "runtime");
}

}  // namespace
}  // namespace kamado
