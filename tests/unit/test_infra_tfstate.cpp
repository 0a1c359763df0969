#include <gtest/gtest.h>

#include <map>

#include "../infra/test_support.hpp"
#include "infra/json_doc.hpp"
#include "infra/state_diff.hpp"
#include "infra/tfstate.hpp"

using namespace rb;
using namespace rb::infra;
using rb::infra::testing::fixture_names;
using rb::infra::testing::read_fixture;

namespace {

struct ExpectedState {
  std::string terraform_version;
  int64_t serial;
  std::string lineage;
  std::vector<std::string> addresses;
  std::vector<std::string> outputs;
};

const std::string kRoundtripLineage = "f2968801-fa14-41ab-a044-224f3a4adf04";

// Read from the files by hand (fixtures/README.md describes them).
const std::map<std::string, ExpectedState>& expected_states() {
  static const std::map<std::string, ExpectedState> kExpected = {
      {"equivalence-basic_list_update.tfstate",
       {"1.3.6", 1, "10d37a1e-be83-d81f-dc89-30b6ec90e835", {"tfcoremock_list.list"}, {}}},
      {"equivalence-local_provider_update.tfstate",
       {"1.3.0", 2, "e2a94970-ee0e-0eb7-16a5-67e94860dc8e", {"local_file.local_file"}, {}}},
      {"equivalence-moved_simple.tfstate",
       {"1.3.7", 1, "4a0f03a7-03fd-9357-9fd2-b3405139fa1d", {"tfcoremock_simple_resource.first"}, {}}},
      {"v4-cbd.in.tfstate", {"0.12.0", 0, kRoundtripLineage, {"module.modA.null_resource.resource"}, {"numbers"}}},
      {"v4-foreach.in.tfstate", {"0.12.0", 0, kRoundtripLineage, {"module.modA.null_resource.resource"}, {"numbers"}}},
      {"v4-future.in.tfstate",
       {"999.0.0", 0, kRoundtripLineage, {"null_resource.bar", "null_resource.foo[0]", "null_resource.foo[1]"}, {"numbers"}}},
      {"v4-modules.in.tfstate",
       {"0.12.0",
        0,
        kRoundtripLineage,
        {"null_resource.bar", "module.modB.null_resource.bar[\"a\"]", "module.modB.null_resource.bar[\"b\"]",
         "module.modA.null_resource.resource"},
        {"numbers"}}},
      {"v4-simple.in.tfstate",
       {"0.12.0", 0, kRoundtripLineage, {"null_resource.bar", "null_resource.foo[0]", "null_resource.foo[1]"}, {"numbers"}}},
  };
  return kExpected;
}

StateFile must_parse(const std::string& text) {
  auto r = parse_state(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : StateFile{};
}

}  // namespace

TEST(conformance_infra_tfstate, EveryFixtureParsesWithTerraformAddresses) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto names = fixture_names("terraform/tfstate", ".tfstate");
  ASSERT_EQ(names.size(), expected_states().size()) << "a state fixture was added or removed: update the expectations";
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto it = expected_states().find(name);
    ASSERT_NE(it, expected_states().end()) << "no expectation for " << name;
    auto state = parse_state(read_fixture("terraform/tfstate/" + name), name);
    ASSERT_TRUE(state.ok()) << state.error().message;
    EXPECT_EQ(state->version, 4);
    EXPECT_EQ(state->terraform_version, it->second.terraform_version);
    EXPECT_EQ(state->serial, it->second.serial);
    EXPECT_EQ(state->lineage, it->second.lineage);
    EXPECT_EQ(state->instance_addresses(), it->second.addresses);
    std::vector<std::string> outputs;
    for (const auto& [k, v] : state->outputs.items()) outputs.push_back(k);
    EXPECT_EQ(outputs, it->second.outputs);
    EXPECT_FALSE(state->empty());
  }
}

TEST(conformance_infra_tfstate, ResourceFieldsFromModulesFixture) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto state = must_parse(read_fixture("terraform/tfstate/v4-modules.in.tfstate"));
  ASSERT_EQ(state.resources.size(), 3u);
  const auto& modb = state.resources[1];
  EXPECT_EQ(modb.module, "module.modB");
  EXPECT_EQ(modb.mode, "managed");
  EXPECT_EQ(modb.type, "null_resource");
  EXPECT_EQ(modb.name, "bar");
  EXPECT_EQ(modb.each, "map");
  EXPECT_EQ(modb.provider, "provider[\"registry.terraform.io/-/null\"]");
  EXPECT_EQ(modb.address(), "module.modB.null_resource.bar");
  ASSERT_EQ(modb.instances.size(), 2u);
  EXPECT_EQ(modb.instances[0].index_key, "a");
  EXPECT_EQ(modb.instances[0].object["attributes_flat"]["id"], "8212585058302700791");
}

TEST(infra_tfstate, DataSourcesNestedModulesAndQuotedKeys) {
  auto state = must_parse(R"({
    "version": 4, "terraform_version": "1.9.0", "serial": 7, "lineage": "l", "outputs": {},
    "resources": [
      {"mode": "data", "type": "aws_ami", "name": "ubuntu", "provider": "p", "instances": [{"attributes": {}}]},
      {"module": "module.a.module.b", "mode": "data", "type": "x", "name": "y", "instances": [{"attributes": {}}]},
      {"module": "module.a[\"k\"]", "mode": "managed", "type": "t", "name": "n", "each": "map",
       "instances": [{"index_key": "we\"ird\n${x}", "attributes": {}}, {"index_key": "%{y}", "attributes": {}}]},
      {"mode": "managed", "type": "t", "name": "c", "each": "list", "instances": [
        {"index_key": 0, "attributes": {"id": "1"}},
        {"index_key": 0, "deposed": "00000001", "attributes": {"id": "0"}}]},
      {"mode": "managed", "type": "t", "name": "empty", "instances": []}
    ]})");
  EXPECT_EQ(state.instance_addresses(),
            (std::vector<std::string>{"data.aws_ami.ubuntu", "module.a.module.b.data.x.y", "module.a[\"k\"].t.n[\"we\\\"ird\\n$${x}\"]",
                                      "module.a[\"k\"].t.n[\"%%{y}\"]", "t.c[0]"}));
  EXPECT_EQ(state.resources[3].instances[1].display_address(), "t.c[0] (deposed object 00000001)");
}

TEST(infra_tfstate, HclQuoting) {
  EXPECT_EQ(hcl_quoted(""), "\"\"");
  EXPECT_EQ(hcl_quoted("a\tb\\c"), "\"a\\tb\\\\c\"");
  EXPECT_EQ(hcl_quoted("$5 %d"), "\"$5 %d\"");
  EXPECT_EQ(hcl_quoted(std::string("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(hcl_quoted("café"), "\"café\"");
  EXPECT_EQ(instance_key_string(nlohmann::json(3)), "[3]");
  EXPECT_EQ(instance_key_string(nlohmann::json()), "");
}

TEST(infra_tfstate, RefusesOpenTofuEncryptedState) {
  auto r = parse_state(R"({"meta":{"key_provider.pbkdf2.k":"eyJ"},"encrypted_data":"AbCd==","encryption_version":"v0"})",
                       "the target state");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "encrypted");
  EXPECT_NE(r.error().message.find("the target state is encrypted by OpenTofu"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("v0"), std::string::npos);
  EXPECT_NE(r.error().hint.find("tofu state push"), std::string::npos);
}

TEST(infra_tfstate, RefusesOtherFormatVersionsSayingWhich) {
  auto v3 = parse_state(R"({"version": 3, "serial": 1, "lineage": "l", "modules": []})");
  ASSERT_FALSE(v3.ok());
  EXPECT_EQ(v3.error().tag, "state_version");
  EXPECT_NE(v3.error().message.find("state format version 3"), std::string::npos) << v3.error().message;
  EXPECT_NE(v3.error().message.find("only version 4"), std::string::npos);
  EXPECT_NE(v3.error().message.find("before 0.12"), std::string::npos);

  auto v5 = parse_state(R"({"version": 5, "serial": 1, "lineage": "l"})");
  ASSERT_FALSE(v5.ok());
  EXPECT_NE(v5.error().message.find("state format version 5"), std::string::npos);
  EXPECT_NE(v5.error().message.find("newer"), std::string::npos);
}

// Found by fuzzing (fuzz/corpus/tfstate/crash-number-out-of-range): a number beyond a double is
// not a parse_error for nlohmann, and escaped as an exception.
TEST(infra_tfstate, NumberBeyondADoubleIsInvalidJsonNotAnException) {
  auto r = parse_state(R"({"version": 4, "serial": 1e999, "lineage": "l"})", "state version abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "invalid_json");
  EXPECT_NE(r.error().message.find("state version abc is not valid JSON"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("number overflow"), std::string::npos) << r.error().message;
}

TEST(conformance_infra_tfstate, InvalidJsonSaysLineAndColumn) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto r = parse_state("{\n  \"version\": 4,\n  \"serial\": 1,,\n}", "state version abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "invalid_json");
  EXPECT_NE(r.error().message.find("state version abc is not valid JSON: line 3, column 15"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("\"serial\": 1,,"), std::string::npos);

  auto truncated = parse_state(read_fixture("terraform/tfstate/v4-simple.in.tfstate").substr(0, 100));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().tag, "invalid_json");
}

TEST(conformance_infra_tfstate, RejectsDocumentsThatAreNotStates) {
  RB_REQUIRE_SHARED_FIXTURES();
  for (const char* bad : {"[]", "{}", R"({"version": "4", "serial": 1})", R"({"version": 4, "lineage": "x"})",
                          R"({"version": 4, "serial": -1})", R"({"version": 4, "serial": 1, "resources": {}})",
                          R"({"version": 4, "serial": 1, "resources": [{"mode": "weird", "type": "t", "name": "n"}]})",
                          R"({"version": 4, "serial": 1, "resources": [{"mode": "managed", "type": "t", "name": "n",
                               "instances": [{"index_key": [1]}]}]})"}) {
    auto r = parse_state(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().tag, "invalid_state") << bad;
  }
  // `terraform show -json` output of a state is not a raw state file.
  auto shown = parse_state(read_fixture("terraform/show-state/moved_simple.state.json"));
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.error().tag, "invalid_state");
}

TEST(infra_tfstate, EmptyState) {
  auto state = must_parse(R"({"version": 4, "serial": 3, "lineage": "l", "outputs": {}, "resources": []})");
  EXPECT_TRUE(state.empty());
  EXPECT_TRUE(state.instance_addresses().empty());
}

TEST(infra_json, PositionOf) {
  std::string text = "ab\ncd\n";
  EXPECT_EQ(position_of(text, 0).line, 1u);
  EXPECT_EQ(position_of(text, 4).line, 2u);
  EXPECT_EQ(position_of(text, 4).column, 2u);
}

TEST(conformance_infra_json, ReindentKeepsTerraformFilesByteForByte) {
  RB_REQUIRE_SHARED_FIXTURES();
  // Terraform wrote these (2-space indent, trailing newline): laying them out again changes nothing.
  for (const char* name : {"equivalence-basic_list_update.tfstate", "equivalence-local_provider_update.tfstate",
                           "equivalence-moved_simple.tfstate", "v4-modules.in.tfstate", "v4-cbd.in.tfstate"}) {
    SCOPED_TRACE(name);
    std::string bytes = read_fixture(std::string("terraform/tfstate/") + name);
    EXPECT_EQ(reindent_like_terraform(bytes), bytes);
  }
}

TEST(conformance_infra_json, ReindentFourSpaceAndMinifiedDocuments) {
  RB_REQUIRE_SHARED_FIXTURES();
  std::string four = read_fixture("terraform/tfstate/v4-simple.in.tfstate");
  std::string two = reindent_like_terraform(four);
  EXPECT_EQ(nlohmann::json::parse(two), nlohmann::json::parse(four));
  EXPECT_EQ(two.substr(0, 20), "{\n  \"version\": 4,\n  ");
  EXPECT_EQ(two.back(), '\n');
  EXPECT_EQ(reindent_like_terraform(R"({"a":[],"b":{},"c":[1,{"d":"x,y:]"}],"e":1.50E+3})"),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"x,y:]\"\n    }\n  ],\n  \"e\": 1.50E+3\n}\n");
}

TEST(infra_json, ReindentReplacesOnlyTopLevelMembers) {
  std::string out = reindent_like_terraform(R"({"serial": 1, "nested": {"serial": 2}, "lineage": {"x": [1, 2]}, "z": 123456789012345678901234567890})",
                                            {{"serial", "42"}, {"lineage", "\"abc\""}});
  EXPECT_EQ(out,
            "{\n  \"serial\": 42,\n  \"nested\": {\n    \"serial\": 2\n  },\n  \"lineage\": \"abc\",\n  \"z\": "
            "123456789012345678901234567890\n}\n");
}

TEST(conformance_infra_statediff, FixturesWithTheSameLineage) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto simple = must_parse(read_fixture("terraform/tfstate/v4-simple.in.tfstate"));
  auto modules = must_parse(read_fixture("terraform/tfstate/v4-modules.in.tfstate"));
  auto d = diff_states(simple, modules);
  EXPECT_EQ(d.only_in_a, (std::vector<std::string>{"null_resource.foo[0]", "null_resource.foo[1]"}));
  EXPECT_EQ(d.only_in_b, (std::vector<std::string>{"module.modB.null_resource.bar[\"a\"]", "module.modB.null_resource.bar[\"b\"]",
                                                   "module.modA.null_resource.resource"}));
  EXPECT_TRUE(d.changed.empty());  // null_resource.bar is the same object in both
  EXPECT_TRUE(d.outputs_changed.empty());
  EXPECT_FALSE(d.empty());

  auto future = must_parse(read_fixture("terraform/tfstate/v4-future.in.tfstate"));
  EXPECT_TRUE(diff_states(simple, future).empty());  // only terraform_version differs
  EXPECT_TRUE(diff_states(simple, simple).empty());
}

TEST(conformance_infra_statediff, MovedResourceIsRemovedAndAdded) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto before = must_parse(read_fixture("terraform/tfstate/equivalence-moved_simple.tfstate"));
  std::string after_text = read_fixture("terraform/tfstate/equivalence-moved_simple.tfstate");
  after_text.replace(after_text.find("\"first\""), 7, "\"second\"");
  auto after = must_parse(after_text);
  auto d = diff_states(before, after);
  EXPECT_EQ(d.only_in_a, std::vector<std::string>{"tfcoremock_simple_resource.first"});
  EXPECT_EQ(d.only_in_b, std::vector<std::string>{"tfcoremock_simple_resource.second"});
}

TEST(infra_statediff, ChangedAttributesAndFieldsWithoutValues) {
  auto a = must_parse(R"({"version":4,"serial":1,"lineage":"l","outputs":{"o1":{"value":"x","type":"string"},"gone":{"value":1,"type":"number"}},
    "resources":[{"mode":"managed","type":"t","name":"n","instances":[
      {"schema_version":0,"attributes":{"id":"1","password":"s3cret","same":true},"sensitive_attributes":[]}]}]})");
  auto b = must_parse(R"({"version":4,"serial":2,"lineage":"l","outputs":{"o1":{"value":"y","type":"string"},"new":{"value":1,"type":"number"}},
    "resources":[{"mode":"managed","type":"t","name":"n","instances":[
      {"schema_version":1,"status":"tainted","attributes":{"id":"1","password":"other","same":true,"added":1},"sensitive_attributes":[]}]}]})");
  auto d = diff_states(a, b);
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].address, "t.n");
  EXPECT_EQ(d.changed[0].attributes, (std::vector<std::string>{"added", "password"}));
  EXPECT_EQ(d.changed[0].other_fields, (std::vector<std::string>{"schema_version", "status"}));
  EXPECT_EQ(d.outputs_changed, std::vector<std::string>{"o1"});
  EXPECT_EQ(d.outputs_only_in_a, std::vector<std::string>{"gone"});
  EXPECT_EQ(d.outputs_only_in_b, std::vector<std::string>{"new"});
}

TEST(infra_statediff, DeposedObjectsAreSeparateInstances) {
  auto a = must_parse(R"({"version":4,"serial":1,"lineage":"l","resources":[{"mode":"managed","type":"t","name":"n","instances":[
      {"attributes":{"id":"new"}},{"deposed":"abcd1234","attributes":{"id":"old"}}]}]})");
  auto b = must_parse(R"({"version":4,"serial":2,"lineage":"l","resources":[{"mode":"managed","type":"t","name":"n","instances":[
      {"attributes":{"id":"new"}}]}]})");
  auto d = diff_states(a, b);
  EXPECT_EQ(d.only_in_a, std::vector<std::string>{"t.n (deposed object abcd1234)"});
  EXPECT_TRUE(d.only_in_b.empty());
  EXPECT_TRUE(d.changed.empty());
}

// The project's own states (tests/fixtures/terraform/tfstate/, format version 4).
TEST(infra_tfstate, ProjectFixtureStatesParseAndDiff) {
  using rb::infra::testing::read_project_fixture;
  auto simple = must_parse(read_project_fixture("terraform/tfstate/simple.tfstate"));
  auto modules = must_parse(read_project_fixture("terraform/tfstate/modules.tfstate"));
  EXPECT_EQ(simple.version, 4);
  EXPECT_EQ(simple.lineage, "7d3c2a51-9b6e-4f0a-8c1d-2e5f6a7b8c90");
  EXPECT_EQ(simple.terraform_version, "0.12.0");
  EXPECT_EQ(simple.instance_addresses(),
            (std::vector<std::string>{"null_resource.bar", "null_resource.foo[0]", "null_resource.foo[1]"}));
  ASSERT_EQ(modules.resources.size(), 3u);
  EXPECT_EQ(modules.resources[1].address(), "module.modB.null_resource.bar");
  EXPECT_EQ(modules.resources[1].each, "map");
  EXPECT_EQ(modules.resources[1].instances[0].index_key, "a");
  auto d = diff_states(simple, modules);
  EXPECT_EQ(d.only_in_a, (std::vector<std::string>{"null_resource.foo[0]", "null_resource.foo[1]"}));
  EXPECT_EQ(d.only_in_b, (std::vector<std::string>{"module.modB.null_resource.bar[\"a\"]", "module.modB.null_resource.bar[\"b\"]",
                                                   "module.modA.null_resource.resource"}));
  EXPECT_TRUE(diff_states(simple, simple).empty());
  auto other = must_parse(read_project_fixture("terraform/tfstate/other-lineage.tfstate"));
  EXPECT_NE(other.lineage, simple.lineage);
}
