#include "tune/serve_yaml.h"

#include <yaml-cpp/yaml.h>

namespace kamado::tune {

std::string ServeYaml(const Candidate& c, const ServeYamlOptions& options) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "models" << YAML::Value << YAML::BeginSeq;
  for (const std::string& m : options.models) out << YAML::DoubleQuoted << m;
  out << YAML::EndSeq;
  out << YAML::Key << "host" << YAML::Value << YAML::DoubleQuoted << options.host;
  out << YAML::Key << "port" << YAML::Value << options.port;
  out << YAML::Key << "workers" << YAML::Value << c.workers;
  out << YAML::Key << "sessions" << YAML::Value << c.sessions;
  out << YAML::Key << "threads" << YAML::Value << c.threads;
  out << YAML::Key << "max_batch" << YAML::Value << c.max_batch;
  out << YAML::Key << "batch_delay_us" << YAML::Value << c.batch_delay_us;
  out << YAML::Key << "pin" << YAML::Value << c.pin;
  if (!c.precision.empty()) out << YAML::Key << "precision" << YAML::Value << c.precision;
  for (const auto& [key, value] : options.extra) {
    out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
  }
  out << YAML::EndMap;
  std::string text;
  for (const std::string& line : options.comment) text += "# " + line + "\n";
  return text + out.c_str() + "\n";
}

}  // namespace kamado::tune
