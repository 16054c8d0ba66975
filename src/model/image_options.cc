#include "model/image_options.h"

namespace kamado::model {

image::PreprocessOptions PreprocessOptionsFor(const ModelConfig& config) {
  image::PreprocessOptions o;
  o.height = config.height;
  o.width = config.width;
  o.scale = config.preprocess.scale;
  o.mean = config.preprocess.mean;
  o.std = config.preprocess.std;
  o.resize = config.preprocess.resize;
  o.layout = config.layout;
  return o;
}

image::DecodeOptions DecodeOptionsFor(const ModelConfig& config, bool exact_resize) {
  image::DecodeOptions o;
  if (config.decode.max_input_bytes > 0) o.max_input_bytes = config.decode.max_input_bytes;
  if (config.decode.max_pixels > 0) o.max_pixels = config.decode.max_pixels;
  if (config.decode.max_side > 0) o.max_dimension = config.decode.max_side;
  if (!exact_resize && !config.preprocess.exact_resize) {
    o.min_width = config.width;
    o.min_height = config.height;
  }
  o.alpha = config.preprocess.alpha;
  o.background = config.preprocess.background;
  return o;
}

}  // namespace kamado::model
