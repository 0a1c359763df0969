// libFuzzer target: the Terraform state reader (state v4 JSON, OpenTofu encrypted envelopes) and
// Terraform's lock info JSON, both read from S3 and DynamoDB items anyone with access can write.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "infra/lock_info.hpp"
#include "infra/tfstate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)rb::infra::parse_state(bytes);
  (void)rb::infra::parse_lock_info(bytes);
  (void)rb::infra::parse_rfc3339(bytes);
  return 0;
}
