#include "aws/ec2.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

// The largest port number (TCP and UDP ports are 16-bit); ICMP rules use -1 for "any".
constexpr long long kMaxPort = 65535;

Error bad_reply(std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("EC2 DescribeSecurityGroups returned a reply without {}", what),
               "check that the EC2 endpoint (AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL) really is EC2", "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

int port_of(const pugi::xml_node& parent, const char* name) {
  auto p = parse_decimal(text_of(parent, name), -1, kMaxPort, name);
  return p.ok() ? static_cast<int>(*p) : -1;
}

// The `field` of every <item> under <list> (EC2's lists are <list><item>...</item></list>).
std::vector<std::string> items_of(const pugi::xml_node& parent, const char* list, const char* field) {
  std::vector<std::string> out;
  for (const auto& item : parent.child(list).children())
    if (auto v = text_of(item, field); !v.empty()) out.push_back(std::move(v));
  return out;
}

}  // namespace

Result<std::vector<SecurityGroup>> parse_security_groups(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("valid XML");
  pugi::xml_node info = doc.select_node("//securityGroupInfo").node();
  if (!info) return bad_reply("securityGroupInfo");
  std::vector<SecurityGroup> out;
  for (const auto& item : info.children("item")) {
    SecurityGroup g;
    g.id = text_of(item, "groupId");
    g.name = text_of(item, "groupName");
    g.vpc_id = text_of(item, "vpcId");
    if (g.id.empty()) return bad_reply("a groupId in every security group");
    for (const auto& p : item.child("ipPermissions").children("item")) {
      IpPermission rule;
      rule.protocol = to_lower(text_of(p, "ipProtocol"));
      rule.from_port = port_of(p, "fromPort");
      rule.to_port = port_of(p, "toPort");
      rule.source_groups = items_of(p, "groups", "groupId");
      rule.cidrs = items_of(p, "ipRanges", "cidrIp");
      for (auto& v6 : items_of(p, "ipv6Ranges", "cidrIpv6")) rule.cidrs.push_back(std::move(v6));
      rule.prefix_lists = items_of(p, "prefixListIds", "prefixListId");
      g.ingress.push_back(std::move(rule));
    }
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::vector<SecurityGroup>> describe_security_groups(AwsClient& client, const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<SecurityGroup>{};
  if (ids.size() > kMaxSecurityGroupsPerCall)
    return failure(fmt::format("{} security groups to describe, at most {} at once", ids.size(),
                               kMaxSecurityGroupsPerCall));
  QueryParams params;
  for (size_t i = 0; i < ids.size(); ++i) params.emplace_back(fmt::format("GroupId.{}", i + 1), ids[i]);
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeSecurityGroups", kEc2ApiVersion, params));
  return parse_security_groups(body);
}

}  // namespace rb::aws
