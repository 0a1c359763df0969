// libFuzzer target: redaction, which every line the tool writes passes through. It must take
// linear time and bounded stack on any input (a 50 KB URL once overflowed a regex's stack).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/redact.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool registered = [] {
    rb::register_secret("FUZZsecretVALUE0123456789");
    return true;
  }();
  (void)registered;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto out = rb::redact(text);
  if (out.find("FUZZsecretVALUE0123456789") != std::string::npos) __builtin_trap();
  return 0;
}
