// URLs for AWS requests: percent-encoding the way botocore does it, splitting a URL into the
// parts SigV4 signs, and building query strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace rb::aws {

// Query parameters in the order they are given; the same key may repeat.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Percent-encodes every byte except the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~),
// and '/' when keep_slash. This is botocore's percent_encode(); with keep_slash it is how an
// S3 key is put in the path ("env:/dev/a b" -> "env%3A/dev/a%20b").
std::string uri_encode(std::string_view text, bool keep_slash = false);

// Decodes %XX escapes (a malformed escape is kept as it is); '+' becomes a space only when
// plus_as_space (S3 listings with encoding-type=url, which botocore decodes with unquote_plus).
std::string uri_decode(std::string_view text, bool plus_as_space = false);

// "k1=v1&k2=v2", keys and values uri_encode()d, in the given order.
std::string encode_query(const QueryParams& params);

struct Url {
  std::string scheme;       // lower-case: "https", "http"
  std::string host;         // lower-case, without brackets for IPv6
  std::optional<int> port;  // as written in the URL
  std::string path;         // as written (already encoded), may be empty
  std::string query;        // as written, without '?'; the fragment is dropped

  bool ipv6() const { return host.find(':') != std::string::npos; }
};

// Splits "scheme://host[:port][/path][?query][#fragment]". An error for anything else
// (no scheme, user info, a bad port).
Result<Url> parse_url(std::string_view url);

// The Host header value: the host, plus ":port" unless it is the scheme's default port
// (what botocore signs, and what libcurl sends).
std::string host_header(const Url& url);

}  // namespace rb::aws
