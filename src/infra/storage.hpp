// What the infra layer needs from S3 and DynamoDB, as small interfaces: the aws layer adapts its
// clients to them, unit tests use in-memory fakes. Names follow the AWS operations they stand for.
// Errors carry the AWS error code in Error::tag (e.g. "NoSuchKey", "PreconditionFailed",
// "ConditionalCheckFailedException") so callers can tell "someone else holds the lock" from a failure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "infra/s3_backend.hpp"
#include "util/result.hpp"

namespace rb::infra {

class StateObjectStore {
 public:
  virtual ~StateObjectStore() = default;

  // ListObjectVersions(Bucket, Prefix) over every page, versions and delete markers together.
  virtual Result<std::vector<S3ObjectVersion>> list_object_versions(const std::string& bucket, const std::string& prefix) = 0;

  // GetObject: the exact bytes of `key` at `version_id` ("" = the current version). Error tag
  // "NoSuchKey" / "NoSuchVersion" when absent (a delete marker as the current version counts as absent).
  virtual Result<std::string> get_object(const std::string& bucket, const std::string& key, const std::string& version_id) = 0;

  // PutObject with Content-Type application/json; with `if_none_match`, sent with
  // `If-None-Match: *` (S3 native locking), failing with tag "PreconditionFailed" when the key exists.
  // Returns the new version id ("" when the bucket is not versioned).
  virtual Result<std::string> put_object(const std::string& bucket, const std::string& key, const std::string& body,
                                         bool if_none_match) = 0;

  // DeleteObject of the current version (on a versioned bucket: adds a delete marker).
  virtual Status delete_object(const std::string& bucket, const std::string& key) = 0;

  // GetBucketVersioning: "Enabled", "Suspended" or "" (never enabled). A restore needs
  // "Enabled": without versions there is nothing to go back to.
  virtual Result<std::string> bucket_versioning(const std::string& bucket) {
    (void)bucket;
    return failure("this state store cannot tell whether the bucket is versioned");
  }
};

class LockTable {
 public:
  virtual ~LockTable() = default;

  // PutItem {LockID: S lock_id, <attribute>: S value}; with `only_if_absent`, ConditionExpression
  // attribute_not_exists(LockID), failing with tag "ConditionalCheckFailedException" when held.
  virtual Status put_item(const std::string& table, const std::string& lock_id, const std::string& attribute,
                          const std::string& value, bool only_if_absent) = 0;

  // GetItem with ConsistentRead: the string `attribute` of the item, nullopt when the item or the
  // attribute does not exist.
  virtual Result<std::optional<std::string>> get_item(const std::string& table, const std::string& lock_id,
                                                      const std::string& attribute) = 0;

  // DeleteItem by LockID (no error when absent).
  virtual Status delete_item(const std::string& table, const std::string& lock_id) = 0;
};

}  // namespace rb::infra
