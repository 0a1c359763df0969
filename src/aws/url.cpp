#include "aws/url.hpp"

#include <fmt/format.h>

#include <charconv>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string uri_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::string encode_query(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += uri_encode(key);
    out += '=';
    out += uri_encode(value);
  }
  return out;
}

Result<Url> parse_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return usage_error(fmt::format("invalid URL \"{}\": {}", text, why),
                       "use scheme://host[:port][/path], e.g. https://ecs.eu-west-1.amazonaws.com or http://127.0.0.1:5000");
  };
  Url url;
  auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad("no scheme");
  url.scheme = to_lower(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  auto fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return bad("user info in URLs is not supported");
  if (authority.empty()) return bad("no host");
  std::string_view port_text;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    url.host = to_lower(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected characters after the host");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
    }
    url.host = to_lower(authority);
  }
  if (url.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port <= 0 || port > 65535)
      return bad("bad port");
    url.port = port;
  }
  auto question = tail.find('?');
  url.path = std::string(tail.substr(0, question));
  if (question != std::string_view::npos) url.query = std::string(tail.substr(question + 1));
  return url;
}

std::string host_header(const Url& url) {
  std::string host = url.ipv6() ? "[" + url.host + "]" : url.host;
  if (url.port) {
    bool default_port = (url.scheme == "https" && *url.port == 443) || (url.scheme == "http" && *url.port == 80);
    if (!default_port) host += ":" + std::to_string(*url.port);
  }
  return host;
}

}  // namespace rb::aws
