// The STS client (Query protocol) with a fake transport, the refresh of expiring credentials
// by the AWS client, and the account_id refusal message.
#include <gtest/gtest.h>

#include "../aws/aws_test_support.hpp"
#include "aws/sts.hpp"
#include "core/identity.hpp"
#include "util/redact.hpp"

using namespace rb;
using namespace rb::aws;
using rb::aws::testing::FakeClock;
using rb::aws::testing::FakeTransport;
using rb::aws::testing::ScopedEnv;

namespace {

constexpr const char* kCallerIdentity = R"(<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/Deployer/alice</Arn>
    <UserId>AROAEXAMPLE:alice</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>)";

constexpr const char* kAssumeRole = R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAASSUMED</AccessKeyId>
      <SecretAccessKey>assumedsecretvalue</SecretAccessKey>
      <SessionToken>assumedsessiontoken</SessionToken>
      <Expiration>2026-01-01T01:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/deployer/oncall</Arn>
      <AssumedRoleId>AROA:oncall</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleResult>
</AssumeRoleResponse>)";

class StsTest : public ::testing::Test {
 protected:
  void SetUp() override { env.clear_aws(); }
  AwsClient make(Credentials credentials, bool anonymous = false) {
    AwsClientConfig config;
    config.service = "sts";
    config.region = "us-east-1";
    config.endpoint = "https://sts.us-east-1.amazonaws.com";
    config.credentials = std::move(credentials);
    config.anonymous = anonymous;
    config.retry.random = [] { return 0.0; };
    return AwsClient(std::move(config), transport, clock);
  }
  static Credentials keys(std::string id = "AKIASOURCE") {
    return Credentials{std::move(id), "sourcesecret", "", "profile base (~/.aws/credentials)", ""};
  }
  ScopedEnv env;
  FakeTransport transport;
  FakeClock clock;
};

}  // namespace

TEST_F(StsTest, GetCallerIdentitySendsTheQueryFormAndParsesTheReply) {
  AwsClient client = make(keys());
  transport.respond(200, kCallerIdentity);
  auto id = get_caller_identity(client);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->account, "123456789012");
  EXPECT_EQ(id->arn, "arn:aws:sts::123456789012:assumed-role/Deployer/alice");
  EXPECT_EQ(id->user_id, "AROAEXAMPLE:alice");
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].method, "POST");
  EXPECT_EQ(transport.requests[0].body, "Action=GetCallerIdentity&Version=2011-06-15");
  EXPECT_EQ(find_header(transport.requests[0].headers, "Content-Type"),
            "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_NE(find_header(transport.requests[0].headers, "Authorization").find("/us-east-1/sts/aws4_request"),
            std::string::npos);
}

TEST_F(StsTest, AssumeRoleSendsEveryOptionAndReturnsExpiringCredentials) {
  AwsClient client = make(keys());
  transport.respond(200, kAssumeRole);
  AssumeRoleRequest request;
  request.role_arn = "arn:aws:iam::210987654321:role/deployer";
  request.role_session_name = "oncall";
  request.external_id = "ext 42";
  request.serial_number = "arn:aws:iam::1:mfa/me";
  request.token_code = "123456";
  request.duration_seconds = 900;
  auto r = assume_role(client, request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(transport.requests[0].body,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Fdeployer&"
            "RoleSessionName=oncall&DurationSeconds=900&ExternalId=ext%2042&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fme&"
            "TokenCode=123456");
  EXPECT_EQ(r->credentials.access_key_id, "ASIAASSUMED");
  EXPECT_EQ(r->credentials.expires_at, std::optional<std::time_t>(1767229200));
  EXPECT_EQ(r->account, "210987654321");
  EXPECT_EQ(r->assumed_role_arn, "arn:aws:sts::210987654321:assumed-role/deployer/oncall");
  EXPECT_EQ(redact("assumedsecretvalue and assumedsessiontoken"), "**** and ****");
}

TEST_F(StsTest, WebIdentityIsSentUnsigned) {
  AwsClient client = make(Credentials{}, /*anonymous=*/true);
  transport.respond(200, std::string(kAssumeRole));
  auto r = assume_role_with_web_identity(client, "arn:aws:iam::1:role/ci", "run-1", "oidc.jwt.token");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(has_header(transport.requests[0].headers, "Authorization"));
  EXPECT_NE(transport.requests[0].body.find("WebIdentityToken=oidc.jwt.token"), std::string::npos);
}

TEST_F(StsTest, ErrorResponsesNameTheCode) {
  AwsClient client = make(keys());
  transport.respond(403, R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
    <Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error>
    <RequestId>req-1</RequestId></ErrorResponse>)");
  AssumeRoleRequest request;
  request.role_arn = "arn:aws:iam::1:role/x";
  request.role_session_name = "s";
  auto r = assume_role(client, request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "AccessDenied");
  EXPECT_NE(r.error().message.find("STS AssumeRole failed: AccessDenied: User is not authorized"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("request id req-1"), std::string::npos) << r.error().message;
}

TEST_F(StsTest, ExpiringCredentialsAreRefreshedBeforeSigning) {
  // The fake clock starts at 2026-01-01T00:00:00Z; these credentials expire 12 minutes later
  // (inside the advisory window), so the client asks for fresh ones before signing.
  Credentials expiring = keys("ASIAOLD");
  expiring.expires_at = 1767225600 + 12 * 60;
  int refreshes = 0;
  expiring.refresh = [&]() -> Result<Credentials> {
    ++refreshes;
    Credentials fresh = keys("ASIANEW");
    fresh.expires_at = 1767225600 + 3600;
    return fresh;
  };
  AwsClient client = make(expiring);
  transport.respond(200, kCallerIdentity);
  transport.respond(200, kCallerIdentity);
  ASSERT_TRUE(get_caller_identity(client).ok());
  ASSERT_TRUE(get_caller_identity(client).ok());
  EXPECT_EQ(refreshes, 1);  // the fresh ones are good for an hour
  EXPECT_NE(find_header(transport.requests[0].headers, "Authorization").find("Credential=ASIANEW/"), std::string::npos);
}

TEST_F(StsTest, AFailedRefreshIsToleratedOnlyOutsideTheMandatoryWindow) {
  Credentials expiring = keys("ASIAOLD");
  expiring.expires_at = 1767225600 + 12 * 60;
  expiring.refresh = []() -> Result<Credentials> { return failure("the SSO portal is down"); };
  AwsClient client = make(expiring);
  transport.respond(200, kCallerIdentity);
  ASSERT_TRUE(get_caller_identity(client).ok());  // 12 minutes left: the old ones still sign
  EXPECT_NE(find_header(transport.requests[0].headers, "Authorization").find("Credential=ASIAOLD/"), std::string::npos);

  clock.sleep_for(std::chrono::minutes(3));  // 9 minutes left: mandatory
  auto r = get_caller_identity(client);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::CannotStart);
  EXPECT_NE(r.error().message.find("could not be refreshed: the SSO portal is down"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(transport.requests.size(), 1u);  // nothing sent with credentials about to expire
}

TEST(AccountCheck, MismatchNamesBothAccountsAndTheProfile) {
  EnvironmentConfig env;
  env.name = "prod";
  env.account_id = "999999999999";
  EnvironmentIdentity who{{"123456789012", "arn:aws:sts::123456789012:assumed-role/Dev/alice", "AROA"},
                          "SSO 123456789012 / Dev (profile dev)", "dev"};
  Error e = account_mismatch_error(env, who);
  EXPECT_EQ(e.code, ExitCode::CannotStart);
  EXPECT_NE(e.message.find("999999999999"), std::string::npos);
  EXPECT_NE(e.message.find("123456789012"), std::string::npos);
  EXPECT_NE(e.message.find("profile dev"), std::string::npos);
  EXPECT_NE(e.message.find("nothing was changed"), std::string::npos);
}
