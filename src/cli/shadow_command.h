// `kamado shadow`: the same photos to two classifier servers (the old one and
// kamado, say), side by side, and what differs — top-1 agreement, top-k
// overlap, the confusion table, |Δp| per class, the photos that disagree,
// each side's latency and errors, and with --noise a second instance of A
// for the floor. Speaks kamado's /classify, OIP v2 /infer, TF Serving's
// predict and TorchServe's /predictions (the URL's path says which).
#pragma once

#include <CLI/CLI.hpp>

namespace kamado::cli {

void AddShadowCommand(CLI::App& app, int& exit_code);

}  // namespace kamado::cli
