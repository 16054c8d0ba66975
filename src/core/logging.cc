#include "core/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>

namespace kamado {

void InitLogging() {
  auto logger = spdlog::stderr_color_mt("kamado");
  spdlog::set_default_logger(logger);
  const char* level = std::getenv("KAMADO_LOG_LEVEL");
  spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
}

}  // namespace kamado
