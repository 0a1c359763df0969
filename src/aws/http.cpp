#include "aws/http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <mutex>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Where write_body collects the body, and whether it was cut off at kMaxResponseBody.
struct BodySink {
  std::string* body;
  bool too_large = false;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  size_t n = size * count;
  if (sink->body->size() + n > kMaxResponseBody) {
    sink->too_large = true;
    return 0;  // anything but n makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response (after "100 Continue" or an informational reply): start over.
    response->headers.clear();
    return size * count;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    response->headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return size * count;
}

// Whether libcurl failed before any byte of the request could have reached the server.
bool failed_before_sending(CURLcode code, CURL* handle) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      break;
  }
  // A timeout (or anything else) before the transfer phase began: nothing was sent.
  curl_off_t pretransfer = 0;
  if (curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK && pretransfer == 0) return true;
  return false;
}

}  // namespace

std::string find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return true;
  return false;
}

void remove_header(Headers& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& kv) { return iequals(kv.first, name); });
}

void set_header(Headers& headers, std::string_view name, std::string value) {
  remove_header(headers, name);
  headers.emplace_back(std::string(name), std::move(value));
}

struct CurlTransport::Impl {
  CURL* handle = nullptr;
  std::chrono::milliseconds connect_timeout = kConnectTimeout;
  std::chrono::milliseconds request_timeout = kRequestTimeout;
};

CurlTransport::CurlTransport() : impl_(std::make_unique<Impl>()) {
  ensure_curl_global_init();
  impl_->handle = curl_easy_init();
}

CurlTransport::CurlTransport(std::chrono::milliseconds connect_timeout, std::chrono::milliseconds request_timeout)
    : CurlTransport() {
  impl_->connect_timeout = connect_timeout;
  impl_->request_timeout = request_timeout;
}

CurlTransport::~CurlTransport() {
  if (impl_->handle) curl_easy_cleanup(impl_->handle);
}

Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
  CURL* h = impl_->handle;
  if (!h) return Error{ExitCode::Failed, "cannot initialise libcurl", {}, std::string(kTagConnectionNotSent)};
  // Options go back to their defaults; the connection cache (keep-alive) survives a reset.
  curl_easy_reset(h);

  HttpResponse response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(impl_->connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(impl_->request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  BodySink sink{&response.body};
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  // A declared Content-Length past the limit is refused before any of the body is read.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponseBody));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  // No Accept-Encoding: bodies come back byte for byte as stored (a state file's digest
  // must be computed on the stored bytes).

  const std::string& method = request.method;
  if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    // POSTFIELDS sends the body with a Content-Length for any method; CUSTOMREQUEST names it.
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;  // "Name;" sends an empty value
    header_list = curl_slist_append(header_list, line.c_str());
  }
  // libcurl would otherwise add headers of its own that change what the server sees.
  if (!has_header(request.headers, "Content-Type")) header_list = curl_slist_append(header_list, "Content-Type:");
  header_list = curl_slist_append(header_list, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list);

  CURLcode code = curl_easy_perform(h);
  curl_slist_free_all(header_list);
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    response.body.clear();
    response.body.shrink_to_fit();
    return Error{ExitCode::Failed,
                 fmt::format("{} {}: the response is larger than {} MiB and was not read", method, request.url,
                             kMaxResponseBody >> 20),
                 "this endpoint answered with far more data than any AWS call returns; check AWS_ENDPOINT_URL* "
                 "and what serves it",
                 std::string(kTagResponseTooLarge)};
  }
  if (code != CURLE_OK) {
    std::string detail = error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(code));
    bool not_sent = failed_before_sending(code, h);
    std::string hint;
    if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT)
      hint = "check the endpoint (AWS_ENDPOINT_URL*), the region and the network or proxy settings";
    else if (code == CURLE_OPERATION_TIMEDOUT)
      hint = "the endpoint did not answer in time; check the network, then try again";
    else if (code == CURLE_PEER_FAILED_VERIFICATION)
      hint = "the server's TLS certificate was not trusted; check the endpoint and the CA bundle (CURL_CA_BUNDLE)";
    // The URL names no secret (SigV4 puts credentials in headers), but pass it through the
    // same redaction as everything else when it is printed.
    return Error{ExitCode::Failed, fmt::format("{} {}: {}", method, request.url, detail), hint,
                 std::string(not_sent ? kTagConnectionNotSent : kTagConnection)};
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace rb::aws
