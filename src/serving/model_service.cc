#include "serving/model_service.h"

namespace kamado::serving {

Status CheckRowCount(int64_t rows, int max_rows) {
  if (rows >= 1 && rows <= max_rows) return Status::Ok();
  return InvalidArgument("a request holds 1 to " + std::to_string(max_rows) +
                         " rows (images or tensors), this one " + std::to_string(rows));
}

}  // namespace kamado::serving
