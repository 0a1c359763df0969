// Test helper for the differential credential tests: resolves credentials exactly as rollback
// does and prints them as JSON, with the secret and the session token as SHA-256 digests (the
// test computes the same digests of what botocore resolved). Exits with the error's exit code.
//
// Usage: rollback_print_credentials [PROFILE]
#include <cstdio>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"
#include "util/hash.hpp"

int main(int argc, char** argv) {
  std::string profile = argc > 1 ? argv[1] : "";
  auto c = rb::aws::resolve_credentials(profile);
  if (!c) {
    nlohmann::json e = {{"error", c.error().message}, {"hint", c.error().hint}, {"tag", c.error().tag},
                        {"exit", static_cast<int>(c.error().code)}};
    std::printf("%s\n", e.dump().c_str());
    return static_cast<int>(c.error().code);
  }
  nlohmann::json out = {{"access_key_id", c->access_key_id},
                        {"secret_sha256", rb::sha256_hex(c->secret_access_key)},
                        {"token_sha256", rb::sha256_hex(c->session_token)},
                        {"source", c->source},
                        {"expiration", c->expiration},
                        {"refreshable", static_cast<bool>(c->refresh)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
