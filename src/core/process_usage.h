// What this process has used so far, for /metrics and `kamado bench`.
// Thread-safe; never throws; 0 when the kernel does not say.
#pragma once

namespace kamado {

// User + system CPU time of the whole process (every thread), in seconds.
double ProcessCpuSeconds();
// Resident set size now, in bytes (/proc/self/statm).
double ProcessResidentBytes();

}  // namespace kamado
