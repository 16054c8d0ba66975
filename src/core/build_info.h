// What build of kamado this is, for keys of files that only this build may
// trust (the compiled-model file): the commit and compile flags recorded at
// configure time, and the executable's GNU build id, a hash the linker
// writes over the code itself, so a rebuild with other sources or flags
// always differs even when the commit did not change.
#pragma once

#include <string>

namespace kamado {

struct BuildInfo {
  std::string commit;    // `git describe --always --dirty` at configure time, or "unknown"
  std::string flags;     // compiler, build type and C++ flags
  std::string build_id;  // the running executable's NT_GNU_BUILD_ID in hex, or "none"

  // "commit <c>; flags <f>; elf <id>".
  std::string ToString() const;
};

const BuildInfo& CurrentBuild();

}  // namespace kamado
