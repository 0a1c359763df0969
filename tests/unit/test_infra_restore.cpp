#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "../infra/test_support.hpp"
#include "infra/restore.hpp"

using namespace rb;
using namespace rb::infra;
using rb::infra::testing::fixture_names;
using rb::infra::testing::read_fixture;

namespace {

// MD5 computed here independently of util/hash (OpenSSL EVP, formatted by hand).
std::string independent_md5(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

// A state with the given serial, lineage and resource ids (one managed null_resource each).
std::string make_state(int serial, const std::string& lineage, const std::vector<std::string>& names,
                       const std::string& terraform_version = "1.9.5") {
  nlohmann::ordered_json doc;
  doc["version"] = 4;
  doc["terraform_version"] = terraform_version;
  doc["serial"] = serial;
  doc["lineage"] = lineage;
  doc["outputs"] = nlohmann::ordered_json::object();
  doc["resources"] = nlohmann::ordered_json::array();
  for (const auto& name : names) {
    doc["resources"].push_back({{"mode", "managed"},
                                {"type", "null_resource"},
                                {"name", name},
                                {"provider", "provider[\"registry.terraform.io/hashicorp/null\"]"},
                                {"instances", {{{"schema_version", 0}, {"attributes", {{"id", name + "-id"}}}}}}});
  }
  doc["check_results"] = nullptr;
  return doc.dump(2) + "\n";
}

}  // namespace

TEST(infra_restore, BumpsSerialKeepsEverythingElseAndDigestsTheExactBytes) {
  std::string current = make_state(12, "lin-1", {"a", "b", "c"});
  std::string target = make_state(9, "lin-1", {"a", "b"}, "1.8.0");
  auto r = prepare_restore(current, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->new_serial, 13);
  EXPECT_EQ(r->target_serial, 9);
  EXPECT_EQ(r->current_serial, 12);
  EXPECT_EQ(r->lineage, "lin-1");
  EXPECT_EQ(r->terraform_version, "1.8.0");

  // Byte for byte: the target with only the serial line changed (it was laid out like Terraform).
  std::string expected = target;
  expected.replace(expected.find("\"serial\": 9"), 11, "\"serial\": 13");
  EXPECT_EQ(r->bytes, expected);
  EXPECT_EQ(r->md5_hex, independent_md5(r->bytes));
  EXPECT_EQ(r->md5_hex.size(), 32u);

  EXPECT_EQ(r->orphaned(), std::vector<std::string>{"null_resource.c"});
  EXPECT_TRUE(r->changes.only_in_b.empty());
  bool warned_orphans = false, warned_stale = false;
  for (const auto& w : r->warnings) {
    if (w.find("orphaned") != std::string::npos && w.find("null_resource.c") != std::string::npos) warned_orphans = true;
    if (w.find("stale") != std::string::npos) warned_stale = true;
  }
  EXPECT_TRUE(warned_orphans);
  EXPECT_TRUE(warned_stale);
}

TEST(conformance_infra_restore, KeepsKeyOrderOfTheTargetAndLaysOutLikeTerraform) {
  RB_REQUIRE_SHARED_FIXTURES();
  // v4-simple.in.tfstate has "serial" before "lineage" and "terraform_version" last, 4-space indent.
  std::string current = read_fixture("terraform/tfstate/v4-modules.in.tfstate");
  std::string target = read_fixture("terraform/tfstate/v4-simple.in.tfstate");
  auto r = prepare_restore(current, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->new_serial, 1);
  const std::string prefix =
      "{\n  \"version\": 4,\n  \"serial\": 1,\n  \"lineage\": \"f2968801-fa14-41ab-a044-224f3a4adf04\",\n  \"terraform_version\"";
  EXPECT_EQ(r->bytes.substr(0, prefix.size()), prefix);
  EXPECT_EQ(r->bytes.back(), '\n');
  EXPECT_EQ(r->bytes.find("    \"version\""), std::string::npos);
  auto ordered = nlohmann::ordered_json::parse(r->bytes);
  std::vector<std::string> keys;
  for (const auto& [k, v] : ordered.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "serial", "lineage", "terraform_version", "outputs", "resources"}));
  EXPECT_EQ(r->md5_hex, independent_md5(r->bytes));
  EXPECT_EQ(r->orphaned(), (std::vector<std::string>{"module.modB.null_resource.bar[\"a\"]", "module.modB.null_resource.bar[\"b\"]",
                                                     "module.modA.null_resource.resource"}));
  EXPECT_EQ(r->changes.only_in_b, (std::vector<std::string>{"null_resource.foo[0]", "null_resource.foo[1]"}));
}

TEST(conformance_infra_restore, EveryFixtureCanBeRestoredOverANewerSerialOfItself) {
  RB_REQUIRE_SHARED_FIXTURES();
  for (const auto& name : fixture_names("terraform/tfstate", ".tfstate")) {
    SCOPED_TRACE(name);
    std::string target = read_fixture("terraform/tfstate/" + name);
    auto parsed = parse_state(target);
    ASSERT_TRUE(parsed.ok());
    // The current state: same lineage, serial 40, no resources (so the content differs).
    nlohmann::json current = parsed->document;
    current["serial"] = 40;
    current["resources"] = nlohmann::json::array();
    auto r = prepare_restore(current.dump(), target);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->new_serial, 41);
    nlohmann::json expected = nlohmann::json::parse(target);
    expected["serial"] = 41;
    EXPECT_EQ(nlohmann::json::parse(r->bytes), expected);
    EXPECT_EQ(r->md5_hex, independent_md5(r->bytes));
    EXPECT_EQ(r->changes.only_in_b, parsed->instance_addresses());
  }
}

TEST(infra_restore, RefusesLineageMismatchLikeStatePush) {
  std::string current = make_state(5, "current-lineage", {"a"});
  std::string target = make_state(3, "other-lineage", {"b"});
  auto r = prepare_restore(current, target);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "lineage");
  EXPECT_NE(r.error().message.find("cannot import state with lineage \"other-lineage\" over unrelated state with lineage "
                                   "\"current-lineage\""),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().hint.find("--force-lineage"), std::string::npos);

  RestoreOptions force;
  force.force_lineage = true;
  auto forced = prepare_restore(current, target, force);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ(forced->lineage, "other-lineage");  // the target's lineage, like `state push -force`
  EXPECT_EQ(forced->new_serial, 6);
  EXPECT_NE(forced->warnings.front().find("forced"), std::string::npos);
}

TEST(infra_restore, AnEmptyCurrentStateMayHaveAnotherLineage) {
  auto r = prepare_restore(make_state(2, "fresh", {}), make_state(8, "old", {"a"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->new_serial, 9);  // above the target's own serial too
  EXPECT_EQ(r->lineage, "old");
}

TEST(infra_restore, RefusesTheCurrentContent) {
  std::string current = make_state(7, "l", {"a", "b"}, "1.9.5");
  std::string target = make_state(4, "l", {"a", "b"}, "1.7.0");  // older serial and version, same resources
  auto r = prepare_restore(current, target);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "unchanged");
  EXPECT_NE(r.error().message.find("serial 4"), std::string::npos);
  EXPECT_NE(r.error().message.find("serial 7"), std::string::npos);

  // Whitespace and key order do not make content different; check_results does not either.
  nlohmann::json reordered = nlohmann::json::parse(target);
  reordered["check_results"] = nlohmann::json::array();
  EXPECT_FALSE(prepare_restore(current, reordered.dump()).ok());
  // Outputs do.
  reordered["outputs"]["endpoint"] = {{"value", "x"}, {"type", "string"}};
  EXPECT_TRUE(prepare_restore(current, reordered.dump()).ok());
}

TEST(infra_restore, RefusesEncryptedOldAndBrokenTargets) {
  std::string current = make_state(3, "l", {"a"});
  struct Case {
    std::string target;
    std::string tag;
    std::string says;
  };
  for (const Case& c : {Case{R"({"meta":{},"encrypted_data":"eA==","encryption_version":"v0"})", "encrypted", "OpenTofu"},
                        Case{R"({"version":3,"serial":1,"lineage":"l","modules":[]})", "state_version", "version 3"},
                        Case{"{\"version\": 4,\n\"serial\": ", "invalid_json", "line 2"},
                        Case{R"({"format_version":"1.0"})", "invalid_state", "not a Terraform state"}}) {
    SCOPED_TRACE(c.target);
    auto r = prepare_restore(current, c.target);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ExitCode::Refused);
    EXPECT_EQ(r.error().tag, c.tag);
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
    EXPECT_FALSE(r.error().hint.empty());
  }
}

TEST(infra_restore, UnreadableCurrentStateNeedsExplicitPermission) {
  std::string target = make_state(3, "l", {"a"});
  for (std::string current : {std::string("{\"version\": 4, \"serial\": 9, \"resources\": [ {"),
                              std::string(R"({"meta":{},"encrypted_data":"eA==","encryption_version":"v0"})")}) {
    auto r = prepare_restore(current, target);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ExitCode::Refused);
    EXPECT_EQ(r.error().tag, "current_unreadable");
    EXPECT_NE(r.error().message.find("the current state"), std::string::npos);

    RestoreOptions allow;
    allow.allow_unreadable_current = true;
    auto ok = prepare_restore(current, target, allow);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->new_serial, 4);
    EXPECT_FALSE(ok->current_serial.has_value());
    EXPECT_NE(ok->warnings.front().find("unreadable"), std::string::npos);
  }
}

TEST(infra_restore, NoCurrentState) {
  auto r = prepare_restore(std::nullopt, make_state(6, "l", {"a"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->new_serial, 7);
  EXPECT_FALSE(r->current_serial.has_value());
  EXPECT_TRUE(r->changes.empty());
}

TEST(infra_restore, NumbersAndEscapesSurviveUntouched) {
  // A number beyond double precision and Go's HTML escapes must come back exactly as written.
  std::string target =
      "{\n  \"version\": 4,\n  \"terraform_version\": \"1.9.5\",\n  \"serial\": 2,\n  \"lineage\": \"l\",\n  \"outputs\": {},\n"
      "  \"resources\": [\n    {\n      \"mode\": \"managed\",\n      \"type\": \"t\",\n      \"name\": \"n\",\n"
      "      \"instances\": [\n        {\n          \"attributes\": {\n            \"big\": 123456789012345678901234567890.5,\n"
      "            \"html\": \"\\u003cb\\u003e \\u0026\"\n          }\n        }\n      ]\n    }\n  ]\n}\n";
  auto r = prepare_restore(make_state(5, "l", {}), target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string expected = target;
  expected.replace(expected.find("\"serial\": 2"), 11, "\"serial\": 6");
  EXPECT_EQ(r->bytes, expected);
}

// The project's own states (tests/fixtures/terraform/tfstate/): restore one over the other.
TEST(infra_restore, ProjectFixtureRestoreKeepsKeyOrderAndBumpsSerial) {
  using rb::infra::testing::read_project_fixture;
  std::string current = read_project_fixture("terraform/tfstate/modules.tfstate");
  std::string target = read_project_fixture("terraform/tfstate/simple.tfstate");
  auto r = prepare_restore(current, target);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->new_serial, 1);
  auto ordered = nlohmann::ordered_json::parse(r->bytes);
  std::vector<std::string> keys;
  for (const auto& [k, v] : ordered.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "terraform_version", "serial", "lineage", "outputs", "resources",
                                            "check_results"}));
  EXPECT_EQ(ordered["serial"], 1);
  EXPECT_EQ(r->md5_hex, independent_md5(r->bytes));
  EXPECT_EQ(r->changes.only_in_b, (std::vector<std::string>{"null_resource.foo[0]", "null_resource.foo[1]"}));
  auto refused = prepare_restore(current, read_project_fixture("terraform/tfstate/other-lineage.tfstate"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().tag, "lineage");
}
