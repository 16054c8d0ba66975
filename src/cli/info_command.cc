#include "cli/info_command.h"


#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/build_info.h"
#include "core/cpu_features.h"
#include "runtime/dnnl/dnnl_util.h"
#include "runtime/precision.h"
#include "serving/cpu_budget.h"
#include "serving/memory_budget.h"

namespace kamado::cli {
namespace {

struct InfoArgs {
  bool json = false;
};

nlohmann::ordered_json Collect() {
  nlohmann::ordered_json j;
  auto cpu = ReadCpuFeatures();
  if (cpu.ok()) {
    j["cpu"] = {{"model_name", cpu->model_name},
                {"vendor", cpu->vendor},
                {"family", cpu->family},
                {"model", cpu->model}};
    nlohmann::ordered_json features = nlohmann::ordered_json::object();
    for (const NamedFeature& f : KamadoCpuFeatures()) features[f.name] = cpu->Has(f.flag);
    j["features"] = features;
  } else {
    j["cpu"] = {{"error", cpu.status().message()}};
  }
  const serving::CpuBudget budget = serving::DetectCpuBudget();
  const std::vector<int> allowed = serving::AllowedCpus();
  j["cpus"] = {{"usable", budget.cpus},
               {"source", budget.source},
               {"affinity", serving::CpuListString(allowed)}};
  // What `kamado serve` runs with no flags here (a container sizes itself
  // from its CPU limit: this is how to see it from inside).
  const serving::Parallelism p = serving::DefaultParallelism(budget.cpus);
  j["serve_default"] = {{"workers", 1}, {"sessions", p.sessions}, {"threads", p.threads}};
  if (const auto limit = serving::DetectMemoryLimit()) {
    j["memory"] = {{"limit_bytes", limit->bytes}, {"source", limit->source}};
  } else {
    j["memory"] = {{"limit_bytes", nullptr}, {"source", "no cgroup limit below the machine's memory"}};
  }
  const char* max_isa = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string version = runtime::OneDnnVersion();  // "2.6.3 (hash)"
  j["onednn"] = {{"version", version.substr(0, version.find(' '))},
                 {"hash", version.substr(version.find('(') + 1, version.size() - version.find('(') - 2)},
                 {"isa", runtime::EffectiveIsaName()},
                 {"max_cpu_isa", max_isa ? max_isa : ""}};
  nlohmann::ordered_json precisions = nlohmann::ordered_json::object();
  for (runtime::Precision p :
       {runtime::Precision::kFp32, runtime::Precision::kBf16, runtime::Precision::kInt8}) {
    const Status s = runtime::CheckPrecisionSupported(p);
    precisions[std::string(runtime::PrecisionName(p))] = {{"available", s.ok()},
                                                          {"runs_on", runtime::PrecisionEngine(p)}};
  }
  j["precisions"] = precisions;
  j["kamado"] = {{"build", CurrentBuild().ToString()}};
  return j;
}

void PrintText(const nlohmann::ordered_json& j, std::ostream& out) {
  const auto& cpu = j["cpu"];
  if (cpu.contains("error")) {
    out << "CPU:        unknown (" << cpu["error"].get<std::string>() << ")\n";
  } else {
    out << "CPU:        " << cpu["model_name"].get<std::string>() << " ("
        << cpu["vendor"].get<std::string>() << ", family " << cpu["family"].get<int>() << " model "
        << cpu["model"].get<int>() << ")\n";
    std::string have, lack;
    for (const auto& [name, present] : j["features"].items()) {
      (present.get<bool>() ? have : lack) += (name + "  ");
    }
    out << "features:   " << (have.empty() ? "(none of those below)" : have) << "\n";
    out << "lacks:      " << (lack.empty() ? "nothing kamado uses" : lack) << "\n";
  }
  const auto& cpus = j["cpus"];
  out << "CPUs:       " << cpus["usable"].get<double>() << " usable ("
      << cpus["source"].get<std::string>() << "), affinity "
      << cpus["affinity"].get<std::string>() << "\n";
  const auto& sd = j["serve_default"];
  out << "serve:      " << sd["workers"].get<int>() << " worker × " << sd["sessions"].get<int>()
      << " sessions × " << sd["threads"].get<int>() << " threads with no flags\n";
  const auto& mem = j["memory"];
  if (mem["limit_bytes"].is_null()) {
    out << "memory:     " << mem["source"].get<std::string>() << "\n";
  } else {
    out << "memory:     limit " << mem["limit_bytes"].get<int64_t>() / 1048576 << " MiB ("
        << mem["source"].get<std::string>() << ")\n";
  }
  const auto& d = j["onednn"];
  out << "oneDNN:     " << d["version"].get<std::string>() << " ("
      << d["hash"].get<std::string>() << "), dispatches to " << d["isa"].get<std::string>();
  if (!d["max_cpu_isa"].get<std::string>().empty()) {
    out << " (ONEDNN_MAX_CPU_ISA=" << d["max_cpu_isa"].get<std::string>() << ")";
  }
  out << "\n";
  for (const auto& [name, p] : j["precisions"].items()) {
    out << "  " << name << ":" << std::string(8 - name.size(), ' ')
        << p["runs_on"].get<std::string>() << "\n";
  }
  out << "kamado:     " << j["kamado"]["build"].get<std::string>() << "\n";
}

}  // namespace

void AddInfoCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "info", "This machine as kamado sees it: CPU features, usable CPUs, oneDNN's ISA, precisions");
  cmd->add_flag("--json", args->json, "One JSON object");
  cmd->callback([args, &exit_code] {
    const nlohmann::ordered_json j = Collect();
    if (args->json) {
      std::cout << j.dump() << "\n";
    } else {
      PrintText(j, std::cout);
    }
    exit_code = 0;
  });
}

}  // namespace kamado::cli
