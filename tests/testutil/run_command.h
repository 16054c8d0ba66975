// Runs a shell command (for tests that spawn build/kamado) and returns what
// it printed on stdout; `rc` gets its exit status (-1 when it could not be
// started or did not exit normally).
#pragma once

#include <string>

namespace kamado::testutil {

std::string RunCommand(const std::string& command, int& rc);

}  // namespace kamado::testutil
