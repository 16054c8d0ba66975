// The `kamado serve --config FILE.yaml` parser: a good file, errors that name
// the file, key and line, and flags overriding the file.
#include "serving/serve_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace kamado::serving {
namespace {

namespace fs = std::filesystem;

// Parses `yaml` as the file "serve.yaml" onto the defaults.
Status Parse(const std::string& yaml, ServeConfig& config) {
  return ParseServeConfig(yaml, "serve.yaml", config);
}

// The error message for `yaml`, or "" when it parses.
std::string ErrorFor(const std::string& yaml) {
  ServeConfig config;
  const Status s = Parse(yaml, config);
  if (!s.ok()) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  }
  return s.message();
}

TEST(ServeConfig, GoodFileSetsEveryKey) {
  const std::string yaml = R"(# every setting
host: 0.0.0.0
port: 9000
models:
  - models/mobilenet_v2
  - path: models/inception_v3
sessions: 2
threads: 1
max_batch: 16
batch_delay_us: 500
max_queue: 32
timeout_ms: 0
max_body_bytes: 1048576
io_threads: 3
decode_threads: 2
header_timeout_ms: 1000
body_timeout_ms: 2000
drain_delay_s: 7
drain_timeout_ms: 3000
max_connections: 500
max_buffered_bytes: 100000000
max_decode_bytes_per_request: 300000000
max_decode_bytes_in_flight: 200000000
allow_non_finite_inputs: true
workers: 3
oversubscribe: true
pin: true
compile_cache: /var/cache/kamado
trace: /tmp/trace.jsonl
precision: bf16
allow_ungated: true
mirror: http://127.0.0.1:9/v2/models/m/classify
mirror_share: 0.25
mirror_queue: 8
)";
  ServeConfig c;
  ASSERT_TRUE(Parse(yaml, c).ok()) << Parse(yaml, c).ToString();
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.models, (std::vector<std::string>{"models/mobilenet_v2", "models/inception_v3"}));
  EXPECT_EQ(c.service.sessions, 2);
  EXPECT_EQ(c.service.threads, 1);
  EXPECT_EQ(c.service.max_batch, 16);
  EXPECT_EQ(c.service.batch_delay_us, 500);
  EXPECT_EQ(c.service.max_queue, 32u);
  EXPECT_EQ(c.service.timeout_ms, 0);
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.io_threads, 3);
  EXPECT_EQ(c.service.decode_threads, 2);
  EXPECT_EQ(c.header_timeout_ms, 1000);
  EXPECT_EQ(c.body_timeout_ms, 2000);
  EXPECT_EQ(c.drain_delay_s, 7);
  EXPECT_EQ(c.drain_timeout_ms, 3000);
  EXPECT_EQ(c.max_connections, 500);
  EXPECT_EQ(c.max_buffered_bytes, 100000000u);
  EXPECT_EQ(c.service.max_decode_bytes_per_request, 300000000u);
  EXPECT_EQ(c.service.max_decode_bytes_in_flight, 200000000u);
  EXPECT_TRUE(c.service.allow_non_finite_inputs);
  EXPECT_EQ(c.workers, 3);
  EXPECT_TRUE(c.oversubscribe);
  EXPECT_TRUE(c.service.pin);
  EXPECT_EQ(c.service.compile_cache, "/var/cache/kamado");
  EXPECT_EQ(c.trace, "/tmp/trace.jsonl");
  EXPECT_EQ(c.service.precision, "bf16");
  EXPECT_TRUE(c.service.allow_ungated);
  EXPECT_EQ(c.mirror, "http://127.0.0.1:9/v2/models/m/classify");
  EXPECT_DOUBLE_EQ(c.mirror_share, 0.25);
  EXPECT_EQ(c.mirror_queue, 8);
  EXPECT_TRUE(ValidateServeConfig(c).ok());
  // Every key the docs list was set above.
  EXPECT_EQ(ServeConfigKeys().size(), 31u);
}

TEST(ServeConfig, AutoPrecisionNeedsOneProcess) {
  ServeConfig c;
  ASSERT_TRUE(Parse("models: [m]\nprecision: auto\n", c).ok());
  EXPECT_TRUE(ValidateServeConfig(c).ok());
  c.workers = 2;
  const Status s = ValidateServeConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("auto needs one process"), std::string::npos) << s.message();
}

// With --workers P the budgets are the whole server's: each worker gets 1/P,
// and a budget smaller than P cannot be split.
TEST(ServeConfig, WorkersSplitTheServersBudgets) {
  ServeConfig c;
  ASSERT_TRUE(Parse("models: [m]\nworkers: 3\nmax_queue: 64\nmax_connections: 1000\n", c).ok());
  ASSERT_TRUE(ValidateServeConfig(c).ok());
  const ServeConfig w = WorkerShare(c);
  EXPECT_EQ(w.service.max_queue, 21u);
  EXPECT_EQ(w.max_connections, 333);
  EXPECT_EQ(w.max_buffered_bytes, (size_t{512} << 20) / 3);
  EXPECT_EQ(w.service.max_decode_bytes_in_flight, (uint64_t{1} << 30) / 3);
  EXPECT_EQ(w.max_body_bytes, c.max_body_bytes);  // per request: not split
  EXPECT_EQ(w.service.max_rows_per_request, c.service.max_rows_per_request);
  c.max_connections = 0;  // each process's own open-files limit
  EXPECT_EQ(WorkerShare(c).max_connections, 0);
  c.workers = 1;
  EXPECT_EQ(WorkerShare(c).service.max_queue, 64u);
  c.workers = 3;
  c.service.max_queue = 2;
  const Status s = ValidateServeConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'max_queue' (--max-queue) 2 is the whole server's and cannot be split across 3 workers"),
            std::string::npos)
      << s.message();
}

TEST(ServeConfig, AnUnknownPrecisionIsRefusedNamingTheChoices) {
  ServeConfig c;
  ASSERT_TRUE(Parse("models: [m]\nprecision: fp16\n", c).ok());
  const Status s = ValidateServeConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'precision' (--precision): precision 'fp16' is not one of fp32, bf16, int8"),
            std::string::npos)
      << s.message();
}

TEST(ServeConfig, AbsentKeysKeepTheirDefaultsAndEmptyFilesSetNothing) {
  ServeConfig c;
  ASSERT_TRUE(Parse("max_batch: 4\n", c).ok());
  const ServeConfig defaults;
  EXPECT_EQ(c.service.max_batch, 4);
  EXPECT_EQ(c.port, defaults.port);
  EXPECT_EQ(c.service.batch_delay_us, defaults.service.batch_delay_us);
  EXPECT_TRUE(c.models.empty());
  EXPECT_TRUE(Parse("", c).ok());
  EXPECT_TRUE(Parse("# only a comment\n", c).ok());
  EXPECT_EQ(c.service.max_batch, 4);
}

TEST(ServeConfig, UnknownKeyNamesFileLineAndKey) {
  const std::string e = ErrorFor("port: 8080\nmax_batchs: 4\n");
  EXPECT_NE(e.find("serve.yaml:2:1"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'max_batchs'"), std::string::npos) << e;
  EXPECT_NE(e.find("max_batch"), std::string::npos) << "lists the known keys: " << e;
  // A flag's spelling gets a hint.
  const std::string dashed = ErrorFor("\n\nmax-batch: 4\n");
  EXPECT_NE(dashed.find("serve.yaml:3:1"), std::string::npos) << dashed;
  EXPECT_NE(dashed.find("did you mean 'max_batch'"), std::string::npos) << dashed;
  EXPECT_NE(ErrorFor("model: [a]\n").find("did you mean 'models'"), std::string::npos);
}

TEST(ServeConfig, WrongTypesNameFileLineAndKey) {
  std::string e = ErrorFor("host: 127.0.0.1\nport: eighty\n");
  EXPECT_NE(e.find("serve.yaml:2:7"), std::string::npos) << e;
  EXPECT_NE(e.find("'port' must be an integer, got 'eighty'"), std::string::npos) << e;
  e = ErrorFor("max_batch: 2.5\n");
  EXPECT_NE(e.find("serve.yaml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("'max_batch' must be an integer"), std::string::npos) << e;
  e = ErrorFor("max_queue: [1, 2]\n");
  EXPECT_NE(e.find("'max_queue' must be an integer, got a list"), std::string::npos) << e;
  e = ErrorFor("io_threads: true\n");
  EXPECT_NE(e.find("'io_threads' must be an integer"), std::string::npos) << e;
  e = ErrorFor("host: {a: 1}\n");
  EXPECT_NE(e.find("'host' must be a string, got a mapping"), std::string::npos) << e;
  e = ErrorFor("port: 8080\ntimeout_ms:\n");
  EXPECT_NE(e.find("serve.yaml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("'timeout_ms' must be an integer, got nothing"), std::string::npos) << e;
  e = ErrorFor("models: models/mobilenet_v2\n");
  EXPECT_NE(e.find("'models' must be a non-empty list"), std::string::npos) << e;
  e = ErrorFor("allow_non_finite_inputs: 2\n");
  EXPECT_NE(e.find("'allow_non_finite_inputs' must be true or false, got '2'"), std::string::npos) << e;
}

TEST(ServeConfig, RangesRepeatsAndStructure) {
  std::string e = ErrorFor("port: 70000\n");
  EXPECT_NE(e.find("serve.yaml:1:7: key 'port' must be in 0..65535, got 70000"), std::string::npos)
      << e;
  e = ErrorFor("max_batch: 0\n");
  EXPECT_NE(e.find("'max_batch' must be in 1..256"), std::string::npos) << e;
  e = ErrorFor("batch_delay_us: -2\n");
  EXPECT_NE(e.find("'batch_delay_us' must be in -1.."), std::string::npos) << e;
  e = ErrorFor("port: 1\nhost: x\nport: 2\n");
  EXPECT_NE(e.find("serve.yaml:3:1: key 'port' is repeated (first on line 1)"), std::string::npos)
      << e;
  e = ErrorFor("- port: 1\n");
  EXPECT_NE(e.find("must be a mapping of settings"), std::string::npos) << e;
  e = ErrorFor("port: [1\n");
  EXPECT_NE(e.find("serve.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(ServeConfig, ModelEntriesHoldOnlyAPath) {
  std::string e = ErrorFor("models:\n  - path: models/mobilenet_v2\n    sessions: 2\n");
  EXPECT_NE(e.find("serve.yaml:3:5"), std::string::npos) << e;
  EXPECT_NE(e.find("'models[0].sessions'"), std::string::npos) << e;
  EXPECT_NE(e.find("server-wide"), std::string::npos) << e;
  e = ErrorFor("models:\n  - models/a\n  - paht: models/b\n");
  EXPECT_NE(e.find("serve.yaml:3:5: unknown key 'paht' in key 'models[1]'"), std::string::npos)
      << e;
  e = ErrorFor("models:\n  - {}\n");
  EXPECT_NE(e.find("'models[0]' has no 'path'"), std::string::npos) << e;
  e = ErrorFor("models: []\n");
  EXPECT_NE(e.find("non-empty list"), std::string::npos) << e;
}

TEST(ServeConfig, FlagsGivenOverrideTheFile) {
  ServeConfig config;
  ASSERT_TRUE(
      Parse("port: 9000\nmax_batch: 16\nmodels: [models/a, models/b]\nhost: 0.0.0.0\n", config)
          .ok());
  ServeConfig flags;  // what CLI11 parsed: defaults except where given
  flags.port = 0;
  flags.models = {"models/c"};
  flags.service.timeout_ms = 5;
  ASSERT_TRUE(OverrideServeConfig(flags, {"port", "models", "timeout_ms"}, config).ok());
  EXPECT_EQ(config.port, 0);                                       // flag
  EXPECT_EQ(config.models, std::vector<std::string>{"models/c"});  // flag replaces the list
  EXPECT_EQ(config.service.timeout_ms, 5);                         // flag
  EXPECT_EQ(config.service.max_batch, 16);                         // file; not given as a flag
  EXPECT_EQ(config.host, "0.0.0.0");                               // file
  EXPECT_EQ(config.service.batch_delay_us, ServeConfig{}.service.batch_delay_us);  // default
  EXPECT_FALSE(OverrideServeConfig(flags, {"nope"}, config).ok());
}

TEST(ServeConfig, FlagNamesMapToKeys) {
  EXPECT_EQ(ServeConfigKeyForFlag("max-batch"), "max_batch");
  EXPECT_EQ(ServeConfigKeyForFlag("batch-delay-us"), "batch_delay_us");
  EXPECT_EQ(ServeConfigKeyForFlag("model"), "models");
  EXPECT_EQ(ServeConfigKeyForFlag("config"), "");
  for (const std::string& key : ServeConfigKeys()) {
    std::string flag = key == "models" ? "model" : key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    EXPECT_EQ(ServeConfigKeyForFlag(flag), key);
  }
}

TEST(ServeConfig, ValidateChecksTheMergedSettings) {
  ServeConfig c;
  Status s = ValidateServeConfig(c);
  EXPECT_NE(s.message().find("no model"), std::string::npos) << s.ToString();
  c.models = {"models/mobilenet_v2"};
  EXPECT_TRUE(ValidateServeConfig(c).ok());
  c.service.max_batch = 1000;  // e.g. from --max-batch 1000
  s = ValidateServeConfig(c);
  EXPECT_NE(s.message().find("'max_batch' (--max-batch) must be in 1..256, got 1000"),
            std::string::npos)
      << s.ToString();
  c.service.max_batch = 8;
  c.mirror_share = 0;  // --mirror-share 0
  s = ValidateServeConfig(c);
  EXPECT_NE(s.message().find("'mirror_share' (--mirror-share) must be in (0, 1], got 0"), std::string::npos)
      << s.ToString();
  ServeConfig f;
  for (const char* bad : {"mirror_share: 1.5\n", "mirror_share: 0\n", "mirror_share: lots\n"}) {
    Status p = Parse(std::string("models: [m]\n") + bad, f);
    EXPECT_NE(p.message().find("key 'mirror_share' must be a number in (0, 1]"), std::string::npos) << p.ToString();
  }
}

TEST(ServeConfig, LoadNamesTheFile) {
  const fs::path dir =
      fs::temp_directory_path() / ("kamado_serve_config_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "serve.yaml";
  std::ofstream(file) << "port: 1234\nqueue: 3\n";
  ServeConfig c;
  Status s = LoadServeConfig(file, c);
  EXPECT_NE(s.message().find(file.string() + ":2:1: unknown key 'queue'"), std::string::npos)
      << s.ToString();
  EXPECT_EQ(LoadServeConfig(dir / "missing.yaml", c).code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kamado::serving
