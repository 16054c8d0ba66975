// Body encodings the HTTP front-end reads: base64 (OIP BYTES in JSON) and
// multipart/form-data (an uploaded file). Pure functions; never throw.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado::serving::http {

// Standard alphabet, padding optional, whitespace ignored. InvalidArgument on
// any other character.
Result<std::string> Base64Decode(std::string_view in);
std::string Base64Encode(std::string_view in);

// The lowercase media type of a Content-Type value ("image/png" from
// "Image/PNG; q=1"), and one of its parameters ("" when absent).
std::string MediaType(std::string_view content_type);
std::string MediaTypeParameter(std::string_view content_type, std::string_view name);

// The content of the form field `field` of a multipart/form-data body, as a
// view into `body`. InvalidArgument: no boundary, malformed, or no such field.
Result<std::string_view> MultipartField(std::string_view body, std::string_view content_type,
                                        std::string_view field);

}  // namespace kamado::serving::http
