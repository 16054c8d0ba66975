// kamado: serve image-classification CNNs on CPUs.
#include <CLI/CLI.hpp>

#include "cli/bench_command.h"
#include "cli/compare_command.h"
#include "cli/quantize_command.h"
#include "cli/compile_command.h"
#include "cli/convert_command.h"
#include "cli/cost_command.h"
#include "cli/infer_command.h"
#include "cli/info_command.h"
#include "cli/load_command.h"
#include "cli/shadow_command.h"
#include "cli/monitor_command.h"
#include "cli/serve_command.h"
#include "cli/tune_command.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  kamado::InitLogging();
  CLI::App app{"kamado: image-classification CNNs on CPUs at GPU-class latency"};
  app.require_subcommand(1);
  int exit_code = 0;
  kamado::cli::AddInferCommand(app, exit_code);
  kamado::cli::AddBenchCommand(app, exit_code);
  kamado::cli::AddConvertCommand(app, exit_code);
  kamado::cli::AddCompileCommand(app, exit_code);
  kamado::cli::AddServeCommand(app, exit_code);
  kamado::cli::AddMonitorCommand(app, exit_code);
  kamado::cli::AddLoadCommand(app, exit_code);
  kamado::cli::AddShadowCommand(app, exit_code);
  kamado::cli::AddInfoCommand(app, exit_code);
  kamado::cli::AddCompareCommand(app, exit_code);
  kamado::cli::AddQuantizeCommand(app, exit_code);
  kamado::cli::AddCostCommand(app, exit_code);
  kamado::cli::AddTuneCommand(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
