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

}  // namespace kamado
