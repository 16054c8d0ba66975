// The cut-over page of `kamado shadow --report FILE.html`: one self-contained
// HTML file (inline CSS, SVG and thumbnails; no scripts, no network) for the
// product owner — agreement and where the answers differ (with the noise
// floor), the photos that disagree as thumbnails, latency side by side and
// error rates. Pure and deterministic.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "shadow/cost_line.h"
#include "shadow/shadow_run.h"

namespace kamado::shadow {

struct HtmlInputs {
  std::string title = "kamado shadow";
  std::string command;  // shown verbatim
  // Photo name → a JPEG thumbnail's bytes (image::JpegThumbnail), for the
  // disagreeing photos; a photo without one is listed by name only.
  std::map<std::string, std::string> thumbnails;
  // The two fleets' bills (`kamado shadow --cost FILE`): a sentence under the
  // verdict and a table of every fleet of the file.
  std::optional<CostLine> cost;
};

// "B's fleet (c5.xlarge): 8 replicas at peak, $993 a month, against A's
// (g2.2xlarge): 3, $1,424 — 0.70× A's bill."
std::string CostSentence(const CostLine& cost);

std::string RenderShadowHtml(const ShadowResult& result, const HtmlInputs& inputs);

}  // namespace kamado::shadow
