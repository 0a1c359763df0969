#include "aws/client.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>

#include "aws/endpoint.hpp"
#include "aws/sigv4.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

// botocore retries/standard.py _THROTTLED_ERROR_CODES: the service refused the request
// (it did not act on it) because of request rates.
constexpr std::string_view kThrottlingCodes[] = {
    "Throttling",          "ThrottlingException",  "ThrottledException",
    "RequestThrottledException", "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException"};

// botocore _TRANSIENT_ERROR_CODES plus the server-side failures named by the SDK retry guide.
constexpr std::string_view kTransientCodes[] = {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
                                                "InternalError", "InternalFailure", "ServiceUnavailable"};

// Codes that tell the user something about their credentials rather than about the request.
constexpr std::string_view kExpiredCodes[] = {"ExpiredToken", "ExpiredTokenException", "RequestExpired",
                                              "TokenRefreshRequired"};
constexpr std::string_view kUnknownKeyCodes[] = {"UnrecognizedClientException", "InvalidClientTokenId",
                                                 "InvalidAccessKeyId", "InvalidToken", "AuthFailure"};
constexpr std::string_view kSignatureCodes[] = {"InvalidSignatureException", "SignatureDoesNotMatch",
                                                "IncompleteSignature"};
constexpr std::string_view kDeniedCodes[] = {"AccessDenied", "AccessDeniedException", "Forbidden",
                                             "UnauthorizedOperation", "AuthorizationError"};
constexpr std::string_view kClockCodes[] = {"RequestTimeTooSkewed", "SignatureExpired"};

// How much of an unparsable error body is quoted in a message.
constexpr size_t kBodyExcerpt = 300;

template <size_t N>
bool in(std::string_view code, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), code) != std::end(list);
}

std::string display_name_for(std::string_view service) {
  if (service == "ecs") return "ECS";
  if (service == "s3") return "S3";
  if (service == "dynamodb") return "DynamoDB";
  if (service == "sts") return "STS";
  if (service == "monitoring") return "CloudWatch";
  if (service == "elasticloadbalancing") return "ELBv2";
  if (service == "elasticache") return "ElastiCache";
  if (service == "secretsmanager") return "Secrets Manager";
  if (service == "logs") return "CloudWatch Logs";
  std::string out(service);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string reason_phrase(long status) {
  switch (status) {
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

// The error code S3 would have sent for a bodiless reply (HEAD has no body).
std::string code_for_status(long status) {
  switch (status) {
    case 301: return "PermanentRedirect";
    case 304: return "NotModified";
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 412: return "PreconditionFailed";
    case 429: return "TooManyRequestsException";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    default: return "";
  }
}

std::string excerpt(std::string_view body) {
  std::string one_line;
  for (char c : body.substr(0, kBodyExcerpt)) one_line += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  one_line = trim(one_line);
  if (body.size() > kBodyExcerpt) one_line += "...";
  return one_line;
}

std::string request_id_of(const HttpResponse& r) {
  for (const char* name : {"x-amzn-RequestId", "x-amz-request-id", "x-amzn-request-id"}) {
    std::string id = r.header(name);
    if (!id.empty()) return id;
  }
  return {};
}

std::string status_text(long status) {
  std::string reason = reason_phrase(status);
  return reason.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {} {}", status, reason);
}

std::string reply_details(const AwsError& e) {
  return e.request_id.empty() ? fmt::format("HTTP {}", e.status)
                              : fmt::format("HTTP {}, request id {}", e.status, e.request_id);
}

std::string describe(const AwsError& e) {
  if (e.code.empty()) return fmt::format("{} ({})", e.message.empty() ? "empty reply" : e.message, reply_details(e));
  if (e.message.empty()) return fmt::format("{} ({})", e.code, reply_details(e));
  return fmt::format("{}: {} ({})", e.code, e.message, reply_details(e));
}

std::string with_host_prefix(const std::string& endpoint, const std::string& prefix) {
  if (prefix.empty()) return endpoint;
  auto url = parse_url(endpoint);
  if (!url) return endpoint;
  return url->scheme + "://" + prefix + host_header(*url) + url->path;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Error parsing

std::string normalize_error_code(std::string_view type) {
  auto colon = type.find(':');
  if (colon != std::string_view::npos) type = type.substr(0, colon);
  auto hash = type.rfind('#');
  if (hash != std::string_view::npos) type = type.substr(hash + 1);
  return trim(type);
}

AwsError parse_json_error(const HttpResponse& response) {
  AwsError e;
  e.status = response.status;
  e.request_id = request_id_of(response);
  auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_discarded() && body.is_object()) {
    auto text = [&](const char* key) -> std::string {
      auto it = body.find(key);
      return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string type = text("__type");
    if (type.empty()) type = text("code");
    if (type.empty()) type = text("Code");
    e.code = normalize_error_code(type);
    e.message = text("message");
    if (e.message.empty()) e.message = text("Message");
    if (e.message.empty()) e.message = text("errorMessage");
  } else if (trim(response.body).starts_with("<")) {
    // Front ends (authorisation layers, some proxies, moto's IAM check) answer JSON APIs in
    // the query protocol's XML: <ErrorResponse><Error><Code>..</Code>..
    AwsError xml = parse_xml_error(response);
    if (!xml.code.empty() && xml.code != code_for_status(response.status)) return xml;
    e.message = excerpt(response.body);
  } else if (!trim(response.body).empty()) {
    e.message = excerpt(response.body);
  }
  if (e.code.empty()) e.code = normalize_error_code(response.header("x-amzn-ErrorType"));
  if (e.message.empty() && e.code.empty()) e.message = status_text(response.status);
  return e;
}

AwsError parse_xml_error(const HttpResponse& response) {
  AwsError e;
  e.status = response.status;
  e.request_id = request_id_of(response);
  pugi::xml_document doc;
  if (!trim(response.body).empty() && doc.load_buffer(response.body.data(), response.body.size())) {
    pugi::xml_node error = doc.child("Error");
    if (!error) error = doc.select_node("//Error").node();
    if (error) {
      e.code = normalize_error_code(error.child_value("Code"));
      e.message = trim(error.child_value("Message"));
      if (e.request_id.empty()) e.request_id = trim(error.child_value("RequestId"));
    }
    if (e.request_id.empty()) e.request_id = trim(doc.select_node("//RequestId").node().child_value());
  } else if (!trim(response.body).empty()) {
    e.message = excerpt(response.body);
  }
  if (e.code.empty()) e.code = code_for_status(response.status);
  if (e.message.empty()) e.message = reason_phrase(response.status);
  if (std::string region = response.header("x-amz-bucket-region"); !region.empty() && e.status == 301) {
    e.message += (e.message.empty() ? "" : "; ") + fmt::format("the bucket is in region {}", region);
  }
  return e;
}

bool is_throttling_error(std::string_view code) { return in(code, kThrottlingCodes); }
bool is_transient_error(std::string_view code) { return in(code, kTransientCodes); }
bool is_credentials_error(std::string_view code) {
  return in(code, kExpiredCodes) || in(code, kUnknownKeyCodes) || in(code, kSignatureCodes) || in(code, kClockCodes);
}

Error make_service_error(std::string_view service_display, std::string_view operation, const AwsError& error,
                         const Credentials& credentials, std::string_view service) {
  Error out;
  out.code = ExitCode::Failed;
  out.message = fmt::format("{} {} failed: {}", service_display, operation, describe(error));
  out.tag = error.code.empty() ? fmt::format("http-{}", error.status) : error.code;
  if (is_credentials_error(error.code)) out.error_code = ErrorCode::Credentials;
  const std::string source = credentials.source.empty() ? std::string("the configured credentials") : credentials.source;
  const std::string& code = error.code;
  if (in(code, kExpiredCodes)) {
    out.hint = fmt::format("the session token from {} has expired: get fresh credentials (e.g. aws sso login, or rerun "
                           "the command that exported them) and try again",
                           source);
  } else if (in(code, kUnknownKeyCodes)) {
    out.hint = fmt::format("AWS does not recognise access key {} from {}: check the key, that AWS_SESSION_TOKEN "
                           "belongs to it, and that it is for this account/partition",
                           credentials.access_key_id, source);
  } else if (in(code, kSignatureCodes)) {
    out.hint = fmt::format("the secret key from {} does not match access key {} (or the system clock is wrong): "
                           "check the credentials",
                           source, credentials.access_key_id);
  } else if (in(code, kClockCodes)) {
    out.hint = "the system clock differs from AWS's by more than 5 minutes: synchronise it (NTP) and try again";
  } else if (in(code, kDeniedCodes) || (code.empty() && error.status == 403)) {
    out.hint = fmt::format("the identity behind {} is not allowed to call {} {} ({}:{}) on this resource: grant it in "
                           "IAM or use a profile that has the permission",
                           source, service_display, operation, service, operation);
  } else if (is_throttling_error(code) || error.status == 429) {
    out.hint = "AWS is rate-limiting these calls (retries were exhausted): try again in a minute";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Client

RetryPolicy default_retry_policy() {
  RetryPolicy retry;
  const char* env_attempts = std::getenv("AWS_MAX_ATTEMPTS");
  if (!env_attempts || !*env_attempts) retry.max_attempts = kIncidentMaxAttempts;
  return retry;
}

AwsClientConfig AwsClientConfig::for_service(std::string service, std::string region, Credentials credentials,
                                             RetryPolicy retry) {
  AwsClientConfig c;
  c.endpoint = endpoint_url(service, region);
  c.service = std::move(service);
  c.region = std::move(region);
  c.credentials = std::move(credentials);
  c.retry = std::move(retry);
  return c;
}

AwsClient::AwsClient(AwsClientConfig config, HttpTransport& transport, Clock& clock)
    : config_(std::move(config)), transport_(&transport), clock_(&clock), display_(display_name_for(config_.service)) {
  if (config_.retry.max_attempts > 0) {
    max_attempts_ = config_.retry.max_attempts;
  } else if (const char* env = std::getenv("AWS_MAX_ATTEMPTS"); env && *env) {
    std::string_view text = env;
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 1) {
      config_error_ = usage_error(fmt::format("AWS_MAX_ATTEMPTS={} is not a whole number of attempts (1 or more)", text),
                                  "set AWS_MAX_ATTEMPTS to e.g. 3, or unset it");
      config_error_->tag = "config";
    } else {
      max_attempts_ = n;
    }
  }
  if (config_.retry.random) {
    random_ = config_.retry.random;
  } else {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

std::chrono::milliseconds AwsClient::backoff(int attempt) {
  // Truncated binary exponential backoff with full jitter: rand[0,1) * min(max, base * 2^(attempt-1)).
  double cap_ms = std::min(static_cast<double>(config_.retry.max_backoff.count()),
                           static_cast<double>(config_.retry.base_delay.count()) * std::ldexp(1.0, attempt - 1));
  double r = std::clamp(random_(), 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(r * cap_ms));
}

Status AwsClient::refresh_credentials_if_needed() {
  Credentials& current = config_.credentials;
  if (!current.refresh) return {};
  const std::time_t now = std::chrono::system_clock::to_time_t(clock_->wall_now());
  RefreshNeed need = refresh_need(current, now);
  if (need == RefreshNeed::None) return {};
  log_debug("aws: credentials from {} expire at {}: refreshing them", current.source, current.expiration);
  auto fresh = current.refresh();
  if (fresh && fresh->expires_at.value_or(0) > current.expires_at.value_or(0)) {
    current = std::move(*fresh);
    return {};
  }
  std::string why = fresh ? std::string("the source returned the same credentials") : fresh.error().message;
  if (need == RefreshNeed::Advisory) {
    log_debug("aws: refreshing the credentials failed ({}); the current ones are still valid until {}", why,
              current.expiration);
    return {};
  }
  Error e{ExitCode::CannotStart,
          fmt::format("the credentials from {} expire at {} and could not be refreshed: {}", current.source,
                      current.expiration, why),
          fresh ? std::string("sign in again (aws sso login, or renew the role session) and rerun") : fresh.error().hint,
          "credentials-expired"};
  return e;
}

Result<HttpResponse> AwsClient::send_with_retries(HttpRequest request, std::string_view operation, Protocol protocol,
                                                  CallOptions opts) {
  if (config_error_) return *config_error_;
  const std::string op(operation);
  for (int attempt = 1;; ++attempt) {
    HttpRequest signed_request = request;
    if (!config_.anonymous) {
      RB_TRY(refresh_credentials_if_needed());
      RB_TRY(sign_request(signed_request, config_.service, config_.region, config_.credentials, clock_->wall_now()));
    }
    auto started = clock_->now();
    auto sent = transport_->send(signed_request);
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now() - started);

    std::string why;  // what went wrong, for the retry log line
    bool throttled = false;
    Error failure_error;
    if (!sent) {
      const Error& t = sent.error();
      if (t.tag == kTagResponseTooLarge)
        return Error{ExitCode::Failed, fmt::format("{} {} failed: {}", display_, op, t.message), t.hint, t.tag};
      bool may_have_arrived = t.tag != kTagConnectionNotSent;
      if (may_have_arrived && !opts.idempotent) {
        return Error{ExitCode::Failed,
                     fmt::format("{} {} may or may not have taken effect: the connection failed after the request was "
                                 "sent ({}); not resent because sending it twice is not safe",
                                 display_, op, t.message),
                     "check the current state before trying again", std::string(kTagAmbiguous)};
      }
      failure_error = Error{ExitCode::Failed, fmt::format("{} {} failed: {}", display_, op, t.message), t.hint,
                            std::string(kTagConnection), ErrorCode::AwsUnreachable};
      why = t.message;
    } else {
      HttpResponse& response = *sent;
      log_debug("aws: {} {} -> HTTP {}{} in {}", display_, op, response.status,
                request_id_of(response).empty() ? "" : " (request id " + request_id_of(response) + ")",
                format_duration(elapsed));
      if (response.status >= 200 && response.status < 300) return std::move(response);
      AwsError error = protocol == Protocol::Json ? parse_json_error(response) : parse_xml_error(response);
      throttled = is_throttling_error(error.code) || response.status == 429;
      bool server_failure = response.status >= 500 || is_transient_error(error.code);
      failure_error = make_service_error(display_, op, error, config_.credentials, config_.service);
      if (!throttled && !server_failure) return failure_error;
      if (!throttled && !opts.idempotent && (response.status >= 500 || error.code == "InternalError" ||
                                             error.code == "InternalFailure" || error.code == "ServiceUnavailable")) {
        failure_error.message = fmt::format("{} {} may or may not have taken effect: {}; not resent because sending it "
                                            "twice is not safe",
                                            display_, op, describe(error));
        failure_error.hint = "check the current state before trying again";
        failure_error.tag = std::string(kTagAmbiguous);
        return failure_error;
      }
      why = describe(error);
    }

    if (attempt >= max_attempts_) {
      if (max_attempts_ > 1) failure_error.message += fmt::format(" (gave up after {} attempts)", max_attempts_);
      return failure_error;
    }
    auto delay = backoff(attempt);
    log_debug("aws: {} {} attempt {}/{} failed: {}; retrying in {}", display_, op, attempt, max_attempts_, why,
              format_duration(delay));
    if (!clock_->sleep_for(delay))
      return interrupted_error(fmt::format("interrupted while waiting to retry {} {}", display_, op));
  }
}

Result<nlohmann::json> AwsClient::json_call(std::string_view target_prefix, std::string_view operation,
                                            const nlohmann::json& input, CallOptions opts) {
  HttpRequest request;
  request.method = "POST";
  request.url = config_.endpoint + "/";
  request.body = input.is_null() ? std::string("{}") : dump_json(input);
  bool json_1_0 = target_prefix.starts_with("DynamoDB");
  request.headers.emplace_back("Content-Type", json_1_0 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1");
  request.headers.emplace_back("X-Amz-Target", fmt::format("{}.{}", target_prefix, operation));
  RB_TRY_ASSIGN(HttpResponse response, send_with_retries(std::move(request), operation, Protocol::Json, opts));
  if (trim(response.body).empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Error{ExitCode::Failed,
                 fmt::format("{} {} returned HTTP {} with a body that is not JSON: {}", display_, operation,
                             response.status, excerpt(response.body)),
                 "check that the endpoint " + config_.endpoint + " really is " + display_, "bad-response"};
  }
  return parsed;
}

Result<HttpResponse> AwsClient::rest_call(const RestRequest& rest, CallOptions opts) {
  HttpRequest request;
  request.method = rest.method;
  std::string path = rest.path.empty() ? "/" : rest.path;
  if (path.front() != '/') path.insert(path.begin(), '/');
  request.url = with_host_prefix(config_.endpoint, rest.host_prefix) + path;
  if (!rest.query.empty()) request.url += "?" + encode_query(rest.query);
  request.headers = rest.headers;
  request.body = rest.body;
  return send_with_retries(std::move(request), rest.operation, Protocol::Xml, opts);
}

Result<std::string> AwsClient::query_call(std::string_view operation, std::string_view version,
                                          const QueryParams& params, CallOptions opts) {
  HttpRequest request;
  request.method = "POST";
  request.url = config_.endpoint + "/";
  QueryParams form = {{"Action", std::string(operation)}, {"Version", std::string(version)}};
  form.insert(form.end(), params.begin(), params.end());
  request.body = encode_query(form);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  RB_TRY_ASSIGN(HttpResponse response, send_with_retries(std::move(request), operation, Protocol::Xml, opts));
  return std::move(response.body);
}

}  // namespace rb::aws
