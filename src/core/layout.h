// Layout: how a caller's 4-D image tensor is laid out in memory. The graph
// IR is always logical [N, C, H, W]; this says how the user's buffer (a
// graph input or output, a preprocessed image) orders those axes.
#pragma once

namespace kamado {

enum class Layout {
  kNCHW,  // planar: all of channel 0, then channel 1, ...
  kNHWC,  // interleaved: the channels of one pixel together (TF.js, Keras)
};

}  // namespace kamado
