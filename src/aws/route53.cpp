#include "aws/route53.hpp"

#include <set>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "aws/endpoint.hpp"
#include "aws/url.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

// Pages of ListHostedZones / ListResourceRecordSets: far beyond what one account holds, and a
// bound on a server that keeps saying IsTruncated.
constexpr int kMaxPages = 100;

Error bad_reply(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("Route 53 {} returned a reply that cannot be read: {}", operation, what),
               "check that the Route 53 endpoint (AWS_ENDPOINT_URL_ROUTE_53 / AWS_ENDPOINT_URL) really is Route 53",
               "bad-response"};
}

std::string with_dot(std::string s) {
  if (s.empty() || s.back() != '.') s += '.';
  return to_lower(s);
}

}  // namespace

Result<std::vector<HostedZone>> parse_hosted_zones(const std::string& xml, std::string* next_marker) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("ListHostedZones", "the body is not XML");
  pugi::xml_node root = doc.document_element();
  std::vector<HostedZone> out;
  for (pugi::xml_node z : root.child("HostedZones").children("HostedZone")) {
    HostedZone h{trim(z.child_value("Id")), trim(z.child_value("Name")),
                 std::string_view(z.child("Config").child_value("PrivateZone")) == "true"};
    if (!h.id.empty()) out.push_back(std::move(h));
  }
  if (next_marker)
    *next_marker = std::string_view(root.child_value("IsTruncated")) == "true" ? trim(root.child_value("NextMarker")) : "";
  return out;
}

Result<std::vector<RecordSet>> parse_record_sets(const std::string& xml, std::string* next_name, std::string* next_type) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("ListResourceRecordSets", "the body is not XML");
  pugi::xml_node root = doc.document_element();
  std::vector<RecordSet> out;
  for (pugi::xml_node r : root.child("ResourceRecordSets").children("ResourceRecordSet")) {
    RecordSet s{trim(r.child_value("Name")), trim(r.child_value("Type")), {}};
    for (pugi::xml_node v : r.child("ResourceRecords").children("ResourceRecord")) s.values.push_back(trim(v.child_value("Value")));
    if (auto alias = r.child("AliasTarget")) s.values.push_back(trim(alias.child_value("DNSName")));
    out.push_back(std::move(s));
  }
  bool truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  if (next_name) *next_name = truncated ? trim(root.child_value("NextRecordName")) : "";
  if (next_type) *next_type = truncated ? trim(root.child_value("NextRecordType")) : "";
  return out;
}

AwsClientConfig route53_config(Credentials credentials, RetryPolicy retry) {
  AwsClientConfig c = AwsClientConfig::for_service("route53", "us-east-1", std::move(credentials), retry);
  // Global: one endpoint, signed for us-east-1 (botocore's endpoint rules for aws partition).
  if (c.endpoint == endpoint_url("route53", "us-east-1") && c.endpoint.ends_with(".amazonaws.com"))
    c.endpoint = "https://route53.amazonaws.com";
  return c;
}

Result<std::vector<HostedZone>> Route53Client::hosted_zones() {
  std::vector<HostedZone> out;
  std::string marker;
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    RestRequest r{"ListHostedZones", "GET", "/2013-04-01/hostedzone"};
    if (!marker.empty()) r.query.emplace_back("marker", marker);
    RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));
    RB_TRY_ASSIGN(auto zones, parse_hosted_zones(response.body, &marker));
    out.insert(out.end(), zones.begin(), zones.end());
    if (marker.empty()) return out;
    if (!seen.insert(marker).second) return bad_reply("ListHostedZones", "the same NextMarker twice");
  }
  return bad_reply("ListHostedZones", fmt::format("more than {} pages", kMaxPages));
}

Result<std::vector<RecordSet>> Route53Client::record_sets(const std::string& zone_id) {
  // "/hostedzone/Z123" -> "Z123"
  std::string id = zone_id.substr(zone_id.rfind('/') == std::string::npos ? 0 : zone_id.rfind('/') + 1);
  std::vector<RecordSet> out;
  std::string name, type;
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    RestRequest r{"ListResourceRecordSets", "GET", "/2013-04-01/hostedzone/" + uri_encode(id) + "/rrset"};
    if (!name.empty()) r.query.emplace_back("name", name);
    if (!type.empty()) r.query.emplace_back("type", type);
    RB_TRY_ASSIGN(HttpResponse response, client_.rest_call(r));
    RB_TRY_ASSIGN(auto sets, parse_record_sets(response.body, &name, &type));
    out.insert(out.end(), sets.begin(), sets.end());
    if (name.empty()) return out;
    if (!seen.insert(name + "\n" + type).second) return bad_reply("ListResourceRecordSets", "the same next record twice");
  }
  return bad_reply("ListResourceRecordSets", fmt::format("more than {} pages", kMaxPages));
}

const HostedZone* zone_for(const std::vector<HostedZone>& zones, const std::string& name) {
  std::string n = with_dot(name);
  const HostedZone* best = nullptr;
  for (const auto& z : zones) {
    std::string zn = with_dot(z.name);
    bool suffix = n == zn || (n.size() > zn.size() && n.ends_with(zn) && n[n.size() - zn.size() - 1] == '.');
    if (suffix && (!best || zn.size() > with_dot(best->name).size())) best = &z;
  }
  return best;
}

}  // namespace rb::aws
