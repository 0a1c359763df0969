// AWS Signature Version 4 (header signing), matching botocore's SigV4Auth and S3SigV4Auth
// byte for byte (tests/aws/gen_sigv4_vectors.py checks this against botocore itself).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The intermediate steps, returned so tests and --verbose debugging can show them (they hold
// no secret: the canonical request lists header values but SigV4 never signs the secret key,
// and the session token is masked by redact() when printed).
struct SigningInfo {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

// Signs `request` in place for `service` ("ecs", "s3", "dynamodb", ...) in `region` at time `when`:
// sets Host (when absent), X-Amz-Date, X-Amz-Security-Token (when the credentials have a session
// token), X-Amz-Content-SHA256 (S3: always, the hex SHA-256 of the body), and Authorization,
// replacing earlier values so a retried request can be signed again.
// S3 signs the URL path as it is; other services normalise it (dot segments, repeated '/')
// and encode it once more, as botocore does. An error only for a malformed URL.
Result<SigningInfo> sign_request(HttpRequest& request, std::string_view service, std::string_view region,
                                 const Credentials& credentials, std::chrono::system_clock::time_point when);

// ---- building blocks, exposed for tests ----

// "20150830T123600Z"
std::string amz_date(std::chrono::system_clock::time_point when);
// The canonical URI of an (already encoded) URL path.
std::string canonical_uri(std::string_view url_path, bool s3);
// The canonical query string of a URL's query: pairs split on '&' and the first '=', each side
// re-encoded (decode, then RFC 3986), sorted by key then value.
std::string canonical_query(std::string_view url_query);
// Header value as SigV4 signs it: trimmed, runs of whitespace folded to one space.
std::string canonical_header_value(std::string_view value);

}  // namespace rb::aws
