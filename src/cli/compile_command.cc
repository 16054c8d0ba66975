#include "cli/compile_command.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli/precision_flag.h"
#include "model/model_loader.h"
#include "serving/cpu_budget.h"

namespace kamado::cli {
namespace {

struct CompileArgs {
  std::string model;
  std::string output;
  std::string cache;
  int workers = 1;
  int sessions = 0;
  int threads = 0;
  int max_batch = 8;
  std::string precision;
};

int RunCompile(const CompileArgs& args) {
  // The thread count `kamado serve` would choose with the same settings, so
  // the file's key matches the server's.
  const serving::CpuBudget budget = serving::DetectCpuBudget();
  const double cpus = std::max(1.0, std::floor(budget.cpus / std::max(1, args.workers)));
  const serving::Parallelism p = serving::DefaultParallelism(cpus, args.sessions, args.threads);
  runtime::CompileOptions options;
  options.threads = p.threads;
  options.precision = PrecisionFromFlag(args.precision);
  model::CompiledCache cache;
  cache.dir = args.cache;
  cache.file = args.output;
  cache.batches.clear();
  for (int b = 1; b <= std::max(1, args.max_batch); ++b) cache.batches.push_back(b);
  const auto start = std::chrono::steady_clock::now();
  auto loaded = model::LoadModel(args.model, options, &cache);
  if (!loaded.ok()) {
    std::cerr << "kamado compile: " << loaded.status().ToString() << "\n";
    return 2;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (loaded->compiled_file.empty()) {
    std::cerr << "kamado compile: the compiled file could not be written (see the warning above)\n";
    return 2;
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(loaded->compiled_file, ec);
  std::cout << loaded->compiled_file.string() << ": " << loaded->compiled_how << " in "
            << static_cast<int>(ms) << " ms, " << (ec ? 0 : bytes / 1048576) << " MiB, batch 1.."
            << cache.batches.back() << " × " << p.threads << " threads, "
            << runtime::PrecisionName(loaded->config.precision) << "\n";
  return 0;
}

}  // namespace

void AddCompileCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Write a model's compiled file (weights in this CPU's layouts) for kamado serve to map");
  cmd->add_option("--model", args->model, "Model directory")->required();
  cmd->add_option("-o,--output", args->output, "The file to write (default: CACHE/<model name>.kmc)");
  cmd->add_option("--compile-cache", args->cache, "Directory kamado serve --compile-cache reads")
      ->default_val("");
  cmd->add_option("--workers", args->workers, "As kamado serve will be run (sizes the threads)");
  cmd->add_option("--sessions", args->sessions, "As kamado serve will be run");
  cmd->add_option("--threads", args->threads, "As kamado serve will be run; 0: from the CPU quota");
  cmd->add_option("--max-batch", args->max_batch, "As kamado serve will be run");
  AddPrecisionFlag(cmd, &args->precision);
  cmd->callback([args, &exit_code] {
    if (args->output.empty() && args->cache.empty()) {
      std::cerr << "kamado compile: give -o FILE or --compile-cache DIR\n";
      exit_code = 2;
      return;
    }
    exit_code = RunCompile(*args);
  });
}

}  // namespace kamado::cli
