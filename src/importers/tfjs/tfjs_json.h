// Internal to the TF.js importer: reading fields of parsed JSON with errors
// that name the field and where it was read ("layer 'conv2d_1' (Conv2D)").
// Nothing here throws; nlohmann's exceptions become InvalidArgument.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace kamado::importers::tfjs {

using Json = nlohmann::json;

// The field `key` of `obj` itself (any JSON type); InvalidArgument if missing.
inline Result<const Json*> GetNode(const Json& obj, std::string_view key, std::string_view where) {
  if (!obj.is_object()) {
    return InvalidArgument(std::string(where) + ": expected a JSON object holding field '" +
                           std::string(key) + "', got " + obj.type_name());
  }
  const auto it = obj.find(key);
  if (it == obj.end()) {
    return InvalidArgument(std::string(where) + ": missing field '" + std::string(key) + "'");
  }
  return &*it;
}

// The field `key` of object `obj` converted to T. InvalidArgument when `obj`
// is not an object, the field is missing or it does not convert.
template <typename T>
Result<T> GetField(const Json& obj, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(const Json* node, GetNode(obj, key, where));
  try {
    return node->get<T>();
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string(where) + ": field '" + std::string(key) +
                           "' = " + node->dump() + " has the wrong type (" + e.what() + ")");
  }
}

// As GetField, but a missing or null field yields `fallback`.
template <typename T>
Result<T> GetFieldOr(const Json& obj, std::string_view key, T fallback, std::string_view where) {
  if (obj.is_object()) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
  }
  return GetField<T>(obj, key, where);
}

}  // namespace kamado::importers::tfjs
