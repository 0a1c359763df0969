// libFuzzer target: the reader of `terraform show -json PLAN` output.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "infra/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  (void)rb::infra::parse_plan_json(json);
  return 0;
}
