// The bad-request corpus (tests/data/http, MANIFEST.tsv: file, status, a
// substring of the error) plus the requests too large to commit, shared by
// the real-server test (http_hardening_test.cc) and the in-memory router
// test (router_memory_test.cc), and the strings no answer may contain.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "testutil/manifest.h"

namespace kamado::serving::testing {

struct CorpusCase {
  std::string file;    // its name in MANIFEST.tsv, or the name of a generated case
  int status = 0;      // the status it must get
  std::string needle;  // a substring of its error
  std::string bytes;   // the request, as sent
};

// Library internals and the server's own last resort: never in an answer.
inline constexpr const char* kAnswerLeaks[] = {"json.exception", "boost::", ".cc", ".hpp", "/src/",
                                               "dropped without an answer"};

inline std::vector<CorpusCase> BadRequestCorpus(const std::filesystem::path& dir = "tests/data/http") {
  std::vector<CorpusCase> cases;
  for (auto& row : kamado::testing::ReadManifestRows(dir / "MANIFEST.tsv")) {
    row.resize(3);
    auto bytes = ReadFile(dir / row[0]);
    cases.push_back({row[0], std::stoi(row[1]), row[2], bytes.ok() ? *bytes : std::string()});
  }
  // Defect 1: a chunked trailer field of ~65 KB (Beast's field limit).
  cases.push_back({"trailer_65k", 431, "trailer is over the limit",
                   "POST /v2/models/mobilenet_v2/classify HTTP/1.1\r\nHost: x\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: " +
                       std::string(65530, 'a') + "\r\n\r\n"});
  // Defect 2: a row count that wraps to exactly the data's length.
  std::string values;
  for (int i = 0; i < 150528; ++i) values += i ? ",0" : "0";
  const std::string overflow =
      R"({"inputs":[{"name":"input_1","datatype":"FP32","shape":[18014398509481985,224,224,3],"data":[)" + values +
      "]}]}";
  cases.push_back({"rows_wrap_to_data_length", 400, "over the limit of 256",
                   "POST /v2/models/mobilenet_v2/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(overflow.size()) + "\r\n\r\n" + overflow});
  return cases;
}

}  // namespace kamado::serving::testing
