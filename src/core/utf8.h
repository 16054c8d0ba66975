// UTF-8 validation, for text that came from outside (HTTP heads, YAML files).
#pragma once

#include <string_view>

namespace kamado {

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Valid UTF-8 without C0 control characters (tab allowed) or DEL: what a
// name, a label or a file name in a config may hold.
bool IsPrintableUtf8(std::string_view s);

}  // namespace kamado
