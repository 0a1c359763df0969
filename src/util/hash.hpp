// Digests (OpenSSL): SHA-256 and HMAC for SigV4, MD5 for Terraform's state digest.
#pragma once

#include <string>
#include <string_view>

namespace rb {

std::string sha256_raw(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_raw(std::string_view key, std::string_view data);
std::string md5_hex(std::string_view data);
// SHA-1, only where another tool's file names use it (the AWS CLI's credential caches).
std::string sha1_hex(std::string_view data);
std::string md5_base64(std::string_view data);
std::string to_hex(std::string_view raw);
std::string base64_encode(std::string_view raw);
// Random lowercase hex, from OpenSSL's CSPRNG.
std::string random_hex(size_t bytes);

}  // namespace rb
