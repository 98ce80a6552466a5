// Fuzz target for the configuration decoders: dynamic configuration as YAML (and JSON, read as
// YAML) and TOML, exactly as the file provider reads a file, and the static configuration's
// YAML. Invariants: no crash, no UB, and no exception escapes (the file provider runs on the
// control plane: an exception there would end the process); an error names the file; decoding
// is deterministic.
//
// Input: byte 0 picks the decoder (0 dynamic YAML, 1 dynamic TOML, 2 static YAML, 3 dynamic
// JSON); the rest is the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/decode.h"
#include "config/toml.h"
#include "fuzz_util.h"

namespace {

using namespace portier;
using portier::fuzz::check;

Result<config::Configuration> dynamic(const std::string& text, const std::string& file) {
  if (!config::is_toml_path(file)) return config::decode_dynamic_yaml(text, file);
  auto tree = config::parse_toml(text, file);
  if (!tree) return tree.error();
  return config::decode_dynamic_node(*tree, file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 4;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (which == 2) {
      auto a = config::decode_static_yaml(text, "static.yml");
      auto b = config::decode_static_yaml(text, "static.yml");
      check(a.has_value() == b.has_value(), "static decode is not deterministic");
      if (!a)
        check(a.error().message.find("static.yml") != std::string::npos, "error names no file");
      return 0;
    }
    const std::string file = which == 1   ? "dynamic.toml"
                             : which == 3 ? "dynamic.json"
                                          : "dynamic.yml";
    auto a = dynamic(text, file);
    auto b = dynamic(text, file);
    check(a.has_value() == b.has_value(), "dynamic decode is not deterministic");
    if (a) {
      check(*a == *b, "dynamic decode is not deterministic");
    } else {
      check(a.error().message.find(file) != std::string::npos, "error names no file");
    }
  } catch (...) {
    check(false, "an exception escaped a decoder");
  }
  return 0;
}
