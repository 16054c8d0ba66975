#include "serving/model_service.h"

#include <algorithm>

namespace kamado::serving {

Status CheckRowCount(int64_t rows, int max_rows) {
  if (rows >= 1 && rows <= max_rows) return Status::Ok();
  return InvalidArgument("a request holds 1 to " + std::to_string(max_rows) +
                         " rows (images or tensors), this one " + std::to_string(rows));
}

Status CheckRowShape(const ModelView& model, const Shape& rows) {
  const Shape& want = model.item_shape();
  if (rows.size() == want.size() && std::equal(want.begin() + 1, want.end(), rows.begin() + 1)) {
    return Status::Ok();
  }
  Shape shown = want;
  shown[0] = -1;
  return InvalidArgument("model '" + model.name() + "' takes tensors of shape " + ShapeToString(shown) +
                         ", got " + ShapeToString(rows));
}

}  // namespace kamado::serving
