// libFuzzer target: the rollback.yaml reader. Any input must give a Config or an Error, never a
// crash, an exception or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = rb::parse_config(text, "fuzz.yaml");
  if (config) (void)config->environment_names();
  return 0;
}
