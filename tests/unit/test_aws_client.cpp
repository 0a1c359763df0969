// The retrying AWS client: error parsing, messages and hints, and the standard retry mode,
// driven by a fake transport and a fake clock.
#include <gtest/gtest.h>

#include "../aws/aws_test_support.hpp"
#include "aws/client.hpp"
#include "util/strings.hpp"

using namespace rb;
using namespace rb::aws;
using namespace std::chrono_literals;
using rb::aws::testing::FakeClock;
using rb::aws::testing::FakeTransport;
using rb::aws::testing::ScopedEnv;

namespace {

constexpr const char* kThrottle = R"({"__type":"ThrottlingException","message":"Rate exceeded"})";

Credentials test_credentials() {
  return Credentials{"AKIATESTKEY", "testsecretkeyvalue", "testsessiontoken", "profile prod (~/.aws/credentials)", ""};
}

class AwsClientTest : public ::testing::Test {
 protected:
  void SetUp() override { env.clear_aws(); }

  AwsClient make(std::string service = "ecs", RetryPolicy retry = {}) {
    if (!retry.random) retry.random = [] { return 0.5; };
    AwsClientConfig config;
    config.service = std::move(service);
    config.region = "eu-west-1";
    config.endpoint = "https://" + config.service + ".eu-west-1.amazonaws.com";
    config.credentials = test_credentials();
    config.retry = std::move(retry);
    return AwsClient(std::move(config), transport, clock);
  }

  Result<nlohmann::json> update_service(AwsClient& client, bool idempotent) {
    return client.json_call("AmazonEC2ContainerServiceV20141113", "UpdateService",
                            {{"cluster", "prod"}, {"service", "api"}}, CallOptions{.idempotent = idempotent});
  }

  ScopedEnv env;
  FakeTransport transport;
  FakeClock clock;
};

}  // namespace

// ---- error parsing -----------------------------------------------------------------------

TEST(AwsErrors, NormalizesCodes) {
  EXPECT_EQ(normalize_error_code("com.amazonaws.ecs#ServiceNotFoundException"), "ServiceNotFoundException");
  EXPECT_EQ(normalize_error_code("ClientException:http://internal.amazon.com/coral/com.amazon.coral.validate/"),
            "ClientException");
  EXPECT_EQ(normalize_error_code("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"),
            "ConditionalCheckFailedException");
  EXPECT_EQ(normalize_error_code("aws.protocoltests#FooError:http://internal.amazon.com/x"), "FooError");
  EXPECT_EQ(normalize_error_code("Plain"), "Plain");
}

TEST(AwsErrors, ParsesJsonErrors) {
  HttpResponse r{400,
                 {{"x-amzn-RequestId", "req-123"}},
                 R"({"__type":"com.amazonaws.ecs#ServiceNotFoundException","message":"Service not found."})"};
  AwsError e = parse_json_error(r);
  EXPECT_EQ(e.code, "ServiceNotFoundException");
  EXPECT_EQ(e.message, "Service not found.");
  EXPECT_EQ(e.request_id, "req-123");
  EXPECT_EQ(e.status, 400);

  // "Message" with a capital M (DynamoDB and others), and the type from the header.
  e = parse_json_error(HttpResponse{400, {{"X-Amzn-ErrorType", "ValidationException:http://x"}}, R"({"Message":"bad"})"});
  EXPECT_EQ(e.code, "ValidationException");
  EXPECT_EQ(e.message, "bad");

  // An XML error in front of a JSON API (an authorisation layer).
  e = parse_json_error(HttpResponse{403, {{"x-amzn-RequestId", "r9"}},
                                    "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch"
                                    "</Code><Message>The request signature we calculated does not match</Message>"
                                    "</Error></Errors></ErrorResponse>"});
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.request_id, "r9");

  // A proxy's HTML error page.
  e = parse_json_error(HttpResponse{502, {}, "<html><body>Bad Gateway</body></html>"});
  EXPECT_EQ(e.code, "");
  EXPECT_NE(e.message.find("Bad Gateway"), std::string::npos);
}

TEST(AwsErrors, ParsesXmlErrors) {
  HttpResponse r{404,
                 {{"x-amz-request-id", "4442587FB7D0A2F9"}},
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key "
                 "does not exist.</Message><Key>env:/dev/api/terraform.tfstate</Key><RequestId>IGNORED</RequestId></Error>"};
  AwsError e = parse_xml_error(r);
  EXPECT_EQ(e.code, "NoSuchKey");
  EXPECT_EQ(e.message, "The specified key does not exist.");
  EXPECT_EQ(e.request_id, "4442587FB7D0A2F9");

  e = parse_xml_error(HttpResponse{403, {}, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
                                            "<RequestId>abc</RequestId></ErrorResponse>"});
  EXPECT_EQ(e.code, "AccessDenied");
  EXPECT_EQ(e.request_id, "abc");

  e = parse_xml_error(HttpResponse{404, {}, ""});  // HEAD has no body
  EXPECT_EQ(e.code, "NotFound");
  e = parse_xml_error(HttpResponse{301, {{"x-amz-bucket-region", "eu-central-1"}}, ""});
  EXPECT_NE(e.message.find("eu-central-1"), std::string::npos);
}

TEST(AwsErrors, MessagesSayWhatWasTriedAndWhatCameBack) {
  AwsError e{400, "ClientException", "TaskDefinition is inactive", "abc"};
  Error err = make_service_error("ECS", "UpdateService", e, test_credentials(), "ecs");
  EXPECT_EQ(err.message, "ECS UpdateService failed: ClientException: TaskDefinition is inactive (HTTP 400, request id abc)");
  EXPECT_EQ(err.tag, "ClientException");
  EXPECT_TRUE(err.hint.empty());

  err = make_service_error("ECS", "DescribeServices", AwsError{400, "ExpiredTokenException", "expired", ""},
                           test_credentials(), "ecs");
  EXPECT_NE(err.hint.find("profile prod (~/.aws/credentials)"), std::string::npos) << err.hint;
  EXPECT_EQ(err.message, "ECS DescribeServices failed: ExpiredTokenException: expired (HTTP 400)");

  for (const char* code : {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
                           "AccessDenied"}) {
    err = make_service_error("S3", "GetObject", AwsError{403, code, "x", ""}, test_credentials(), "s3");
    EXPECT_NE(err.hint.find("profile prod"), std::string::npos) << code << ": " << err.hint;
  }
  err = make_service_error("ECS", "ListTasks", AwsError{400, "ThrottlingException", "Rate exceeded", ""},
                           test_credentials(), "ecs");
  EXPECT_NE(err.hint.find("try again in a minute"), std::string::npos);
}

TEST(AwsErrors, ClassifiesRetryableCodes) {
  for (const char* c : {"Throttling", "ThrottlingException", "ProvisionedThroughputExceededException", "SlowDown",
                        "RequestLimitExceeded", "TooManyRequestsException", "EC2ThrottledException"})
    EXPECT_TRUE(is_throttling_error(c)) << c;
  for (const char* c : {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
                        "InternalFailure", "ServiceUnavailable"})
    EXPECT_TRUE(is_transient_error(c)) << c;
  EXPECT_FALSE(is_throttling_error("ClientException"));
  EXPECT_FALSE(is_transient_error("ConditionalCheckFailedException"));
}

// ---- requests ----------------------------------------------------------------------------

TEST_F(AwsClientTest, JsonCallsAreSignedPostsWithTheTarget) {
  auto client = make("ecs");
  transport.respond(200, R"({"services":[]})", {{"x-amzn-RequestId", "r1"}});
  auto r = client.json_call("AmazonEC2ContainerServiceV20141113", "DescribeServices", {{"services", {"api"}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->contains("services"));
  ASSERT_EQ(transport.requests.size(), 1u);
  const HttpRequest& sent = transport.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "https://ecs.eu-west-1.amazonaws.com/");
  EXPECT_EQ(find_header(sent.headers, "X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.DescribeServices");
  EXPECT_EQ(find_header(sent.headers, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(find_header(sent.headers, "X-Amz-Security-Token"), "testsessiontoken");
  EXPECT_NE(find_header(sent.headers, "Authorization").find("/eu-west-1/ecs/aws4_request"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(sent.body), (nlohmann::json{{"services", {"api"}}}));

  auto dynamo = make("dynamodb");
  transport.respond(200, "");
  ASSERT_TRUE(dynamo.json_call("DynamoDB_20120810", "GetItem", {{"TableName", "t"}}).ok());
  EXPECT_EQ(find_header(transport.requests.back().headers, "Content-Type"), "application/x-amz-json-1.0");
}

TEST_F(AwsClientTest, RestCallsEncodeTheQueryAndPrefixTheHost) {
  auto client = make("s3");
  transport.respond(200, "ok");
  RestRequest r;
  r.operation = "ListObjectVersions";
  r.method = "GET";
  r.path = "/";
  r.query = {{"versions", ""}, {"prefix", "env:/dev/api"}};
  r.host_prefix = "my-bucket.";
  auto response = client.rest_call(r);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(transport.requests[0].url, "https://my-bucket.s3.eu-west-1.amazonaws.com/?versions=&prefix=env%3A%2Fdev%2Fapi");
  EXPECT_EQ(find_header(transport.requests[0].headers, "Host"), "my-bucket.s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(find_header(transport.requests[0].headers, "X-Amz-Content-SHA256").empty());
}

TEST_F(AwsClientTest, ServiceErrorsComeBackAsErrorsWithTheCode) {
  auto client = make();
  transport.respond(400, R"({"__type":"ClientException","message":"TaskDefinition is inactive"})",
                    {{"x-amzn-RequestId", "abc"}});
  auto r = update_service(client, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "ECS UpdateService failed: ClientException: TaskDefinition is inactive (HTTP 400, request id abc)");
  EXPECT_EQ(r.error().tag, "ClientException");
  EXPECT_EQ(transport.requests.size(), 1u);  // a client error is not retried
  EXPECT_TRUE(clock.sleeps.empty());
}

// ---- retries ------------------------------------------------------------------------------

TEST_F(AwsClientTest, ThrottlingIsRetriedWithJitteredBackoff) {
  auto client = make();
  transport.respond(400, kThrottle);
  transport.respond(400, kThrottle);
  transport.respond(200, "{}");
  auto r = update_service(client, /*idempotent=*/false);  // throttled requests were refused: safe to resend
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(transport.requests.size(), 3u);
  // random 0.5 x min(20 s, 1 s x 2^(attempt-1))
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{500ms, 1000ms}));
  // Every attempt is signed afresh (the clock moved on while sleeping).
  EXPECT_NE(find_header(transport.requests[0].headers, "X-Amz-Date"),
            find_header(transport.requests[2].headers, "X-Amz-Date"));
}

TEST_F(AwsClientTest, BackoffIsBoundedByTheCap) {
  RetryPolicy policy;
  policy.max_attempts = 10;
  policy.random = [] { return 0.999; };
  auto client = make("ecs", policy);
  for (int i = 0; i < 10; ++i) transport.respond(429, "{}");
  auto r = update_service(client, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport.requests.size(), 10u);
  ASSERT_EQ(clock.sleeps.size(), 9u);
  for (size_t i = 0; i < clock.sleeps.size(); ++i) {
    auto cap = std::min<std::chrono::milliseconds>(kRetryMaxBackoff, kRetryBaseDelay * (1 << i));
    EXPECT_LE(clock.sleeps[i], cap) << i;
    EXPECT_GE(clock.sleeps[i], cap * 99 / 100) << i;
  }
  EXPECT_EQ(clock.sleeps.back(), 19980ms);
}

TEST_F(AwsClientTest, ServerErrorOnANonIdempotentCallIsAmbiguousAndNotResent) {
  auto client = make();
  transport.respond(500, R"({"__type":"ServerException","message":"internal error"})", {{"x-amzn-RequestId", "r5"}});
  auto r = update_service(client, /*idempotent=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_NE(r.error().message.find("may or may not have taken effect"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("ServerException"), std::string::npos);
  EXPECT_NE(r.error().hint.find("check the current state"), std::string::npos);
  EXPECT_EQ(transport.requests.size(), 1u);
}

TEST_F(AwsClientTest, ServerErrorOnAnIdempotentCallIsRetried) {
  auto client = make();
  transport.respond(500, R"({"__type":"ServerException","message":"internal error"})");
  transport.respond(503, "");
  transport.respond(200, R"({"ok":true})");
  auto r = update_service(client, /*idempotent=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(transport.requests.size(), 3u);
}

TEST_F(AwsClientTest, S3SlowDownAndHttp429AreRetriedEvenWhenNotIdempotent) {
  auto s3 = make("s3");
  transport.respond(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
  transport.respond(200, "");
  RestRequest put{"PutObject", "PUT", "/b/k", {}, {{"If-None-Match", "*"}}, "body", ""};
  ASSERT_TRUE(s3.rest_call(put, CallOptions{.idempotent = false}).ok());
  EXPECT_EQ(transport.requests.size(), 2u);

  auto ecs = make();
  transport.respond(429, "");
  transport.respond(200, "{}");
  ASSERT_TRUE(update_service(ecs, false).ok());
  EXPECT_EQ(transport.requests.size(), 4u);
}

TEST_F(AwsClientTest, ConnectionErrors) {
  auto client = make();
  // Lost after sending, idempotent: retried.
  transport.fail("connection", "POST https://ecs.eu-west-1.amazonaws.com/: Connection reset by peer");
  transport.respond(200, "{}");
  ASSERT_TRUE(update_service(client, true).ok());
  EXPECT_EQ(transport.requests.size(), 2u);

  // Lost after sending, not idempotent: ambiguous, not resent.
  transport.fail("connection", "POST https://ecs.eu-west-1.amazonaws.com/: Operation timed out");
  auto r = update_service(client, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_NE(r.error().message.find("Operation timed out"), std::string::npos);
  EXPECT_EQ(transport.requests.size(), 3u);

  // Never sent (refused): safe to resend even when not idempotent.
  transport.fail("connection-not-sent", "POST https://ecs.eu-west-1.amazonaws.com/: Connection refused");
  transport.respond(200, "{}");
  ASSERT_TRUE(update_service(client, false).ok());
  EXPECT_EQ(transport.requests.size(), 5u);

  // Retries exhausted: the transport's failure, tagged "connection".
  for (int i = 0; i < 3; ++i) transport.fail("connection-not-sent", "POST x: Could not resolve host");
  r = update_service(client, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "connection");
  EXPECT_NE(r.error().message.find("ECS UpdateService failed: POST x: Could not resolve host"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(transport.requests.size(), 8u);
}

TEST_F(AwsClientTest, MaxAttemptsIsRespectedAndThrottlingHintsToWait) {
  auto client = make();
  for (int i = 0; i < 5; ++i) transport.respond(400, kThrottle);
  auto r = update_service(client, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(clock.sleeps.size(), 2u);
  EXPECT_EQ(r.error().tag, "ThrottlingException");
  EXPECT_NE(r.error().message.find("gave up after 3 attempts"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("try again in a minute"), std::string::npos);
}

TEST_F(AwsClientTest, AwsMaxAttemptsOverridesTheDefaultButNotAnExplicitPolicy) {
  env.set("AWS_MAX_ATTEMPTS", "5");
  auto client = make();
  EXPECT_EQ(client.max_attempts(), 5);
  for (int i = 0; i < 6; ++i) transport.respond(503, "");
  EXPECT_FALSE(update_service(client, true).ok());
  EXPECT_EQ(transport.requests.size(), 5u);

  RetryPolicy explicit_policy;
  explicit_policy.max_attempts = 2;
  EXPECT_EQ(make("ecs", explicit_policy).max_attempts(), 2);

  env.set("AWS_MAX_ATTEMPTS", "1");
  EXPECT_EQ(make().max_attempts(), 1);

  env.set("AWS_MAX_ATTEMPTS", "three");
  auto bad = make();
  auto r = update_service(bad, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Usage);
  EXPECT_NE(r.error().message.find("AWS_MAX_ATTEMPTS=three"), std::string::npos);
  EXPECT_EQ(transport.requests.size(), 5u);  // nothing more sent
}

TEST_F(AwsClientTest, InterruptedBackoffStopsRetrying) {
  auto client = make();
  clock.interrupt_sleeps = true;
  transport.respond(400, kThrottle);
  transport.respond(200, "{}");
  auto r = update_service(client, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Interrupted);
  EXPECT_EQ(transport.requests.size(), 1u);
}

TEST_F(AwsClientTest, NonJsonSuccessBodyIsAnError) {
  auto client = make();
  transport.respond(200, "<html>captive portal</html>");
  auto r = update_service(client, true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not JSON"), std::string::npos);
}

// One retry policy for every AWS call the tool makes (issue 10 item 6): 5 attempts during an
// incident, unless AWS_MAX_ATTEMPTS says otherwise (then the client reads the variable).
TEST(AwsRetryPolicy, DefaultIsIncidentAttemptsUnlessTheVariableIsSet) {
  rb::aws::testing::ScopedEnv env;
  env.clear_aws();
  EXPECT_EQ(rb::aws::default_retry_policy().max_attempts, rb::aws::kIncidentMaxAttempts);
  env.set("AWS_MAX_ATTEMPTS", "2");
  EXPECT_EQ(rb::aws::default_retry_policy().max_attempts, 0);
}
