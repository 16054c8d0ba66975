// `--precision fp32|bf16|int8`, shared by the commands that compile a model.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "runtime/precision.h"

namespace kamado::cli {

inline CLI::Option* AddPrecisionFlag(CLI::App* cmd, std::string* value) {
  return cmd
      ->add_option("--precision", *value,
                   "fp32 | bf16 | int8 | auto: the type of activations and convolution weights; "
                   "auto: the fastest whose gate (kamado compare) passed on this CPU "
                   "(default: the model's kamado.yaml `precision:`, else fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto"}));
}

// The flag's value for CompileOptions::precision: unset when not given or
// "auto" (which the caller handles with model::LoadModelAutoPrecision).
inline std::optional<runtime::Precision> PrecisionFromFlag(const std::string& value) {
  if (value.empty() || value == "auto") return std::nullopt;
  auto p = runtime::ParsePrecision(value);
  return p.ok() ? std::optional(*p) : std::nullopt;
}

}  // namespace kamado::cli
