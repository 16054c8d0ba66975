// Where this process's cgroup limits are: the directories to read a
// controller's files in, nearest first. A process in a container sees its
// own cgroup at the root of /sys/fs/cgroup; one on a host (a systemd slice,
// `systemd-run -p CPUQuota=…`) finds its limits under its own path, which
// /proc/self/cgroup names. Shared by the CPU and the memory budget.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kamado::serving {

// The path of `controller`'s cgroup in /proc/self/cgroup's text: a v1 line
// "N:cpu,cpuacct:/path" for controller "cpu", the v2 line "0::/path" for
// controller "" . Empty when there is no such line.
std::string SelfCgroupPath(const std::string& self_cgroup, const std::string& controller);

// /proc/self/cgroup's text; empty when it cannot be read.
std::string ReadSelfCgroup();

// For each of `mounts` (folders under `root` where the controller is
// mounted; "" is `root` itself): the process's own cgroup under it and each
// of its ancestors below the mount, when that is not the root, and then the
// mount itself — every own path first. Limits are hierarchical: the
// tightest of all of these binds (the readers take the minimum).
std::vector<std::filesystem::path> CgroupDirs(const std::filesystem::path& root,
                                              const std::string& self_cgroup,
                                              const std::string& controller,
                                              const std::vector<std::string>& mounts);

}  // namespace kamado::serving
