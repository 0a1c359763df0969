// A thin S3 client (REST-XML) for the object operations a Terraform state restore needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace rb::aws {

struct S3ObjectVersion {
  std::string key;
  std::string version_id;  // "null" for objects written before versioning was enabled
  bool is_latest = false;
  std::string last_modified;  // ISO-8601 as S3 returns it
  uint64_t size = 0;          // 0 for delete markers
  std::string etag;           // without the quotes; empty for delete markers
  bool is_delete_marker = false;
};

struct S3Object {
  std::string body;
  std::string version_id;  // x-amz-version-id (empty when the bucket is not versioned)
  std::string etag;        // without the quotes
  std::string last_modified;
  std::string content_type;
};

struct S3ObjectInfo {
  uint64_t size = 0;
  std::string version_id;
  std::string etag;
  std::string last_modified;
  std::string content_type;
};

struct S3PutResult {
  std::string version_id;
  std::string etag;
};

struct S3DeleteResult {
  std::string version_id;     // of the delete marker created, or of the version removed
  bool delete_marker = false;  // x-amz-delete-marker
};

enum class S3Addressing {
  Auto,     // virtual-hosted on AWS endpoints for DNS-safe names without dots, else path-style
  Path,     // https://endpoint/bucket/key
  Virtual,  // https://bucket.endpoint/key
};

class S3Client {
 public:
  explicit S3Client(AwsClient client, S3Addressing addressing = S3Addressing::Auto)
      : client_(std::move(client)), addressing_(addressing) {}

  // Every version and delete marker whose key starts with `prefix`, in the server's order
  // (key, then newest first), following KeyMarker/VersionIdMarker. The prefix matches more than
  // the exact key (e.g. "<key>.tflock"): filter on key. `max_keys` > 0 sets the page size.
  Result<std::vector<S3ObjectVersion>> list_object_versions(const std::string& bucket, const std::string& prefix,
                                                            int max_keys = 0);
  // The object (or the given version). Missing: error with tag NoSuchKey / NoSuchVersion.
  Result<S3Object> get_object(const std::string& bucket, const std::string& key,
                              const std::optional<std::string>& version_id = std::nullopt);
  // Writes the object, with a Content-MD5 of the body unless `headers` has one. `headers` may
  // carry Content-Type, If-None-Match: * (fails with tag PreconditionFailed when the key
  // exists), If-Match, x-amz-meta-*. A conditional put is not resent after an ambiguous failure
  // unless opts says so.
  Result<S3PutResult> put_object(const std::string& bucket, const std::string& key, const std::string& body,
                                 const Headers& headers = {}, std::optional<CallOptions> opts = std::nullopt);
  // The object's metadata, or nullopt when there is no such key/version (HTTP 404).
  Result<std::optional<S3ObjectInfo>> head_object(const std::string& bucket, const std::string& key,
                                                  const std::optional<std::string>& version_id = std::nullopt);
  // GetBucketVersioning: "Enabled", "Suspended", or "" for a bucket whose versioning was never
  // turned on (S3 then returns an empty <VersioningConfiguration/>).
  Result<std::string> get_bucket_versioning(const std::string& bucket);
  // Without a version: adds a delete marker (versioned bucket). With one: removes that version.
  Result<S3DeleteResult> delete_object(const std::string& bucket, const std::string& key,
                                       const std::optional<std::string>& version_id = std::nullopt);

  // The request path (and host prefix) for a bucket/key under the chosen addressing style.
  // Exposed for tests.
  RestRequest object_request(std::string operation, std::string method, const std::string& bucket,
                             const std::string& key) const;

  AwsClient& client() { return client_; }

 private:
  bool virtual_hosted(const std::string& bucket) const;
  AwsClient client_;
  S3Addressing addressing_;
};

}  // namespace rb::aws
