// The retrying, signing AWS client shared by the ECS, S3 and DynamoDB clients: JSON protocols
// (ECS, DynamoDB) and REST calls (S3), AWS error parsing, and the AWS "standard" retry mode.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "aws/url.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::aws {

// Retry limits of the AWS "standard" retry mode, from the AWS SDKs and Tools reference guide,
// "Retry behavior" (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html):
// 3 attempts in all, delay before retry i (1-based) = random[0,1) x min(20 s, 1 s x 2^(i-1)).
inline constexpr int kDefaultMaxAttempts = 3;
inline constexpr std::chrono::milliseconds kRetryBaseDelay{1000};
inline constexpr std::chrono::milliseconds kRetryMaxBackoff{20000};

struct RetryPolicy {
  // Attempts in all (first try included). 0: AWS_MAX_ATTEMPTS when set, else kDefaultMaxAttempts;
  // a positive value here wins over the variable (as botocore's Config does).
  int max_attempts = 0;
  std::chrono::milliseconds base_delay = kRetryBaseDelay;
  std::chrono::milliseconds max_backoff = kRetryMaxBackoff;
  // Jitter source in [0, 1); empty: a pseudo-random generator. Tests pin it.
  std::function<double()> random{};
};

// Attempts per AWS call (first try included) for a command that changes something during an
// incident: the standard mode's 3 gives up after a short throttling storm. Measured by figure
// R1 (docs/RELIABILITY.md: 30 % throttling, 5 % 500s, 3 % dropped connections, 5 %
// processed-then-500, so about 43 % of attempts fail): with 5 attempts a call fails 1.5 % of
// the time and a rollback making some 20 reads before it changes anything gave up in 3 of 8
// runs; with 8 a call fails 0.1 % of the time. Only throttling and unambiguous failures are
// retried, so more attempts never send a write twice; the cost is waiting longer (backoff
// capped at kRetryMaxBackoff) instead of giving up during the storm.
inline constexpr int kIncidentMaxAttempts = 8;

// The one retry policy of this tool's AWS calls (ECS, CloudWatch, ELBv2, S3, DynamoDB state
// locks, one-off tasks): kIncidentMaxAttempts attempts, unless AWS_MAX_ATTEMPTS is set (then it
// decides, as in the SDKs).
RetryPolicy default_retry_policy();

struct CallOptions {
  // false when sending the request twice could do something twice (UpdateService with
  // forceNewDeployment, a conditional put). Then a failure after which the server may have acted
  // (HTTP 5xx, a connection lost after sending, a timeout) is not retried but returned with tag
  // "ambiguous", so the caller reads the state before deciding. Throttling and HTTP 429 are
  // retried either way: the server refused the request without acting on it.
  bool idempotent = true;
};

// The tag of an error after which the request may or may not have taken effect.
inline constexpr std::string_view kTagAmbiguous = "ambiguous";

struct AwsClientConfig {
  std::string service{};   // signing name: "ecs", "s3", "dynamodb"
  std::string region{};
  std::string endpoint{};  // "https://ecs.eu-west-1.amazonaws.com", "http://127.0.0.1:5000"
  Credentials credentials{};
  RetryPolicy retry{};
  // Send requests unsigned (STS AssumeRoleWithWebIdentity, the SSO portal): no credentials needed.
  bool anonymous = false;

  // Endpoint from endpoint_url() (AWS_ENDPOINT_URL_* overrides honoured).
  static AwsClientConfig for_service(std::string service, std::string region, Credentials credentials,
                                     RetryPolicy retry = {});
};

// A REST (S3-style) request. `path` is already percent-encoded (see uri_encode()); query
// values are raw and encoded here.
struct RestRequest {
  std::string operation{};   // "GetObject": used in messages ("S3 GetObject failed: ...")
  std::string method{};      // "GET", "PUT", "HEAD", "DELETE", "POST"
  std::string path = "/";
  QueryParams query{};
  Headers headers{};
  std::string body{};
  std::string host_prefix{};  // prepended to the endpoint's host: "bucket." for virtual-hosted S3
};

// An AWS error reply, parsed.
struct AwsError {
  long status = 0;
  std::string code{};  // "ServiceNotFoundException", "NoSuchKey"; empty when the reply had none
  std::string message{};
  std::string request_id{};
};

// {"__type": "com.amazonaws.ecs#ClientException", "message"|"Message": "..."}; the request id
// from x-amzn-RequestId. Falls back to x-amzn-ErrorType and the HTTP status.
AwsError parse_json_error(const HttpResponse& response);
// <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error> (S3), or just the
// status for bodiless replies (HEAD): 404 -> "NotFound", 403 -> "Forbidden", ...
AwsError parse_xml_error(const HttpResponse& response);
// "aws.protocoltests#FooError:http://internal..." -> "FooError"
std::string normalize_error_code(std::string_view type);

// Error classes of the standard retry mode (botocore retries/standard.py plus the SDK guide).
bool is_throttling_error(std::string_view code);
bool is_transient_error(std::string_view code);
// AWS refused the credentials themselves (expired token, unknown key, bad signature, clock skew):
// no call can succeed until they are fixed. make_service_error gives these ErrorCode::Credentials.
bool is_credentials_error(std::string_view code);

// What a service's error becomes for the user:
//   message "ECS UpdateService failed: ClientException: TaskDefinition is inactive (HTTP 400, request id abc)"
//   tag     the AWS error code; hint for credential, permission and throttling errors.
Error make_service_error(std::string_view service_display, std::string_view operation, const AwsError& error,
                         const Credentials& credentials, std::string_view service);

class AwsClient {
 public:
  // `transport` and `clock` must outlive the client. An invalid AWS_MAX_ATTEMPTS makes every
  // call fail with a usage error naming it.
  AwsClient(AwsClientConfig config, HttpTransport& transport, Clock& clock);

  // A JSON-protocol call: POST / with X-Amz-Target: <target_prefix>.<operation> and the
  // content type of the service (ECS: application/x-amz-json-1.1, DynamoDB: 1.0). Returns the
  // parsed response body ({} when empty).
  Result<nlohmann::json> json_call(std::string_view target_prefix, std::string_view operation,
                                   const nlohmann::json& input, CallOptions opts = {});

  // A REST call (S3). A 2xx reply is returned as it is; anything else becomes an error parsed
  // from the XML body.
  Result<HttpResponse> rest_call(const RestRequest& request, CallOptions opts = {});

  // A Query-protocol call (STS): POST / with the form `Action=<operation>&Version=<version>&<params>`.
  // Returns the XML reply's body; errors are parsed from <ErrorResponse><Error><Code>.
  Result<std::string> query_call(std::string_view operation, std::string_view version, const QueryParams& params,
                                 CallOptions opts = {});

  const AwsClientConfig& config() const { return config_; }
  // "ECS", "S3", "DynamoDB"
  const std::string& display_name() const { return display_; }
  int max_attempts() const { return max_attempts_; }

 private:
  enum class Protocol { Json, Xml };
  Result<HttpResponse> send_with_retries(HttpRequest request, std::string_view operation, Protocol protocol,
                                         CallOptions opts);
  std::chrono::milliseconds backoff(int attempt);
  // Asks a refreshable credential source for fresh credentials when the current ones expire
  // within kAdvisoryRefreshWindow; an error only inside kMandatoryRefreshWindow.
  Status refresh_credentials_if_needed();

  AwsClientConfig config_;
  HttpTransport* transport_;
  Clock* clock_;
  std::string display_;
  int max_attempts_ = kDefaultMaxAttempts;
  std::optional<Error> config_error_;
  std::function<double()> random_;
};

}  // namespace rb::aws
