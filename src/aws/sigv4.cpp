#include "aws/sigv4.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "aws/url.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// Headers botocore never signs (auth.py SIGNED_HEADERS_BLACKLIST): hop-by-hop headers and ones
// that proxies or HTTP clients may rewrite.
constexpr std::string_view kUnsignedHeaders[] = {
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};

bool is_unsigned_header(std::string_view lower_name) {
  return std::find(std::begin(kUnsignedHeaders), std::end(kUnsignedHeaders), lower_name) != std::end(kUnsignedHeaders);
}

// Python's str.split() whitespace, restricted to ASCII.
bool is_space(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f); }

// RFC 3986 5.2.4 "remove dot segments", plus folding repeated slashes (botocore's
// remove_dot_segments, which AWS services other than S3 expect).
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return {};
  std::vector<std::string> out;
  for (const std::string& segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(segment);
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  result += join(out, "/");
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

std::string hmac(std::string_view key, std::string_view data) { return hmac_sha256_raw(key, data); }

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point when) { return format_utc(when, "%Y%m%dT%H%M%SZ"); }

std::string canonical_uri(std::string_view url_path, bool s3) {
  if (s3) return url_path.empty() ? std::string("/") : std::string(url_path);
  std::string normalized = url_path.empty() ? std::string("/") : remove_dot_segments(url_path);
  return uri_encode(normalized, /*keep_slash=*/true);
}

std::string canonical_query(std::string_view url_query) {
  if (url_query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& part : split(url_query, '&')) {
    auto eq = part.find('=');
    std::string key = part.substr(0, eq);
    std::string value = eq == std::string::npos ? std::string() : part.substr(eq + 1);
    pairs.emplace_back(uri_encode(uri_decode(key)), uri_encode(uri_decode(value)));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string canonical_header_value(std::string_view value) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && is_space(static_cast<unsigned char>(value[i]))) ++i;
    size_t start = i;
    while (i < value.size() && !is_space(static_cast<unsigned char>(value[i]))) ++i;
    if (i > start) {
      if (!out.empty()) out += ' ';
      out.append(value.substr(start, i - start));
    }
  }
  return out;
}

Result<SigningInfo> sign_request(HttpRequest& request, std::string_view service, std::string_view region,
                                 const Credentials& credentials, std::chrono::system_clock::time_point when) {
  RB_TRY_ASSIGN(Url url, parse_url(request.url));
  const bool s3 = service == "s3";
  const std::string timestamp = amz_date(when);
  const std::string date = timestamp.substr(0, 8);

  remove_header(request.headers, "Authorization");
  if (!has_header(request.headers, "Host")) request.headers.emplace_back("Host", host_header(url));
  set_header(request.headers, "X-Amz-Date", timestamp);
  if (!credentials.session_token.empty()) set_header(request.headers, "X-Amz-Security-Token", credentials.session_token);
  std::string payload_hash;
  if (s3) {
    payload_hash = sha256_hex(request.body);
    set_header(request.headers, "X-Amz-Content-SHA256", payload_hash);
  } else if (has_header(request.headers, "X-Amz-Content-SHA256")) {
    payload_hash = find_header(request.headers, "X-Amz-Content-SHA256");
  } else {
    payload_hash = sha256_hex(request.body);
  }

  // Lower-cased name -> values in the order they appear (a repeated header is joined with ',').
  std::map<std::string, std::vector<std::string>> signed_values;
  for (const auto& [name, value] : request.headers) {
    std::string lower = to_lower(name);
    if (is_unsigned_header(lower)) continue;
    signed_values[lower].push_back(canonical_header_value(value));
  }

  SigningInfo info;
  std::string canonical_headers;
  for (const auto& [name, values] : signed_values) {
    canonical_headers += name + ":" + join(values, ",") + "\n";
    if (!info.signed_headers.empty()) info.signed_headers += ';';
    info.signed_headers += name;
  }

  std::string method = request.method;
  std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::toupper(c); });
  info.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", method, canonical_uri(url.path, s3),
                                       canonical_query(url.query), canonical_headers, info.signed_headers, payload_hash);

  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  info.string_to_sign = fmt::format("{}\n{}\n{}\n{}", kAlgorithm, timestamp, scope, sha256_hex(info.canonical_request));

  std::string key = hmac("AWS4" + credentials.secret_access_key, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  info.signature = to_hex(hmac(key, info.string_to_sign));
  info.authorization = fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                                   credentials.access_key_id, scope, info.signed_headers, info.signature);
  request.headers.emplace_back("Authorization", info.authorization);
  return info;
}

}  // namespace rb::aws
