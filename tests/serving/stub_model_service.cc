#include "serving/stub_model_service.h"

#include "image/decode.h"

namespace kamado::serving::testing {

class StubModelService::Model : public ModelView {
 public:
  using ModelView::ModelView;
};

namespace {

model::ModelConfig Config(std::string name, int side, std::vector<std::string> labels) {
  model::ModelConfig c;
  c.name = std::move(name);
  c.height = side;
  c.width = side;
  c.layout = Layout::kNHWC;
  c.labels = std::move(labels);
  return c;
}

}  // namespace

StubModelService::StubModelService(ServiceOptions options) : options_(std::move(options)) {
  model::ModelConfig mobilenet = Config("mobilenet_v2", 224, {"w", "x", "y", "z"});
  model::ModelConfig tiny = Config("tiny", 2, {"a", "b", "c"});
  tiny.decision = model::DecisionConfig{"is_c", {"c"}, {2}, 0.5};
  models_["mobilenet_v2"] = std::make_unique<Model>(std::move(mobilenet), std::vector<runtime::TensorInfo>{{"input_1", {-1, 224, 224, 3}}},
                                                    std::vector<runtime::TensorInfo>{{"Predictions", {-1, 4}}});
  models_["tiny"] = std::make_unique<Model>(std::move(tiny), std::vector<runtime::TensorInfo>{{"pixels", {-1, 2, 2, 3}}},
                                            std::vector<runtime::TensorInfo>{{"probs", {-1, 3}}});
}

StubModelService::~StubModelService() = default;

Result<const ModelView*> StubModelService::FindModel(std::string_view name) const {
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + std::string(name) + "' is not loaded");
  return it->second.get();
}

Result<QueueTicket> StubModelService::Admit(const ModelView& model, int64_t rows, QueueTicket held) const {
  RETURN_IF_ERROR(CheckRowCount(rows, options_.max_rows_per_request));
  if (static_cast<size_t>(rows) > options_.max_queue) {
    return TooLarge("model '" + model.name() + "': " + QueueLimitMessage(rows, options_.max_queue));
  }
  return held;
}

JobOutput StubModelService::Outputs(const ModelView& model, int64_t rows) {
  const int64_t classes = static_cast<int64_t>(model.config().labels.size());
  std::vector<float> p(static_cast<size_t>(rows * classes));
  const float sum = static_cast<float>(classes * (classes + 1) / 2);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(i % static_cast<size_t>(classes) + 1) / sum;
  JobOutput out;
  out.outputs.emplace_back(Shape{rows, classes}, std::move(p));
  out.batch_size = static_cast<int>(rows);
  return out;
}

Status StubModelService::Submit(const ModelView& model, Tensor rows, std::function<void(Result<JobOutput>)> done,
                                Clock::time_point, QueueTicket held) const {
  RETURN_IF_ERROR(CheckRowShape(model, rows.shape()));
  const int64_t n = rows.shape()[0];
  ASSIGN_OR_RETURN(QueueTicket ticket, Admit(model, n, std::move(held)));
  ++submits_;
  done(Outputs(model, n));
  return Status::Ok();
}

Status StubModelService::SubmitImages(const ModelView& model, ImageRequest request, QueueTicket held) const {
  const int64_t n = static_cast<int64_t>(request.images.size());
  ASSIGN_OR_RETURN(QueueTicket ticket, Admit(model, n, std::move(held)));
  ++submits_;
  image::DecodeOptions decode;
  decode.max_pixels = 1 << 20;  // a fuzzer's input stays quick to decode
  decode.min_width = model.config().width;
  decode.min_height = model.config().height;
  for (int64_t i = 0; i < n; ++i) {
    auto decoded = image::DecodeImage(request.images[static_cast<size_t>(i)], decode);
    if (!decoded.ok()) {
      Status s = request.name_elements ? decoded.status().WithPrefix("element " + std::to_string(i)) : decoded.status();
      request.done(request.error_prefix.empty() ? s : s.WithPrefix(request.error_prefix), PrepareTiming{});
      return Status::Ok();
    }
    ++decoded_;
  }
  request.done(Outputs(model, n), PrepareTiming{});
  return Status::Ok();
}

}  // namespace kamado::serving::testing
