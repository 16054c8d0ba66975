// StubModelService: a ModelService without a runtime, for the request fuzzer
// (fuzz/fuzz_http_request.cc) and the router's in-memory tests. It serves two
// models:
//   "mobilenet_v2": input "input_1" [-1, 224, 224, 3], output "Predictions"
//                   [-1, 4] — named and shaped as the real default model's
//                   input, so tests/data/http's requests route as they do on
//                   a real server;
//   "tiny":         input "pixels" [-1, 2, 2, 3], output "probs" [-1, 3],
//                   labels a, b, c, and a decision block — small enough for
//                   a fuzzer to reach a successful infer.
// Everything answers at once on the caller's thread. Rows are checked in
// InferenceService's words (CheckRowCount, max_queue → TooLarge); images are
// decoded by the real decoders (image::DecodeImage, at most 2^20
// pixels) and decode errors go to `done` prefixed as InferenceService
// prefixes them; every output row is the same fixed probabilities. Queue
// places are not held (empty tickets): admission under load is the
// Scheduler's, tested there.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "serving/model_service.h"

namespace kamado::serving::testing {

class StubModelService : public ModelService {
 public:
  explicit StubModelService(ServiceOptions options = {});
  ~StubModelService() override;

  Result<const ModelView*> FindModel(std::string_view name) const override;
  const ServiceOptions& options() const override { return options_; }
  bool ready() const override { return ready_; }
  void set_ready(bool ready) { ready_ = ready; }

  Result<QueueTicket> Admit(const ModelView& model, int64_t rows, QueueTicket held = {}) const override;
  Status Submit(const ModelView& model, Tensor rows, std::function<void(Result<JobOutput>)> done,
                Clock::time_point deadline = Clock::time_point::max(), QueueTicket held = {}) const override;
  Status SubmitImages(const ModelView& model, ImageRequest request, QueueTicket held = {}) const override;

  // How many submits reached a model (Submit, SubmitImages) and how many
  // images were decoded: what a request cost.
  int submits() const { return submits_.load(); }
  int decoded() const { return decoded_.load(); }

 private:
  class Model;
  // [rows, classes] of fixed probabilities (class i: (i + 1) / Σ).
  static JobOutput Outputs(const ModelView& model, int64_t rows);

  ServiceOptions options_;
  bool ready_ = true;
  std::map<std::string, std::unique_ptr<Model>, std::less<>> models_;
  mutable std::atomic<int> submits_{0}, decoded_{0};
};

}  // namespace kamado::serving::testing
