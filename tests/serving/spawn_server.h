// Spawning the real binary (KAMADO_BINARY, set by CMake) for tests that
// need `kamado serve` as a process: its URL read from stdout.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace kamado::serving {

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

// Starts `kamado serve` with stdout (and, with `log`, stderr) on a pipe and
// returns once it printed its URL; `log` gets what it wrote until then.
// Unless `args` set --drain-delay-s, it is 0: tests that are not about the
// delay SIGTERM the server and should not wait it out.
inline Child Spawn(std::vector<std::string> args, uint16_t* port, std::string* log = nullptr) {
  if (!args.empty() && args[0] == "serve" &&
      std::find(args.begin(), args.end(), "--drain-delay-s") == args.end()) {
    args.insert(args.end(), {"--drain-delay-s", "0"});
  }
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (log != nullptr) dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(KAMADO_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(KAMADO_BINARY, argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  char line[512];
  while (fgets(line, sizeof(line), c.out)) {
    const std::string s(line);
    if (log != nullptr) *log += s;
    const auto at = s.find("http://127.0.0.1:");
    if (at != std::string::npos) {
      *port = static_cast<uint16_t>(std::stoi(s.substr(at + 17)));
      break;
    }
  }
  return c;
}

}  // namespace kamado::serving
