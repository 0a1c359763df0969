// The thin ECS, S3 and DynamoDB clients over a fake transport: request shapes, paging,
// batching, XML parsing and which calls are safe to resend.
#include <gtest/gtest.h>

#include "../aws/aws_test_support.hpp"
#include "aws/dynamodb.hpp"
#include "aws/ecs.hpp"
#include "aws/s3.hpp"

using namespace rb;
using namespace rb::aws;
using rb::aws::testing::FakeClock;
using rb::aws::testing::FakeTransport;
using rb::aws::testing::ScopedEnv;

namespace {

class AwsServices : public ::testing::Test {
 protected:
  void SetUp() override { env.clear_aws(); }

  AwsClient make(const std::string& service, const std::string& endpoint) {
    AwsClientConfig config;
    config.service = service;
    config.region = "eu-west-1";
    config.endpoint = endpoint;
    config.credentials = Credentials{"AKIATEST", "secretsecret", "", "environment", ""};
    config.retry.random = [] { return 0.0; };
    return AwsClient(std::move(config), transport, clock);
  }
  EcsClient ecs() { return EcsClient(make("ecs", "https://ecs.eu-west-1.amazonaws.com")); }
  S3Client s3_local() { return S3Client(make("s3", "http://127.0.0.1:5000")); }
  S3Client s3_aws() { return S3Client(make("s3", "https://s3.eu-west-1.amazonaws.com")); }
  DynamoDbClient dynamo() { return DynamoDbClient(make("dynamodb", "https://dynamodb.eu-west-1.amazonaws.com")); }

  nlohmann::json body(size_t i) const { return nlohmann::json::parse(transport.requests.at(i).body); }
  std::string target(size_t i) const { return find_header(transport.requests.at(i).headers, "X-Amz-Target"); }

  ScopedEnv env;
  FakeTransport transport;
  FakeClock clock;
};

const char* kVersionsPage1 = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>tfstate</Name><Prefix>env%3A%2Fdev%2Fapi%2Fterraform.tfstate</Prefix>
  <KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>
  <NextKeyMarker>env%3A%2Fdev%2Fapi%2Fterraform.tfstate</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker>
  <MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
  <DeleteMarker><Key>env%3A%2Fdev%2Fapi%2Fterraform.tfstate</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest>
    <LastModified>2026-01-03T00:00:00.000Z</LastModified></DeleteMarker>
  <Version><Key>env%3A%2Fdev%2Fapi%2Fterraform.tfstate</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest>
    <LastModified>2026-01-02T00:00:00.000Z</LastModified><ETag>&quot;aaa&quot;</ETag><Size>120</Size>
    <StorageClass>STANDARD</StorageClass></Version>
</ListVersionsResult>)";

const char* kVersionsPage2 = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>
  <Version><Key>env%3A%2Fdev%2Fapi%2Fterraform.tfstate</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>
    <LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"bbb"</ETag><Size>100</Size></Version>
  <Version><Key>env%3A%2Fdev%2Fapi%2Fterraform.tfstate.tflock</Key><VersionId>L1</VersionId><IsLatest>true</IsLatest>
    <LastModified>2026-01-04T00:00:00.000Z</LastModified><ETag>"ccc"</ETag><Size>200</Size></Version>
  <Version><Key>with+plus%2Bsign</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>
    <LastModified>2026-01-04T00:00:00.000Z</LastModified><ETag>"ddd"</ETag><Size>1</Size></Version>
</ListVersionsResult>)";

}  // namespace

// ---- ECS ----------------------------------------------------------------------------------

TEST_F(AwsServices, EcsListsEveryTaskDefinitionPage) {
  transport.respond(200, R"({"taskDefinitionArns":["arn:td/api:1","arn:td/api:2"],"nextToken":"t1"})");
  transport.respond(200, R"({"taskDefinitionArns":["arn:td/api:3"],"nextToken":"t2"})");
  transport.respond(200, R"({"taskDefinitionArns":["arn:td/api:4"]})");
  auto client = ecs();
  auto arns = client.list_all_task_definition_arns("api", "INACTIVE");
  ASSERT_TRUE(arns.ok()) << arns.error().message;
  EXPECT_EQ(*arns, (std::vector<std::string>{"arn:td/api:1", "arn:td/api:2", "arn:td/api:3", "arn:td/api:4"}));
  ASSERT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(target(0), "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions");
  EXPECT_EQ(body(0), (nlohmann::json{{"familyPrefix", "api"}, {"status", "INACTIVE"}, {"sort", "ASC"}, {"maxResults", 100}}));
  EXPECT_EQ(body(1).at("nextToken"), "t1");
  EXPECT_EQ(body(2).at("nextToken"), "t2");
}

TEST_F(AwsServices, EcsPagingStopsOnARepeatedToken) {
  transport.respond(200, R"({"taskDefinitionArns":[],"nextToken":"same"})");
  transport.respond(200, R"({"taskDefinitionArns":[],"nextToken":"same"})");
  auto client = ecs();
  auto arns = client.list_all_task_definition_arns("api");
  ASSERT_FALSE(arns.ok());
  EXPECT_EQ(arns.error().tag, "bad-response");
}

TEST_F(AwsServices, EcsDescribeServicesBatchesByTen) {
  std::vector<std::string> names;
  for (int i = 0; i < 23; ++i) names.push_back("svc" + std::to_string(i));
  transport.respond(200, R"({"services":[{"serviceName":"svc0"}],"failures":[]})");
  transport.respond(200, R"({"services":[],"failures":[{"arn":"svc12","reason":"MISSING"}]})");
  transport.respond(200, R"({"services":[{"serviceName":"svc22"}]})");
  auto client = ecs();
  auto r = client.describe_services("prod", names);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(body(0).at("services").size(), 10u);
  EXPECT_EQ(body(1).at("services").size(), 10u);
  EXPECT_EQ(body(2).at("services").size(), 3u);
  EXPECT_EQ(body(2).at("cluster"), "prod");
  EXPECT_EQ(r->at("services").size(), 2u);
  EXPECT_EQ(r->at("failures").at(0).at("reason"), "MISSING");
}

TEST_F(AwsServices, EcsDescribeTasksBatchesByAHundredAndListTasksPages) {
  std::vector<std::string> arns(250, "arn:task");
  for (int i = 0; i < 3; ++i) transport.respond(200, R"({"tasks":[{"lastStatus":"STOPPED"}]})");
  auto client = ecs();
  auto r = client.describe_tasks("prod", arns);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(transport.requests.size(), 3u);
  EXPECT_EQ(body(0).at("tasks").size(), 100u);
  EXPECT_EQ(body(2).at("tasks").size(), 50u);
  EXPECT_EQ(r->at("tasks").size(), 3u);

  transport.respond(200, R"({"taskArns":["a"],"nextToken":"n"})");
  transport.respond(200, R"({"taskArns":["b"]})");
  auto tasks = client.list_tasks("prod", ListTasksFilter{.service_name = "", .family = "api", .desired_status = "STOPPED",
                                                         .started_by = "ecs-svc/123"});
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(*tasks, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(body(3).at("family"), "api");
  EXPECT_EQ(body(3).at("desiredStatus"), "STOPPED");
  EXPECT_EQ(body(3).at("startedBy"), "ecs-svc/123");
  EXPECT_EQ(body(4).at("nextToken"), "n");
}

TEST_F(AwsServices, EcsUpdateServiceIsNotResentAfterAServerError) {
  transport.respond(500, R"({"__type":"ServerException","message":"boom"})");
  auto client = ecs();
  auto r = client.update_service("prod", "api", "arn:td/api:41", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(body(0), (nlohmann::json{{"cluster", "prod"}, {"service", "api"}, {"taskDefinition", "arn:td/api:41"},
                                     {"forceNewDeployment", true}}));
}

TEST_F(AwsServices, EcsRunTaskCarriesAClientTokenSoResendingIsSafe) {
  transport.respond(500, R"({"__type":"ServerException","message":"boom"})");
  transport.respond(200, R"({"tasks":[{"taskArn":"arn:task/1"}],"failures":[]})");
  auto client = ecs();
  auto r = client.run_task({{"cluster", "prod"}, {"taskDefinition", "api:40"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(transport.requests.size(), 2u);
  std::string token = body(0).at("clientToken");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(body(1).at("clientToken"), token);  // the same token: ECS deduplicates
}

// ---- S3 -----------------------------------------------------------------------------------

TEST_F(AwsServices, S3ListsVersionsAcrossPagesAndDecodesKeys) {
  transport.respond(200, kVersionsPage1);
  transport.respond(200, kVersionsPage2);
  auto s3 = s3_local();
  auto versions = s3.list_object_versions("tfstate", "env:/dev/api/terraform.tfstate", 2);
  ASSERT_TRUE(versions.ok()) << versions.error().message;
  ASSERT_EQ(versions->size(), 5u);
  const auto& v = *versions;
  EXPECT_TRUE(v[0].is_delete_marker);
  EXPECT_EQ(v[0].key, "env:/dev/api/terraform.tfstate");
  EXPECT_EQ(v[0].version_id, "v3");
  EXPECT_TRUE(v[0].is_latest);
  EXPECT_FALSE(v[1].is_delete_marker);
  EXPECT_EQ(v[1].etag, "aaa");
  EXPECT_EQ(v[1].size, 120u);
  EXPECT_EQ(v[1].last_modified, "2026-01-02T00:00:00.000Z");
  EXPECT_EQ(v[2].version_id, "v1");
  EXPECT_EQ(v[3].key, "env:/dev/api/terraform.tfstate.tflock");
  EXPECT_EQ(v[4].key, "with plus+sign");  // unquote_plus, as botocore decodes encoding-type=url

  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(transport.requests[0].url,
            "http://127.0.0.1:5000/tfstate?versions=&encoding-type=url&prefix=env%3A%2Fdev%2Fapi%2Fterraform.tfstate"
            "&max-keys=2");
  EXPECT_EQ(transport.requests[1].url,
            "http://127.0.0.1:5000/tfstate?versions=&encoding-type=url&prefix=env%3A%2Fdev%2Fapi%2Fterraform.tfstate"
            "&max-keys=2&key-marker=env%3A%2Fdev%2Fapi%2Fterraform.tfstate&version-id-marker=v2");
}

TEST_F(AwsServices, S3AddressingStyles) {
  auto local = s3_local();
  EXPECT_EQ(local.object_request("GetObject", "GET", "tfstate", "env:/dev/a b+c").path, "/tfstate/env%3A/dev/a%20b%2Bc");
  auto aws = s3_aws();
  RestRequest vh = aws.object_request("GetObject", "GET", "tfstate-bucket", "env:/dev/api/terraform.tfstate");
  EXPECT_EQ(vh.host_prefix, "tfstate-bucket.");
  EXPECT_EQ(vh.path, "/env%3A/dev/api/terraform.tfstate");
  // Dotted names break TLS on virtual hosts: path-style.
  RestRequest dotted = aws.object_request("GetObject", "GET", "my.bucket", "k");
  EXPECT_EQ(dotted.host_prefix, "");
  EXPECT_EQ(dotted.path, "/my.bucket/k");

  transport.respond(200, "{\"version\":4}", {{"x-amz-version-id", "v9"}, {"ETag", "\"abc\""}});
  auto o = aws.get_object("tfstate-bucket", "env:/dev/api/terraform.tfstate", std::string("v9/+"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->body, "{\"version\":4}");
  EXPECT_EQ(o->version_id, "v9");
  EXPECT_EQ(o->etag, "abc");
  EXPECT_EQ(transport.requests[0].url,
            "https://tfstate-bucket.s3.eu-west-1.amazonaws.com/env%3A/dev/api/terraform.tfstate?versionId=v9%2F%2B");
}

TEST_F(AwsServices, S3ConditionalPutFailsWithPreconditionFailedAndIsNotResent) {
  auto s3 = s3_local();
  transport.respond(412,
                    "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did "
                    "not hold</Message><Condition>If-None-Match</Condition><RequestId>r1</RequestId></Error>");
  auto r = s3.put_object("b", "k.tflock", "{}", {{"If-None-Match", "*"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "PreconditionFailed");
  EXPECT_EQ(find_header(transport.requests[0].headers, "If-None-Match"), "*");

  transport.respond(500, "<Error><Code>InternalError</Code><Message>We encountered an internal error</Message></Error>");
  r = s3.put_object("b", "k.tflock", "{}", {{"If-None-Match", "*"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_EQ(transport.requests.size(), 2u);

  // An unconditional put is resent.
  transport.respond(500, "<Error><Code>InternalError</Code><Message>x</Message></Error>");
  transport.respond(200, "", {{"x-amz-version-id", "v2"}, {"ETag", "\"e\""}});
  auto ok = s3.put_object("b", "k", "state");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->version_id, "v2");
  EXPECT_EQ(transport.requests.back().body, "state");
  EXPECT_EQ(find_header(transport.requests.back().headers, "Content-MD5"), "ntOeLqkxWGtqmFppQu9XPg==");  // md5("state")
}

TEST_F(AwsServices, S3HeadAndDelete) {
  auto s3 = s3_local();
  transport.respond(404, "");
  auto missing = s3.head_object("b", "nope");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(transport.requests[0].method, "HEAD");

  transport.respond(200, "", {{"Content-Length", "1234"}, {"x-amz-version-id", "v1"}, {"ETag", "\"e1\""}});
  auto info = s3.head_object("b", "k");
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size, 1234u);
  EXPECT_EQ((*info)->etag, "e1");

  transport.respond(403, "");
  auto denied = s3.head_object("b", "k");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().tag, "Forbidden");
  EXPECT_FALSE(denied.error().hint.empty());

  transport.respond(204, "", {{"x-amz-delete-marker", "true"}, {"x-amz-version-id", "dm1"}});
  auto d = s3.delete_object("b", "k");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->delete_marker);
  EXPECT_EQ(d->version_id, "dm1");
  EXPECT_EQ(transport.requests.back().method, "DELETE");

  transport.respond(404, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
  auto g = s3.get_object("b", "gone");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().tag, "NoSuchKey");
  EXPECT_EQ(g.error().message, "S3 GetObject failed: NoSuchKey: The specified key does not exist. (HTTP 404)");
}

// ---- DynamoDB -------------------------------------------------------------------------------

TEST_F(AwsServices, DynamoDbConditionalWrites) {
  auto db = dynamo();
  nlohmann::json item = {{"LockID", {{"S", "bucket/env:/dev/api/terraform.tfstate"}}}, {"Info", {{"S", "{}"}}}};
  transport.respond(400,
                    R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"})");
  auto r = db.put_item("tf-locks", item, DynamoDbWrite{.condition_expression = "attribute_not_exists(LockID)"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ConditionalCheckFailedException");
  EXPECT_EQ(target(0), "DynamoDB_20120810.PutItem");
  EXPECT_EQ(find_header(transport.requests[0].headers, "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(body(0), (nlohmann::json{{"TableName", "tf-locks"}, {"Item", item},
                                     {"ConditionExpression", "attribute_not_exists(LockID)"}}));

  // A conditional write is not resent after a server error: it would fail against itself.
  transport.respond(500, R"({"__type":"InternalServerError","message":"x"})");
  r = db.put_item("tf-locks", item, DynamoDbWrite{.condition_expression = "attribute_not_exists(LockID)"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_EQ(transport.requests.size(), 2u);

  // ProvisionedThroughputExceededException is throttling: retried.
  transport.respond(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"})");
  transport.respond(200, R"({"Item":{"LockID":{"S":"x"},"Digest":{"S":"abc"}}})");
  auto got = db.get_item("tf-locks", {{"LockID", {{"S", "x"}}}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->at("Item").at("Digest").at("S"), "abc");
  EXPECT_EQ(body(3).at("ConsistentRead"), true);

  transport.respond(200, "{}");
  ASSERT_TRUE(db.update_item("tf-locks", {{"LockID", {{"S", "x-md5"}}}}, "SET #d = :v",
                             DynamoDbWrite{.attribute_names = {{"#d", "Digest"}},
                                           .attribute_values = {{":v", {{"S", "0123"}}}}})
                  .ok());
  EXPECT_EQ(body(4).at("UpdateExpression"), "SET #d = :v");
  EXPECT_EQ(body(4).at("ExpressionAttributeNames").at("#d"), "Digest");
  EXPECT_FALSE(body(4).contains("ConditionExpression"));

  transport.respond(200, "{}");
  ASSERT_TRUE(db.delete_item("tf-locks", {{"LockID", {{"S", "x"}}}}).ok());
  EXPECT_EQ(target(5), "DynamoDB_20120810.DeleteItem");
}

// Issue 10 item 6: an ECS reply that is JSON but not an object is an error value here, once,
// so that no caller's field read can meet an array or a string.
TEST_F(AwsServices, EcsReplyThatIsNotAnObjectIsAnError) {
  for (const char* reply : {"[1,2]", "\"ok\"", "42", "null"}) {
    transport.respond(200, reply);
    auto client = ecs();
    auto r = client.describe_services("c", {"svc"});
    ASSERT_FALSE(r.ok()) << reply;
    EXPECT_EQ(r.error().tag, "bad-response") << reply;
    EXPECT_NE(r.error().message.find("DescribeServices"), std::string::npos);
  }
  transport.respond(200, "");  // an empty body is {} (some operations answer nothing)
  auto client = ecs();
  EXPECT_TRUE(client.describe_services("c", {"svc"}).ok());
}
