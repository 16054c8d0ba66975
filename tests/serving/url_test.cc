// The http:// URLs the client tools take (kamado load --url, kamado shadow).
#include "serving/http/url.h"

#include <gtest/gtest.h>

namespace kamado::serving::http {
namespace {

TEST(HttpUrl, HostPortAndTarget) {
  auto u = ParseHttpUrl("http://127.0.0.1:8080", "--url");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");
  auto v6 = ParseHttpUrl("http://[::1]:9/v2/models/m/classify?top_k=3", "--a");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  EXPECT_EQ(v6->target, "/v2/models/m/classify?top_k=3");
  auto plain = ParseHttpUrl("http://localhost/", "--url");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
}

TEST(HttpUrl, ErrorsNameTheFlagAndTheUrl) {
  for (const char* bad :
       {"https://h:1", "h:1", "http://", "http://h:0", "http://h:65536", "http://h:12a",
        "http://u@h:1", "http://h:1/x#frag", "http://[::1", "http://:80"}) {
    auto u = ParseHttpUrl(bad, "--b");
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(u.status().message().find("--b '" + std::string(bad) + "'"), std::string::npos)
        << u.status().message();
  }
}

}  // namespace
}  // namespace kamado::serving::http
