#include "infra/aws_storage.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "aws/credentials.hpp"
#include "infra/lock_info.hpp"
#include "util/log.hpp"

namespace rb::infra {

namespace {

// Terraform's S3 backend writes state objects with this content type (remote-state/s3/client.go).
constexpr const char* kStateContentType = "application/json";

nlohmann::json string_attribute(const std::string& value) { return {{"S", value}}; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// S3

Result<std::vector<S3ObjectVersion>> S3StateObjectStore::list_object_versions(const std::string& bucket,
                                                                              const std::string& prefix) {
  RB_TRY_ASSIGN(auto listed, s3_.list_object_versions(bucket, prefix));
  std::vector<S3ObjectVersion> out;
  out.reserve(listed.size());
  for (auto& v : listed) {
    S3ObjectVersion o;
    o.key = std::move(v.key);
    o.version_id = std::move(v.version_id);
    o.is_latest = v.is_latest;
    o.size = static_cast<int64_t>(v.size);
    o.is_delete_marker = v.is_delete_marker;
    if (auto t = parse_rfc3339(v.last_modified)) {
      o.last_modified = *t;
    } else {
      // Ordering newest first depends on it: a listing we cannot order is not trustworthy.
      return Error{ExitCode::Failed,
                   fmt::format("S3 ListObjectVersions returned LastModified \"{}\" for {} version {}, which is not a time",
                               v.last_modified, o.key, o.version_id),
                   "check that the endpoint really is S3", "bad-response"};
    }
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::string> S3StateObjectStore::get_object(const std::string& bucket, const std::string& key,
                                                   const std::string& version_id) {
  std::optional<std::string> version;
  if (!version_id.empty()) version = version_id;
  auto r = s3_.get_object(bucket, key, version);
  if (!r) {
    Error e = r.take_error();
    // A versioned GET of a delete marker answers 405, a malformed version id 400 InvalidArgument:
    // for the caller both mean "there is no such version of this key".
    if (version && (e.tag == "MethodNotAllowed" || e.tag == "InvalidArgument")) e.tag = "NoSuchVersion";
    return e;
  }
  return std::move(r->body);
}

Result<std::string> S3StateObjectStore::put_object(const std::string& bucket, const std::string& key,
                                                   const std::string& body, bool if_none_match) {
  aws::Headers headers{{"Content-Type", kStateContentType}};
  if (if_none_match) headers.emplace_back("If-None-Match", "*");
  RB_TRY_ASSIGN(auto put, s3_.put_object(bucket, key, body, headers));
  return put.version_id;
}

Status S3StateObjectStore::delete_object(const std::string& bucket, const std::string& key) {
  RB_TRY(s3_.delete_object(bucket, key));
  return {};
}

Result<std::string> S3StateObjectStore::bucket_versioning(const std::string& bucket) {
  return s3_.get_bucket_versioning(bucket);
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

Status DynamoDbLockTable::put_item(const std::string& table, const std::string& lock_id, const std::string& attribute,
                                   const std::string& value, bool only_if_absent) {
  nlohmann::json item = {{"LockID", string_attribute(lock_id)}, {attribute, string_attribute(value)}};
  aws::DynamoDbWrite write;
  if (only_if_absent) write.condition_expression = "attribute_not_exists(LockID)";
  RB_TRY(ddb_.put_item(table, item, write));
  return {};
}

Result<std::optional<std::string>> DynamoDbLockTable::get_item(const std::string& table, const std::string& lock_id,
                                                               const std::string& attribute) {
  RB_TRY_ASSIGN(auto response, ddb_.get_item(table, {{"LockID", string_attribute(lock_id)}}, /*consistent_read=*/true));
  auto item = response.find("Item");
  if (item == response.end() || !item->is_object()) return std::optional<std::string>();
  auto attr = item->find(attribute);
  if (attr == item->end() || !attr->is_object()) return std::optional<std::string>();
  auto s = attr->find("S");
  if (s == attr->end() || !s->is_string()) return std::optional<std::string>();
  return std::optional<std::string>(s->get<std::string>());
}

Status DynamoDbLockTable::delete_item(const std::string& table, const std::string& lock_id) {
  RB_TRY(ddb_.delete_item(table, {{"LockID", string_attribute(lock_id)}}));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Factory

S3BackendConfig backend_config(const EnvironmentConfig& env) {
  S3BackendConfig c;
  c.bucket = env.terraform.state.bucket;
  c.key = env.terraform.state.key;
  c.workspace_key_prefix = env.terraform.state.workspace_key_prefix;
  c.dynamodb_table = env.terraform.state.dynamodb_table;
  c.use_lockfile = env.terraform.state.use_lockfile;
  return c;
}

Result<StateBackend> make_state_backend(const Config& config, const EnvironmentConfig& env, Clock& clock) {
  StateBackend b;
  b.config = backend_config(env);
  b.workspace = env.terraform.state.workspace.empty() ? std::string(kDefaultWorkspace) : env.terraform.state.workspace;
  auto location = state_location(b.config, b.workspace);
  if (!location) {
    Error e = location.take_error();
    if (e.hint.empty())
      e.hint = fmt::format("check environments.{}.terraform.state in {} (it must match the backend \"s3\" block)", env.name,
                           config.file.string());
    return e;
  }
  b.location = std::move(*location);

  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials(env.aws_profile));
  RB_TRY_ASSIGN(b.region, aws::resolve_region(env.aws_profile, env.region.empty() ? config.region : env.region));
  aws::RetryPolicy retry = aws::default_retry_policy();

  auto s3_config = aws::AwsClientConfig::for_service("s3", b.region, credentials, retry);
  b.s3_endpoint = s3_config.endpoint;
  log_debug("S3 endpoint {} (region {}), state {}", s3_config.endpoint, b.region, b.url());
  b.s3_transport = std::make_unique<aws::CurlTransport>();
  b.store = std::make_unique<S3StateObjectStore>(aws::S3Client(aws::AwsClient(std::move(s3_config), *b.s3_transport, clock)));

  if (!b.config.dynamodb_table.empty()) {
    auto ddb_config = aws::AwsClientConfig::for_service("dynamodb", b.region, std::move(credentials), retry);
    log_debug("DynamoDB endpoint {}, lock table {}", ddb_config.endpoint, b.config.dynamodb_table);
    b.ddb_transport = std::make_unique<aws::CurlTransport>();
    b.locks = std::make_unique<DynamoDbLockTable>(
        aws::DynamoDbClient(aws::AwsClient(std::move(ddb_config), *b.ddb_transport, clock)));
  }
  return b;
}

}  // namespace rb::infra
