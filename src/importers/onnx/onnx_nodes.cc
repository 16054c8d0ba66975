#include "importers/onnx/onnx_nodes.h"

#include <functional>
#include <map>

#include "importers/onnx/onnx_node_converter.h"

namespace kamado::importers::onnximport {

// The dispatch table: ONNX op type -> converter (defined by op family in
// onnx_nodes_*.cc), after the checks every node gets.
Status NodeConverter::Convert() {
  using Method = Status (NodeConverter::*)();
  static const std::map<std::string, Method, std::less<>> kConverters = {
      {"Conv", &NodeConverter::Conv},
      {"BatchNormalization", &NodeConverter::BatchNormalization},
      {"Relu", &NodeConverter::ActivationOp},
      {"Sigmoid", &NodeConverter::ActivationOp},
      {"Tanh", &NodeConverter::ActivationOp},
      {"LeakyRelu", &NodeConverter::ActivationOp},
      {"Elu", &NodeConverter::ActivationOp},
      {"HardSigmoid", &NodeConverter::ActivationOp},
      {"HardSwish", &NodeConverter::ActivationOp},
      {"Exp", &NodeConverter::ActivationOp},
      {"Reciprocal", &NodeConverter::ActivationOp},
      {"Neg", &NodeConverter::ActivationOp},
      {"Abs", &NodeConverter::ActivationOp},
      {"Sqrt", &NodeConverter::ActivationOp},
      {"Erf", &NodeConverter::ActivationOp},
      {"Clip", &NodeConverter::Clip},
      {"Add", &NodeConverter::BinaryOp},
      {"Sub", &NodeConverter::BinaryOp},
      {"Mul", &NodeConverter::BinaryOp},
      {"Div", &NodeConverter::BinaryOp},
      {"Pow", &NodeConverter::Pow},
      {"Sum", &NodeConverter::SumOrMean},
      {"Mean", &NodeConverter::SumOrMean},
      {"Concat", &NodeConverter::Concat},
      {"MaxPool", &NodeConverter::Pool},
      {"AveragePool", &NodeConverter::Pool},
      {"GlobalAveragePool", &NodeConverter::GlobalPool},
      {"GlobalMaxPool", &NodeConverter::GlobalPool},
      {"LayerNormalization", &NodeConverter::LayerNormalization},
      {"ReduceMean", &NodeConverter::Reduce},
      {"ReduceSum", &NodeConverter::Reduce},
      {"ReduceSumSquare", &NodeConverter::Reduce},
      {"ReduceMax", &NodeConverter::Reduce},
      {"ReduceMin", &NodeConverter::Reduce},
      {"Gemm", &NodeConverter::Gemm},
      {"MatMul", &NodeConverter::MatMul},
      {"Flatten", &NodeConverter::Flatten},
      {"Reshape", &NodeConverter::Reshape},
      {"Squeeze", &NodeConverter::Squeeze},
      {"Unsqueeze", &NodeConverter::Unsqueeze},
      {"Transpose", &NodeConverter::Transpose},
      {"Pad", &NodeConverter::Pad},
      {"Softmax", &NodeConverter::Softmax},
      {"Identity", &NodeConverter::Identity},
      {"Dropout", &NodeConverter::Identity},
      {"Constant", &NodeConverter::Constant},
      {"Shape", &NodeConverter::ShapeOp},
      {"Gather", &NodeConverter::Gather},
      {"Cast", &NodeConverter::Cast},
      {"Slice", &NodeConverter::Slice},
      {"ConstantOfShape", &NodeConverter::ConstantOfShape},
      {"Range", &NodeConverter::Range},
  };
  const std::string& domain = node_.domain();
  const auto it = kConverters.find(node_.op_type());
  if (it == kConverters.end() || !(domain.empty() || domain == "ai.onnx")) {
    return Unsupported(where_ + ": op type '" + (domain.empty() ? "" : domain + ".") +
                       node_.op_type() + "' is not supported");
  }
  for (int i = 1; i < node_.output_size(); ++i) {
    if (!node_.output(i).empty()) {
      return Unsupported(where_ + ": output " + std::to_string(i) + " ('" + node_.output(i) +
                         "') is not supported; only the first output is");
    }
  }
  if (Attr("consumed_inputs") != nullptr) {
    return NotSupported("consumed_inputs", "set", "opset < 7 legacy attribute");
  }
  if (node_.output_size() < 1 || node_.output(0).empty()) {
    return InvalidArgument(where_ + ": has no output");
  }
  return (this->*(it->second))();
}

std::string DescribeNode(const ::onnx::NodeProto& node) {
  return "node '" + (node.name().empty() ? node.output_size() ? node.output(0) : "" : node.name()) +
         "' (" + node.op_type() + ")";
}

Status ConvertNode(const ::onnx::NodeProto& node, ImportContext& ctx) {
  return NodeConverter(node, ctx).Convert();
}

}  // namespace kamado::importers::onnximport
