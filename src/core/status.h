// Status and error codes shared by every layer.
//
// A Status is either OK or a {code, message} pair. Codes map one-to-one onto
// HTTP status codes (see HttpStatusOf) so that serving can report any error
// from any layer without translation tables of its own.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kamado {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // 400: the caller's input is malformed.
  kNotFound,           // 404: a named thing (file, model, tensor) does not exist.
  kUnsupported,        // 422: well-formed but not something kamado can do (op, attribute, dtype).
  kResourceExhausted,  // 429: a limit was hit (queue full, size limit).
  kTooLarge,           // 413: over a limit it can never fit (more rows than the queue holds).
  kUnavailable,        // 503: try again later (overload, draining).
  kDeadlineExceeded,   // 504: the deadline passed before the work started.
  kInternal,           // 500: a bug or a library failure.
};

std::string_view StatusCodeName(StatusCode code);
int HttpStatusOf(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Returns a copy whose message is "prefix: message"; used to add context
  // (file, node) while an error travels outward.
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

}  // namespace kamado

#define KAMADO_CONCAT_INNER(a, b) a##b
#define KAMADO_CONCAT(a, b) KAMADO_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                       \
  do {                                              \
    ::kamado::Status kamado_status_ = (expr);       \
    if (!kamado_status_.ok()) return kamado_status_; \
  } while (0)
