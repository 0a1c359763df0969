#include "aws/endpoint.hpp"

#include <cctype>
#include <cstdlib>

#include "aws/url.hpp"
#include "util/strings.hpp"

namespace rb::aws {

namespace {

std::string env_or_empty(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::string(v) : std::string();
}

std::string without_trailing_slash(std::string url) {
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::string endpoint_url(std::string_view service, const std::string& region) {
  return endpoint_url(service, region, service);
}

std::string endpoint_url(std::string_view service, const std::string& region, std::string_view host_prefix) {
  if (to_lower(trim(env_or_empty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) != "true") {
    std::string var = "AWS_ENDPOINT_URL_";
    for (char c : service) {
      if (c == '-' || c == ' ') var += '_';
      else var += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (auto specific = trim(env_or_empty(var)); !specific.empty()) return without_trailing_slash(specific);
    if (auto global = trim(env_or_empty("AWS_ENDPOINT_URL")); !global.empty()) return without_trailing_slash(global);
  }
  std::string suffix = region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://" + std::string(host_prefix) + "." + region + suffix;
}

bool is_aws_endpoint(std::string_view endpoint) {
  auto url = parse_url(endpoint);
  if (!url) return false;
  return url->host.ends_with(".amazonaws.com") || url->host.ends_with(".amazonaws.com.cn");
}

}  // namespace rb::aws
