// Helpers shared by the aws unit tests and the moto integration test: a scoped environment,
// a fake HTTP transport and a fake clock.
#pragma once

#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aws/http.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"
#include "../support/fake_clock.hpp"

namespace rb::aws::testing {

// Sets/unsets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }
  void set(const std::string& name, const std::string& value) {
    save(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    save(name);
    ::unsetenv(name.c_str());
  }
  // Removes every variable that changes how AWS credentials, regions and endpoints resolve.
  void clear_aws() {
    for (const char* name :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
          "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
          "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB",
          "AWS_ENDPOINT_URL_STS", "AWS_MAX_ATTEMPTS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ENDPOINT_URL_SSO",
          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CREDENTIAL_EXPIRATION",
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
          "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
          "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED"})
      unset(name);
  }

 private:
  void save(const std::string& name) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Answers from a script of responses (or transport errors) and records every request.
class FakeTransport final : public HttpTransport {
 public:
  Result<HttpResponse> send(const HttpRequest& request) override {
    requests.push_back(request);
    if (script.empty()) return Error{ExitCode::Failed, "fake transport: no response scripted", {}, "connection"};
    Result<HttpResponse> next = std::move(script.front());
    script.pop_front();
    return next;
  }
  void respond(long status, std::string body, Headers headers = {}) {
    script.emplace_back(HttpResponse{status, std::move(headers), std::move(body)});
  }
  void fail(std::string_view tag, std::string message = "connection reset by peer") {
    script.emplace_back(Error{ExitCode::Failed, std::move(message), {}, std::string(tag)});
  }
  std::deque<Result<HttpResponse>> script;
  std::vector<HttpRequest> requests;
};

using FakeClock = rb::testing::FakeClock;

}  // namespace rb::aws::testing
