// Logging: spdlog's default logger, writing to stderr so stdout stays for
// machine-readable output (JSON lines). Level from KAMADO_LOG_LEVEL
// (trace|debug|info|warn|error|off; default warn), set by InitLogging().
#pragma once

#include <spdlog/spdlog.h>

namespace kamado {

void InitLogging();

}  // namespace kamado
