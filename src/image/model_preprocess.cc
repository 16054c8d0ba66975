#include "image/model_preprocess.h"

namespace kamado {

PreprocessOptions PreprocessOptionsFor(const runtime::ModelConfig& config) {
  PreprocessOptions o;
  o.height = config.height;
  o.width = config.width;
  o.scale = config.preprocess.scale;
  o.mean = config.preprocess.mean;
  o.std = config.preprocess.std;
  o.resize = config.preprocess.resize == "bilinear" ? PreprocessOptions::Resize::kBilinearHalfPixel
                                                    : PreprocessOptions::Resize::kBilinearAlignCorners;
  o.layout = config.layout;
  return o;
}

DecodeOptions DecodeOptionsFor(const runtime::ModelConfig& config, bool exact_resize) {
  DecodeOptions o;
  if (config.decode.max_input_bytes > 0) o.max_input_bytes = config.decode.max_input_bytes;
  if (config.decode.max_pixels > 0) o.max_pixels = config.decode.max_pixels;
  if (config.decode.max_side > 0) o.max_dimension = config.decode.max_side;
  if (!exact_resize && !config.preprocess.exact_resize) {
    o.min_width = config.width;
    o.min_height = config.height;
  }
  o.alpha = config.preprocess.alpha == "composite" ? AlphaMode::kComposite : AlphaMode::kDrop;
  for (int c = 0; c < 3; ++c) o.background[c] = static_cast<uint8_t>(config.preprocess.background[c]);
  return o;
}

Result<Tensor> DecodeToTensor(std::span<const uint8_t> bytes, const DecodeOptions& decode,
                              const PreprocessOptions& preprocess) {
  ASSIGN_OR_RETURN(const Image image, DecodeImage(bytes, decode));
  return Preprocess(image, preprocess);
}

}  // namespace kamado
