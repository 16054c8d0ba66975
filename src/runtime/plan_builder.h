// Lowers a (post-pass) graph to a Plan: one oneDNN primitive per node, with
// layouts chosen by oneDNN (format_tag::any) and reorders only where a
// consumer needs a different layout than its producer wrote.
#pragma once

#include <memory>

#include "core/result.h"
#include "runtime/plan.h"

namespace kamado::runtime {

class CompiledModel;

// Called by CompiledModel::GetPlan with the model's mutex held; the calling
// thread's OpenMP thread count must already be `threads`.
Result<std::shared_ptr<Plan>> BuildPlan(const CompiledModel& model, int64_t batch, int threads);

}  // namespace kamado::runtime
