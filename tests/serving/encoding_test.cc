#include <gtest/gtest.h>

#include "serving/http/encoding.h"
#include "serving/http/oip_codec.h"

namespace kamado::serving::http {
namespace {

TEST(Base64, RoundTrips) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(Base64Decode("a*b").ok());
}

TEST(MediaType, ParsesTypeAndParameters) {
  EXPECT_EQ(MediaType("Image/PNG; q=1"), "image/png");
  EXPECT_EQ(MediaTypeParameter("multipart/form-data; boundary=\"xy z\"", "boundary"), "xy z");
  EXPECT_EQ(MediaTypeParameter("multipart/form-data", "boundary"), "");
}

TEST(Multipart, FindsTheField) {
  const std::string ct = "multipart/form-data; boundary=XyZ";
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"other\"; filename=\"file\"\r\n\r\nnope\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
      "Content-Type: image/png\r\n\r\nPNGDATA\r\n--XyZ--\r\n";
  auto f = MultipartField(body, ct, "file");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f, "PNGDATA");
  EXPECT_FALSE(MultipartField(body, ct, "image").ok());
  EXPECT_FALSE(MultipartField(body, "multipart/form-data", "file").ok());
}

TEST(OipCodec, ParsesJsonAndBinaryInputs) {
  auto r = ParseInferRequest(
      R"({"id":"7","inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}],
          "outputs":[{"name":"y","parameters":{"classification":2}}]})",
      std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "7");
  EXPECT_EQ(r->inputs[0].fp32, (std::vector<float>{1, 2}));
  EXPECT_EQ(r->outputs[0].classification, 2);
  // 2^32 + 2 is not 2 (get<int>() wrapped it).
  auto wrapped = ParseInferRequest(
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}],
          "outputs":[{"name":"y","parameters":{"classification":4294967298}}]})",
      std::nullopt);
  ASSERT_FALSE(wrapped.ok());
  EXPECT_NE(wrapped.status().message().find("'classification' must be a positive integer"), std::string::npos)
      << wrapped.status().message();

  const std::string header =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  const float values[2] = {0.5f, -1.0f};
  std::string body = header + std::string(reinterpret_cast<const char*>(values), 8);
  r = ParseInferRequest(body, header.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inputs[0].fp32, (std::vector<float>{0.5f, -1.0f}));

  EXPECT_EQ(ParseInferRequest("{", std::nullopt).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseInferRequest(R"({"inputs":[{"name":"x","datatype":"INT8","shape":[1],"data":[1]}]})",
                              std::nullopt).status().code(),
            StatusCode::kUnsupported);
  auto mismatch = ParseInferRequest(
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1]}]})", std::nullopt);
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
}

// The row limit is applied to the declared shape, before the data is read.
TEST(OipCodec, RowLimitIsCheckedOnTheShape) {
  const std::string body =
      R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[300],"data":["this is not base64!"]}]})";
  auto r = ParseInferRequest(body, std::nullopt, 256);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("300 rows, over the limit of 256"), std::string::npos)
      << r.status().message();
  // Without a limit the same body fails later, on its data.
  EXPECT_EQ(ParseInferRequest(body, std::nullopt).status().message().find("over the limit"),
            std::string::npos);
}

// A shape whose element count overflows int64 is refused, however the data
// length happens to compare with the wrapped product ([2^54+1, 224, 224, 3]
// wraps to 150,528 elements).
TEST(OipCodec, ShapeWhoseElementCountOverflowsIsRefused) {
  const int64_t huge = (int64_t{1} << 54) + 1;
  std::string values;
  for (int i = 0; i < 150528; ++i) values += i ? ",0" : "0";
  const std::string body = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[)" +
                           std::to_string(huge) + R"(,224,224,3],"data":[)" + values + "]}]}";
  auto r = ParseInferRequest(body, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more elements than fit in 64 bits"), std::string::npos)
      << r.status().message();
}

TEST(OipCodec, BytesInputsAreBase64InJson) {
  auto r = ParseInferRequest(R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[2],
                                 "data":["aGVsbG8=",{"b64":"YQ=="}]}]})",
                             std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inputs[0].bytes, (std::vector<std::string>{"hello", "a"}));
}

}  // namespace
}  // namespace kamado::serving::http
