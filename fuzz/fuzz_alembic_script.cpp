// libFuzzer target: the native reader of Alembic migration scripts (a small Python lexer).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "db/script_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view source(reinterpret_cast<const char*>(data), size);
  (void)rb::db::parse_migration_script(source, "versions/fuzz.py");
  return 0;
}
