#include "aws/s3.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <charconv>
#include <set>

#include "aws/endpoint.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

// A listing that pages more often than this is a server bug (1000 entries per page).
constexpr int kMaxPages = 10000;

std::string unquote_etag(std::string etag) {
  etag = trim(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

uint64_t to_u64(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

bool dns_compatible(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return bucket.front() != '-' && bucket.back() != '-';
}

Error bad_reply(std::string_view operation, std::string_view why) {
  return Error{ExitCode::Failed, fmt::format("S3 {} returned a reply that cannot be read: {}", operation, why),
               "check that the endpoint really is S3", "bad-response"};
}

}  // namespace

bool S3Client::virtual_hosted(const std::string& bucket) const {
  switch (addressing_) {
    case S3Addressing::Path: return false;
    case S3Addressing::Virtual: return true;
    case S3Addressing::Auto: break;
  }
  return is_aws_endpoint(client_.config().endpoint) && dns_compatible(bucket);
}

RestRequest S3Client::object_request(std::string operation, std::string method, const std::string& bucket,
                                     const std::string& key) const {
  RestRequest r;
  r.operation = std::move(operation);
  r.method = std::move(method);
  std::string encoded_key = uri_encode(key, /*keep_slash=*/true);
  if (virtual_hosted(bucket)) {
    r.host_prefix = bucket + ".";
    r.path = "/" + encoded_key;
  } else {
    r.path = "/" + uri_encode(bucket) + (key.empty() ? std::string() : "/" + encoded_key);
  }
  return r;
}

Result<std::vector<S3ObjectVersion>> S3Client::list_object_versions(const std::string& bucket,
                                                                    const std::string& prefix, int max_keys) {
  std::vector<S3ObjectVersion> out;
  std::string key_marker, version_marker;
  std::set<std::pair<std::string, std::string>> seen_markers;
  for (int page = 0; page < kMaxPages; ++page) {
    RestRequest r = object_request("ListObjectVersions", "GET", bucket, "");
    r.query = {{"versions", ""}, {"encoding-type", "url"}};
    if (!prefix.empty()) r.query.emplace_back("prefix", prefix);
    if (max_keys > 0) r.query.emplace_back("max-keys", std::to_string(max_keys));
    if (!key_marker.empty()) r.query.emplace_back("key-marker", key_marker);
    if (!version_marker.empty()) r.query.emplace_back("version-id-marker", version_marker);
    RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));

    pugi::xml_document doc;
    if (!doc.load_buffer(response.body.data(), response.body.size()))
      return bad_reply("ListObjectVersions", "the body is not XML");
    pugi::xml_node root = doc.child("ListVersionsResult");
    if (!root) return bad_reply("ListObjectVersions", "no <ListVersionsResult> element");
    // With encoding-type=url S3 percent-encodes keys and markers (botocore decodes them with
    // unquote_plus); a server that ignores the parameter sends them plain and says nothing.
    const bool encoded = std::string_view(root.child_value("EncodingType")) == "url";
    auto decode = [&](std::string_view s) { return encoded ? uri_decode(s, /*plus_as_space=*/true) : std::string(s); };

    for (pugi::xml_node node : root.children()) {
      std::string_view name = node.name();
      if (name != "Version" && name != "DeleteMarker") continue;
      S3ObjectVersion v;
      v.is_delete_marker = name == "DeleteMarker";
      v.key = decode(node.child_value("Key"));
      v.version_id = node.child_value("VersionId");
      v.is_latest = std::string_view(node.child_value("IsLatest")) == "true";
      v.last_modified = node.child_value("LastModified");
      v.size = to_u64(node.child_value("Size"));
      v.etag = unquote_etag(node.child_value("ETag"));
      out.push_back(std::move(v));
    }
    if (std::string_view(root.child_value("IsTruncated")) != "true") return out;
    key_marker = decode(root.child_value("NextKeyMarker"));
    version_marker = root.child_value("NextVersionIdMarker");
    if (key_marker.empty()) return bad_reply("ListObjectVersions", "IsTruncated without NextKeyMarker");
    if (!seen_markers.emplace(key_marker, version_marker).second)
      return bad_reply("ListObjectVersions", "the same page markers came back twice");
  }
  return bad_reply("ListObjectVersions", fmt::format("more than {} pages", kMaxPages));
}

Result<S3Object> S3Client::get_object(const std::string& bucket, const std::string& key,
                                      const std::optional<std::string>& version_id) {
  RestRequest r = object_request("GetObject", "GET", bucket, key);
  if (version_id) r.query.emplace_back("versionId", *version_id);
  RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));
  S3Object o;
  o.body = std::move(response.body);
  o.version_id = response.header("x-amz-version-id");
  o.etag = unquote_etag(response.header("ETag"));
  o.last_modified = response.header("Last-Modified");
  o.content_type = response.header("Content-Type");
  return o;
}

Result<S3PutResult> S3Client::put_object(const std::string& bucket, const std::string& key, const std::string& body,
                                         const Headers& headers, std::optional<CallOptions> opts) {
  RestRequest r = object_request("PutObject", "PUT", bucket, key);
  r.headers = headers;
  r.body = body;
  // S3 checks the body against it and rejects a corrupted upload (it is also required on
  // buckets with Object Lock).
  if (!has_header(r.headers, "Content-MD5")) r.headers.emplace_back("Content-MD5", md5_base64(body));
  // A resent conditional put would fail against its own first write.
  CallOptions effective{.idempotent = !has_header(headers, "If-None-Match") && !has_header(headers, "If-Match")};
  RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r, opts.value_or(effective)));
  return S3PutResult{response.header("x-amz-version-id"), unquote_etag(response.header("ETag"))};
}

Result<std::optional<S3ObjectInfo>> S3Client::head_object(const std::string& bucket, const std::string& key,
                                                          const std::optional<std::string>& version_id) {
  RestRequest r = object_request("HeadObject", "HEAD", bucket, key);
  if (version_id) r.query.emplace_back("versionId", *version_id);
  auto response = client_.rest_call(r);
  if (!response) {
    if (response.error().tag == "NotFound" || response.error().tag == "NoSuchKey" ||
        response.error().tag == "NoSuchVersion")
      return std::optional<S3ObjectInfo>();
    return response.take_error();
  }
  S3ObjectInfo info;
  info.size = to_u64(response->header("Content-Length"));
  info.version_id = response->header("x-amz-version-id");
  info.etag = unquote_etag(response->header("ETag"));
  info.last_modified = response->header("Last-Modified");
  info.content_type = response->header("Content-Type");
  return std::optional<S3ObjectInfo>(std::move(info));
}

Result<std::string> S3Client::get_bucket_versioning(const std::string& bucket) {
  RestRequest r = object_request("GetBucketVersioning", "GET", bucket, "");
  r.query = {{"versioning", ""}};
  RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));
  pugi::xml_document doc;
  if (!doc.load_buffer(response.body.data(), response.body.size()))
    return bad_reply("GetBucketVersioning", "the body is not XML");
  // S3 names the root <VersioningConfiguration>, moto <GetBucketVersioningResponse>; botocore's
  // restXml parser reads the children whatever the root is called, and so do we.
  pugi::xml_node root = doc.document_element();
  if (!root) return bad_reply("GetBucketVersioning", "no root element");
  return std::string(root.child_value("Status"));
}

Result<S3DeleteResult> S3Client::delete_object(const std::string& bucket, const std::string& key,
                                               const std::optional<std::string>& version_id) {
  RestRequest r = object_request("DeleteObject", "DELETE", bucket, key);
  if (version_id) r.query.emplace_back("versionId", *version_id);
  RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));
  return S3DeleteResult{response.header("x-amz-version-id"), response.header("x-amz-delete-marker") == "true"};
}

}  // namespace rb::aws
