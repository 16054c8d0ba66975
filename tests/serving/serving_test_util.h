// Helpers shared by the serving tests.
#pragma once

#include <cstdlib>
#include <sstream>
#include <string>

namespace kamado::serving::testing {

// The value of the Prometheus sample whose line starts with `series`
// (name plus labels, exactly as rendered), or -1 when absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::atof(line.c_str() + series.size() + 1);
  }
  return -1;
}

}  // namespace kamado::serving::testing
