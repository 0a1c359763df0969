// HTTP for the AWS clients: plain request/response values and the transport interface, so the
// retrying client can be tested with a fake transport and runs on libcurl for real.
// Request headers carry credentials: nothing here logs them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace rb::aws {

// Header fields in order; a name may repeat. Names compare case-insensitively.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The first value of header `name` (case-insensitive), or "" when absent.
std::string find_header(const Headers& headers, std::string_view name);
bool has_header(const Headers& headers, std::string_view name);
// Removes every field called `name`, then appends `name: value`.
void set_header(Headers& headers, std::string_view name, std::string value);
void remove_header(Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method{};  // "GET", "PUT", "POST", "DELETE", "HEAD"
  std::string url{};     // full URL; path and query already percent-encoded
  Headers headers{};
  std::string body{};
};

struct HttpResponse {
  long status = 0;
  Headers headers;
  std::string body{};

  // The header's value (case-insensitive name), or "" when absent.
  std::string header(std::string_view name) const { return find_header(headers, name); }
};

// Tags of transport errors. Every transport failure carries one of these two.
// "connection": the connection broke after the request may have been sent (reset, timeout,
// empty reply): the server may have acted on it.
inline constexpr std::string_view kTagConnection = "connection";
// "connection-not-sent": no connection was made (DNS failure, refused, connect timeout, TLS
// handshake), so the server never saw the request and resending is always safe.
inline constexpr std::string_view kTagConnectionNotSent = "connection-not-sent";
inline bool is_transport_error(const Error& e) { return e.tag == kTagConnection || e.tag == kTagConnectionNotSent; }
// The response body grew past kMaxResponseBody and the transfer was aborted; resending would
// only fetch it again, so this is not a transport error and is not retried.
inline constexpr std::string_view kTagResponseTooLarge = "response-too-large";

// The largest response body read into memory. The biggest thing the tool downloads is a
// Terraform state version; states of thousands of resources are a few MB, so 64 MiB leaves a
// wide margin while a runaway or hostile endpoint cannot grow the process to gigabytes.
inline constexpr size_t kMaxResponseBody = size_t{64} << 20;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends the request and returns whatever status came back (4xx/5xx are responses, not
  // errors). An Error only when no HTTP response was received; its tag is kTagConnection or
  // kTagConnectionNotSent.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// Time to establish a TCP (+TLS) connection. AWS endpoints answer in well under a second;
// 5 s tolerates a slow network while failing fast on a wrong endpoint (the AWS CLI default,
// 60 s, is too long for an emergency tool).
inline constexpr std::chrono::seconds kConnectTimeout{5};
// Whole-request limit. ECS/DynamoDB calls take milliseconds and a Terraform state object is a
// few MB at most; 30 s bounds a hung call without cutting off a normal one.
inline constexpr std::chrono::seconds kRequestTimeout{30};

// libcurl, one easy handle reused across calls so connections are kept alive. Not thread-safe:
// one transport per thread.
class CurlTransport final : public HttpTransport {
 public:
  CurlTransport();
  // With other limits than kConnectTimeout/kRequestTimeout (the metadata services: about 1 s).
  CurlTransport(std::chrono::milliseconds connect_timeout, std::chrono::milliseconds request_timeout);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rb::aws
