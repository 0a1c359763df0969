// SigV4: AWS's published examples, the building blocks, and the vectors that
// tests/aws/gen_sigv4_vectors.py signs with botocore at test time (CTest passes the file in
// ROLLBACK_SIGV4_VECTORS; run `ctest -R aws.sigv4` to generate and check them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "aws/sigv4.hpp"
#include "aws/url.hpp"

using namespace rb;
using namespace rb::aws;

namespace {

std::chrono::system_clock::time_point parse_amz_date(const std::string& s) {
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(6, 2));
  tm.tm_hour = std::stoi(s.substr(9, 2));
  tm.tm_min = std::stoi(s.substr(11, 2));
  tm.tm_sec = std::stoi(s.substr(13, 2));
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Credentials example_credentials() {
  // The key of AWS's SigV4 test suite (aws-sig-v4-test-suite).
  return Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "test", ""};
}

const auto kSuiteTime = parse_amz_date("20150830T123600Z");

}  // namespace

TEST(SigV4, AwsSuiteGetVanilla) {
  HttpRequest request{"GET", "https://example.amazonaws.com/", {}, ""};
  auto info = sign_request(request, "service", "us-east-1", example_credentials(), kSuiteTime);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(info->string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(info->authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(find_header(request.headers, "authorization"), info->authorization);
  EXPECT_EQ(find_header(request.headers, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(find_header(request.headers, "Host"), "example.amazonaws.com");
}

TEST(SigV4, AwsSuitePostVanillaQueryOrderAndRelativePath) {
  struct Case {
    const char* method;
    const char* url;
    const char* signature;
  } cases[] = {
      {"POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      // get-relative: "/example/.." normalises to "/".
      {"GET", "https://example.amazonaws.com/example/..",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
  };
  for (const auto& c : cases) {
    HttpRequest request{c.method, c.url, {}, ""};
    auto info = sign_request(request, "service", "us-east-1", example_credentials(), kSuiteTime);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->signature, c.signature) << c.method << " " << c.url << "\n" << info->canonical_request;
  }
}

TEST(SigV4, S3DocumentationGetObjectExample) {
  // "Example: GET Object" in the Amazon S3 API reference (Signature Version 4, header auth).
  HttpRequest request{"GET", "https://examplebucket.s3.amazonaws.com/test.txt", {{"Range", "bytes=0-9"}}, ""};
  Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", "test", ""};
  auto info = sign_request(request, "s3", "us-east-1", creds, parse_amz_date("20130524T000000Z"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(info->signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(find_header(request.headers, "x-amz-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4, SessionTokenIsSignedAndResigningReplacesHeaders) {
  Credentials creds = example_credentials();
  creds.session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
  HttpRequest request{"POST", "https://ecs.eu-west-1.amazonaws.com/", {{"Content-Type", "application/x-amz-json-1.1"}}, "{}"};
  auto first = sign_request(request, "ecs", "eu-west-1", creds, kSuiteTime);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->signed_headers, "content-type;host;x-amz-date;x-amz-security-token");
  auto second = sign_request(request, "ecs", "eu-west-1", creds, kSuiteTime + std::chrono::seconds(5));
  ASSERT_TRUE(second.ok());
  int authorizations = 0, dates = 0, tokens = 0;
  for (const auto& [name, value] : request.headers) {
    authorizations += name == "Authorization";
    dates += name == "X-Amz-Date";
    tokens += name == "X-Amz-Security-Token";
  }
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(dates, 1);
  EXPECT_EQ(tokens, 1);
  EXPECT_EQ(find_header(request.headers, "X-Amz-Date"), "20150830T123605Z");
  EXPECT_NE(first->signature, second->signature);
}

TEST(SigV4, CanonicalPieces) {
  EXPECT_EQ(canonical_uri("", false), "/");
  EXPECT_EQ(canonical_uri("/a//b/./c/../d/", false), "/a/b/d/");
  EXPECT_EQ(canonical_uri("/a%20b", false), "/a%2520b");  // non-S3 encodes the encoded path again
  EXPECT_EQ(canonical_uri("/bucket/env%3A/dev//x", true), "/bucket/env%3A/dev//x");  // S3: as is
  EXPECT_EQ(canonical_query("b=2&a=1&a=0&versions"), "a=0&a=1&b=2&versions=");
  EXPECT_EQ(canonical_query("prefix=env%3A%2Fdev"), "prefix=env%3A%2Fdev");
  EXPECT_EQ(canonical_header_value("  a   b\t c  "), "a b c");
  EXPECT_EQ(amz_date(kSuiteTime), "20150830T123600Z");
}

TEST(Url, EncodesLikeBotocore) {
  EXPECT_EQ(uri_encode("env:/dev/api/terraform.tfstate", true), "env%3A/dev/api/terraform.tfstate");
  EXPECT_EQ(uri_encode("a b+c=d~e_f-g.h", false), "a%20b%2Bc%3Dd~e_f-g.h");
  EXPECT_EQ(uri_encode("\xc3\xa9/", false), "%C3%A9%2F");
  EXPECT_EQ(uri_decode("a%20b+c%3a%zz"), "a b+c:%zz");
  EXPECT_EQ(uri_decode("a+b", true), "a b");
  EXPECT_EQ(encode_query({{"versionId", "3/L4+kq"}, {"prefix", "env:/dev"}}), "versionId=3%2FL4%2Bkq&prefix=env%3A%2Fdev");
}

TEST(Url, ParsesAndDerivesHost) {
  auto u = parse_url("HTTP://LocalHost:5000/a%20b?x=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(*u->port, 5000);
  EXPECT_EQ(u->path, "/a%20b");
  EXPECT_EQ(u->query, "x=1");
  EXPECT_EQ(host_header(*u), "localhost:5000");
  EXPECT_EQ(host_header(*parse_url("https://s3.amazonaws.com:443/")), "s3.amazonaws.com");
  EXPECT_EQ(host_header(*parse_url("http://[::1]:9000")), "[::1]:9000");
  EXPECT_FALSE(parse_url("s3.amazonaws.com/x").ok());
  EXPECT_FALSE(parse_url("http://host:99999/").ok());
  EXPECT_FALSE(parse_url("http://user:pw@host/").ok());
}

// The botocore vectors. Skipped when run outside CTest's fixture (no file to read).
TEST(SigV4, BotocoreVectors) {
  const char* path = std::getenv("ROLLBACK_SIGV4_VECTORS");
  if (!path || !*path) GTEST_SKIP() << "ROLLBACK_SIGV4_VECTORS not set; run `ctest -R aws.sigv4` to generate them";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  nlohmann::json document = nlohmann::json::parse(in);
  const auto& vectors = document.at("vectors");
  ASSERT_GE(vectors.size(), 300u) << "the generator should produce a few hundred vectors";

  int checked = 0, failed = 0;
  std::map<std::string, int> per_service;
  for (const auto& v : vectors) {
    const std::string id = std::to_string(v.at("id").get<int>());
    Credentials creds{v.at("access_key"), v.at("secret_key"), v.at("session_token"), "vector", ""};
    const std::string service = v.at("service");
    const std::string region = v.at("region");
    const auto when = parse_amz_date(v.at("timestamp"));
    const auto& expected = v.at("expected");

    HttpRequest request{v.at("method"), v.at("url"), {}, v.at("body")};
    for (const auto& h : v.at("headers")) request.headers.emplace_back(h.at(0), h.at(1));
    auto info = sign_request(request, service, region, creds, when);
    ASSERT_TRUE(info.ok()) << "vector " << id << ": " << info.error().message;
    bool same = info->canonical_request == expected.at("canonical_request").get<std::string>() &&
                info->string_to_sign == expected.at("string_to_sign").get<std::string>() &&
                info->authorization == expected.at("authorization").get<std::string>();
    for (const auto& [name, value] : expected.at("headers_added").items())
      same = same && find_header(request.headers, name) == value.get<std::string>();
    if (!same) {
      ++failed;
      if (failed <= 5) {
        ADD_FAILURE() << "vector " << id << " (" << service << " " << v.at("method").get<std::string>() << " "
                      << v.at("url").get<std::string>() << ")\n--- expected canonical request (botocore)\n"
                      << expected.at("canonical_request").get<std::string>() << "\n--- actual\n"
                      << info->canonical_request << "\n--- expected authorization\n"
                      << expected.at("authorization").get<std::string>() << "\n--- actual\n"
                      << info->authorization;
      }
    }

    // The same request with the URL built by our own encoders from the raw path and query.
    std::string url = v.at("endpoint").get<std::string>() + uri_encode(v.at("raw_path").get<std::string>(), true);
    QueryParams query;
    for (const auto& q : v.at("raw_query")) query.emplace_back(q.at(0), q.at(1));
    if (!query.empty()) url += "?" + encode_query(query);
    HttpRequest rebuilt{v.at("method"), url, {}, v.at("body")};
    for (const auto& h : v.at("headers")) rebuilt.headers.emplace_back(h.at(0), h.at(1));
    auto rebuilt_info = sign_request(rebuilt, service, region, creds, when);
    ASSERT_TRUE(rebuilt_info.ok());
    EXPECT_EQ(rebuilt_info->authorization, expected.at("authorization").get<std::string>())
        << "vector " << id << ": URL built from raw parts: " << url << "\n"
        << rebuilt_info->canonical_request;
    ++checked;
    ++per_service[service];
  }
  EXPECT_EQ(failed, 0) << failed << " of " << checked << " vectors differ from botocore";
  std::string summary;
  for (const auto& [s, n] : per_service) summary += " " + s + ":" + std::to_string(n);
  std::printf("checked %d botocore %s SigV4 vectors (%s ), %d mismatches\n", checked,
              document.value("botocore_version", std::string("?")).c_str(), summary.c_str(), failed);
}
