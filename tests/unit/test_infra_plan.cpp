#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "../infra/test_support.hpp"
#include "infra/plan.hpp"

using namespace rb;
using namespace rb::infra;
using rb::infra::testing::fixture_names;
using rb::infra::testing::read_fixture;

namespace {

using Addresses = std::vector<std::string>;

// Read from the fixture files (fixtures/README.md describes them).
struct ExpectedPlan {
  Addresses creates, updates, deletes, replaces, reads, no_ops, forgets;
  std::vector<std::pair<std::string, std::string>> moves;
  Addresses drift;
  std::string plan_line;  // "" when the rendering has no Plan line
  bool needs_confirmation;
  bool has_changes;
  std::map<std::string, std::string> reasons;  // address -> reason_text
};

const std::map<std::string, ExpectedPlan>& expected_plans() {
  static const std::map<std::string, ExpectedPlan> kExpected = {
      {"action_reason.plan.json",
       {{}, {}, {}, {"null_resource.example"}, {}, {}, {}, {}, {}, "Plan: 1 to add, 0 to change, 1 to destroy.", true, true,
        {{"null_resource.example", "tainted, so must be replaced"}}}},
      {"basic_list_update.plan.json",
       {{}, {"tfcoremock_list.list"}, {}, {}, {}, {}, {}, {}, {}, "Plan: 0 to add, 1 to change, 0 to destroy.", false, true,
        {{"tfcoremock_list.list", ""}}}},
      {"data_read.plan.json",
       {{"tfcoremock_simple_resource.create", "module.create.local_file.data_file", "module.create.random_integer.random"},
        {},
        {},
        {},
        {"data.tfcoremock_simple_resource.read"},
        {},
        {},
        {},
        {},
        "Plan: 3 to add, 0 to change, 0 to destroy.",
        false,
        true,
        {{"data.tfcoremock_simple_resource.read", "config refers to values not yet known"}}}},
      {"drift_refresh_only.plan.json",
       {{}, {}, {}, {}, {}, {}, {}, {}, {"tfcoremock_simple_resource.drift"}, "", false, false, {}}},
      {"fully_populated_complex_destroy.plan.json",
       {{}, {}, {"tfcoremock_complex_resource.complex"}, {}, {}, {}, {}, {}, {}, "Plan: 0 to add, 0 to change, 1 to destroy.", true,
        true, {{"tfcoremock_complex_resource.complex", ""}}}},
      {"local_provider_delete.plan.json",
       {{}, {}, {"local_file.local_file"}, {}, {}, {}, {}, {}, {}, "Plan: 0 to add, 0 to change, 1 to destroy.", true, true,
        {{"local_file.local_file", "no longer in configuration"}}}},
      {"local_provider_update.plan.json",
       {{}, {}, {}, {"local_file.local_file"}, {}, {}, {}, {}, {}, "Plan: 1 to add, 0 to change, 1 to destroy.", true, true,
        {{"local_file.local_file", "cannot be updated in place"}}}},
      {"moved_simple.plan.json",
       {{},
        {},
        {},
        {},
        {},
        {"tfcoremock_simple_resource.second"},
        {},
        {{"tfcoremock_simple_resource.first", "tfcoremock_simple_resource.second"}},
        {},
        "Plan: 0 to add, 0 to change, 0 to destroy.",
        false,
        true,
        {}}},
  };
  return kExpected;
}

PlanSummary must_parse(const std::string& json) {
  auto r = parse_plan_json(json);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : PlanSummary{};
}

}  // namespace

TEST(conformance_infra_plan, EveryFixturePlanHasItsRealCountsAndAddresses) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto names = fixture_names("terraform/plans", ".plan.json");
  ASSERT_EQ(names.size(), expected_plans().size() + 1) << "a plan fixture was added or removed: update the expectations";
  for (const auto& name : names) {
    if (name == "invalid.plan.json") continue;
    SCOPED_TRACE(name);
    auto it = expected_plans().find(name);
    ASSERT_NE(it, expected_plans().end()) << "no expectation for " << name;
    const ExpectedPlan& e = it->second;
    auto r = parse_plan_json(read_fixture("terraform/plans/" + name));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->format_version, "1.2");
    EXPECT_EQ(r->addresses(ChangeKind::Create), e.creates);
    EXPECT_EQ(r->addresses(ChangeKind::Update), e.updates);
    EXPECT_EQ(r->addresses(ChangeKind::Delete), e.deletes);
    EXPECT_EQ(r->addresses(ChangeKind::Replace), e.replaces);
    EXPECT_EQ(r->addresses(ChangeKind::Read), e.reads);
    EXPECT_EQ(r->addresses(ChangeKind::NoOp), e.no_ops);
    EXPECT_EQ(r->addresses(ChangeKind::Forget), e.forgets);
    EXPECT_TRUE(r->addresses(ChangeKind::Unknown).empty());
    EXPECT_EQ(r->count(ChangeKind::Create), e.creates.size());
    EXPECT_EQ(r->count(ChangeKind::Replace), e.replaces.size());
    EXPECT_EQ(r->count(ChangeKind::Delete), e.deletes.size());
    EXPECT_EQ(r->moves(), e.moves);
    Addresses drift;
    for (const auto& d : r->drift) drift.push_back(d.address);
    EXPECT_EQ(drift, e.drift);
    EXPECT_EQ(r->needs_confirmation(), e.needs_confirmation);
    EXPECT_EQ(r->has_changes(), e.has_changes);
    EXPECT_TRUE(r->outputs.empty());
    EXPECT_TRUE(r->imports().empty());
    std::string text = r->render_text();
    if (e.plan_line.empty()) {
      EXPECT_EQ(text.find("Plan:"), std::string::npos) << text;
    } else {
      EXPECT_EQ(r->plan_line(), e.plan_line);
      EXPECT_NE(text.find(e.plan_line), std::string::npos) << text;
    }
    for (const auto& [address, reason] : e.reasons) {
      auto c = std::find_if(r->changes.begin(), r->changes.end(), [&](const PlannedChange& pc) { return pc.address == address; });
      ASSERT_NE(c, r->changes.end()) << address;
      EXPECT_EQ(c->reason_text(), reason) << address;
    }
  }
}

TEST(conformance_infra_plan, ReplacementDetailsFromLocalProviderUpdate) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto plan = must_parse(read_fixture("terraform/plans/local_provider_update.plan.json"));
  ASSERT_EQ(plan.changes.size(), 1u);
  const auto& c = plan.changes[0];
  EXPECT_EQ(c.actions, (std::vector<std::string>{"delete", "create"}));
  EXPECT_EQ(c.action, PlanAction::DeleteThenCreate);
  EXPECT_EQ(c.action_reason, "replace_because_cannot_update");
  EXPECT_EQ(c.mode, "managed");
  EXPECT_EQ(c.type, "local_file");
  EXPECT_EQ(c.name, "local_file");
  EXPECT_EQ(plan.applyable, true);
  EXPECT_EQ(plan.errored, false);
  EXPECT_EQ(plan.render_text(),
            "Terraform will perform the following actions:\n"
            "-/+ local_file.local_file (cannot be updated in place)\n"
            "\n"
            "Plan: 1 to add, 0 to change, 1 to destroy.\n");
}

TEST(conformance_infra_plan, DataReadAndModuleAddresses) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto plan = must_parse(read_fixture("terraform/plans/data_read.plan.json"));
  ASSERT_EQ(plan.changes.size(), 4u);
  EXPECT_EQ(plan.changes[0].mode, "data");
  EXPECT_EQ(plan.changes[0].action, PlanAction::Read);
  EXPECT_EQ(plan.changes[2].module_address, "module.create");
  EXPECT_EQ(plan.changes[1].module_address, "");
  EXPECT_EQ(plan.render_text(),
            "Terraform will perform the following actions:\n"
            " <= data.tfcoremock_simple_resource.read (config refers to values not yet known)\n"
            "  + tfcoremock_simple_resource.create\n"
            "  + module.create.local_file.data_file\n"
            "  + module.create.random_integer.random\n"
            "\n"
            "Plan: 3 to add, 0 to change, 0 to destroy.\n");
}

TEST(conformance_infra_plan, RefreshOnlyPlanWithoutResourceChangesIsValid) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto plan = must_parse(read_fixture("terraform/plans/drift_refresh_only.plan.json"));
  EXPECT_TRUE(plan.changes.empty());
  ASSERT_EQ(plan.drift.size(), 1u);
  EXPECT_EQ(plan.drift[0].action, PlanAction::Update);
  EXPECT_FALSE(plan.needs_confirmation());
  EXPECT_FALSE(plan.has_changes());
  EXPECT_EQ(plan.render_text(),
            "Objects changed outside of Terraform:\n"
            "  ~ tfcoremock_simple_resource.drift (has changed)\n"
            "\n"
            "No changes to apply: only the state would record the changes made outside of Terraform.\n");
}

TEST(conformance_infra_plan, MinifiedPlanWithTerraformVersion) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto plan = must_parse(read_fixture("terraform/plans/action_reason.plan.json"));
  EXPECT_EQ(plan.terraform_version, "1.15.0");
  EXPECT_EQ(plan.complete, true);
  EXPECT_FALSE(plan.applyable.has_value());
}

TEST(conformance_infra_plan, MovedResourceIsANoOpWithAMove) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto plan = must_parse(read_fixture("terraform/plans/moved_simple.plan.json"));
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_TRUE(plan.changes[0].moved());
  EXPECT_EQ(plan.changes[0].previous_address, "tfcoremock_simple_resource.first");
  EXPECT_NE(plan.render_text().find("    tfcoremock_simple_resource.second (moved from tfcoremock_simple_resource.first)\n"),
            std::string::npos);
}

TEST(conformance_infra_plan, InvalidJsonFixtureSaysLineAndColumn) {
  RB_REQUIRE_SHARED_FIXTURES();
  auto r = parse_plan_json(read_fixture("terraform/plans/invalid.plan.json"), "invalid.plan.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  EXPECT_EQ(r.error().tag, "invalid_json");
  // Line 676 is `"default": {}}}}}}},`: the braces close the top-level object early, and the brace
  // at column 29 is where the data that should not be there starts.
  EXPECT_NE(r.error().message.find("invalid.plan.json is not valid JSON: line 676, column 29"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("\"default\": {}}}}}}},"), std::string::npos);
}

TEST(conformance_infra_plan, StateOutputIsNotAPlan) {
  RB_REQUIRE_SHARED_FIXTURES();
  for (const auto& name : fixture_names("terraform/show-state", ".state.json")) {
    SCOPED_TRACE(name);
    auto r = parse_plan_json(read_fixture("terraform/show-state/" + name));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().tag, "invalid_plan");
    EXPECT_NE(r.error().message.find("of a state, not of a plan"), std::string::npos) << r.error().message;
  }
  for (const char* bad : {"[]", R"({"planned_values":{}})", R"({"format_version":"2.0","planned_values":{}})",
                          R"({"format_version":"1.2","resource_changes":[{"address":"a.b"}]})",
                          R"({"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":[]}}]})",
                          R"({"format_version":"1.2","resource_changes":{}})"}) {
    auto r = parse_plan_json(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().tag, "invalid_plan") << bad;
  }
}

TEST(infra_plan, SyntheticPlanWithEveryKindOfChange) {
  auto plan = must_parse(R"({
    "format_version": "1.2", "terraform_version": "1.9.5", "planned_values": {},
    "resource_changes": [
      {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web",
       "change": {"actions": ["create", "delete"]}, "action_reason": "replace_by_request"},
      {"address": "aws_instance.db", "mode": "managed", "type": "aws_instance", "name": "db", "deposed": "0a1b2c3d",
       "change": {"actions": ["delete"]}},
      {"address": "aws_eip.x[2]", "mode": "managed", "type": "aws_eip", "name": "x", "index": 2,
       "change": {"actions": ["delete"]}, "action_reason": "delete_because_count_index"},
      {"address": "module.old.aws_s3_bucket.b", "module_address": "module.old", "mode": "managed", "type": "aws_s3_bucket", "name": "b",
       "change": {"actions": ["delete"]}, "action_reason": "delete_because_no_module"},
      {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
       "change": {"actions": ["forget"]}},
      {"address": "aws_sqs_queue.q", "mode": "managed", "type": "aws_sqs_queue", "name": "q",
       "change": {"actions": ["no-op"], "importing": {"id": "https://sqs/q"}}},
      {"address": "data.aws_ami.old", "mode": "data", "type": "aws_ami", "name": "old", "change": {"actions": ["delete"]}},
      {"address": "aws_lb.main", "previous_address": "aws_lb.front", "mode": "managed", "type": "aws_lb", "name": "main",
       "change": {"actions": ["update"]}},
      {"address": "aws_thing.t", "mode": "managed", "type": "aws_thing", "name": "t", "change": {"actions": ["explode"]}}
    ],
    "output_changes": {
      "url": {"actions": ["update"]}, "same": {"actions": ["no-op"]}, "new": {"actions": ["create"]}
    }})");
  EXPECT_EQ(plan.addresses(ChangeKind::Replace), Addresses{"aws_instance.web"});
  EXPECT_EQ(plan.changes[0].action, PlanAction::CreateThenDelete);
  EXPECT_EQ(plan.addresses(ChangeKind::Delete),
            (Addresses{"aws_instance.db (deposed object 0a1b2c3d)", "aws_eip.x[2]", "module.old.aws_s3_bucket.b"}));
  EXPECT_EQ(plan.addresses(ChangeKind::Forget), Addresses{"aws_iam_role.r"});
  EXPECT_EQ(plan.addresses(ChangeKind::NoOp), (Addresses{"aws_sqs_queue.q", "data.aws_ami.old"}));
  EXPECT_EQ(plan.addresses(ChangeKind::Update), Addresses{"aws_lb.main"});
  EXPECT_EQ(plan.addresses(ChangeKind::Unknown), Addresses{"aws_thing.t"});
  EXPECT_EQ(plan.imports(), Addresses{"aws_sqs_queue.q"});
  EXPECT_EQ(plan.moves(), (std::vector<std::pair<std::string, std::string>>{{"aws_lb.front", "aws_lb.main"}}));
  ASSERT_EQ(plan.outputs.size(), 2u);
  EXPECT_EQ(plan.outputs[0].name, "new");
  EXPECT_EQ(plan.outputs[1].name, "url");
  EXPECT_TRUE(plan.needs_confirmation());
  EXPECT_EQ(plan.plan_line(), "Plan: 1 to import, 1 to add, 1 to change, 4 to destroy, 1 to forget.");
  EXPECT_EQ(plan.render_text(),
            "Terraform will perform the following actions:\n"
            "+/- aws_instance.web (replacement requested (-replace))\n"
            "  - aws_instance.db (deposed object 0a1b2c3d)\n"
            "  - aws_eip.x[2] (index [2] is out of range for count)\n"
            "  - module.old.aws_s3_bucket.b (module.old is no longer in configuration)\n"
            "  . aws_iam_role.r\n"
            "    aws_sqs_queue.q (imported)\n"
            "  ~ aws_lb.main (moved from aws_lb.front)\n"
            "  ? aws_thing.t (unknown actions explode)\n"
            "\n"
            "Plan: 1 to import, 1 to add, 1 to change, 4 to destroy, 1 to forget.\n"
            "\n"
            "Changes to Outputs:\n"
            "  + new\n"
            "  ~ url\n");
}

TEST(infra_plan, UnknownActionsAloneNeedConfirmation) {
  auto plan = must_parse(R"({"format_version":"1.0","planned_values":{},"resource_changes":[
      {"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["delete","forget"]}}]})");
  EXPECT_EQ(plan.count(ChangeKind::Unknown), 1u);
  EXPECT_TRUE(plan.needs_confirmation());
}

TEST(infra_plan, OutputOnlyPlanAndEmptyPlan) {
  auto outputs = must_parse(R"({"format_version":"1.2","planned_values":{},"output_changes":{"v":{"actions":["update"]}}})");
  EXPECT_TRUE(outputs.has_changes());
  EXPECT_FALSE(outputs.needs_confirmation());
  EXPECT_EQ(outputs.render_text(), "Changes to Outputs:\n  ~ v\n");

  auto empty = must_parse(R"({"format_version":"1.2","planned_values":{},"resource_changes":[
      {"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["no-op"]}}],"errored":false})");
  EXPECT_FALSE(empty.has_changes());
  EXPECT_EQ(empty.render_text(), "No changes. Your infrastructure matches the configuration.\n");
}

TEST(infra_plan, ReasonsInWords) {
  PlannedChange c;
  c.address = "aws_x.y[\"k\"]";
  c.index = "k";
  c.previous_address = "aws_x.old";
  for (auto [reason, words] : std::vector<std::pair<std::string, std::string>>{
           {"replace_by_triggers", "replace_triggered_by changed"},
           {"delete_because_each_key", "key [\"k\"] is not in for_each map"},
           {"delete_because_wrong_repetition", "resource no longer uses for_each"},
           {"delete_because_no_move_target", "aws_x.old was moved to aws_x.y[\"k\"], which is not in configuration"},
           {"read_because_dependency_pending", "depends on a resource or a module with changes pending"},
           {"read_because_check_nested", "config will be reloaded to verify a check block"},
           {"something_new_here", "something new here"}}) {
    c.action_reason = reason;
    EXPECT_EQ(c.reason_text(), words) << reason;
  }
  EXPECT_EQ(action_symbol(PlanAction::CreateThenForget), "+/.");
  EXPECT_EQ(action_description(PlanAction::CreateThenDelete), "create replacement and then destroy");
}

// The project's own plans (tests/fixtures/terraform/plans/, `terraform show -json` format 1.2).
TEST(infra_plan, ProjectFixturePlans) {
  using rb::infra::testing::read_project_fixture;
  auto replace = must_parse(read_project_fixture("terraform/plans/replace.plan.json"));
  ASSERT_EQ(replace.changes.size(), 1u);
  EXPECT_EQ(replace.changes[0].action, PlanAction::DeleteThenCreate);
  EXPECT_EQ(replace.changes[0].action_reason, "replace_because_cannot_update");
  EXPECT_EQ(replace.addresses(ChangeKind::Replace), Addresses{"local_file.local_file"});
  EXPECT_TRUE(replace.needs_confirmation());
  EXPECT_EQ(replace.render_text(),
            "Terraform will perform the following actions:\n"
            "-/+ local_file.local_file (cannot be updated in place)\n"
            "\n"
            "Plan: 1 to add, 0 to change, 1 to destroy.\n");

  auto del = must_parse(read_project_fixture("terraform/plans/delete.plan.json"));
  EXPECT_EQ(del.addresses(ChangeKind::Delete), Addresses{"local_file.local_file"});
  EXPECT_EQ(del.plan_line(), "Plan: 0 to add, 0 to change, 1 to destroy.");
  EXPECT_TRUE(del.needs_confirmation());

  auto update = must_parse(read_project_fixture("terraform/plans/update.plan.json"));
  EXPECT_EQ(update.addresses(ChangeKind::Update), Addresses{"tfcoremock_list.list"});
  EXPECT_FALSE(update.needs_confirmation());
  EXPECT_TRUE(update.has_changes());

  auto reads = must_parse(read_project_fixture("terraform/plans/read_and_create.plan.json"));
  ASSERT_EQ(reads.changes.size(), 4u);
  EXPECT_EQ(reads.changes[0].mode, "data");
  EXPECT_EQ(reads.changes[0].action, PlanAction::Read);
  EXPECT_EQ(reads.changes[2].module_address, "module.create");
  EXPECT_EQ(reads.plan_line(), "Plan: 3 to add, 0 to change, 0 to destroy.");
  EXPECT_EQ(reads.format_version, "1.2");
  EXPECT_EQ(reads.terraform_version, "1.9.5");
}

TEST(infra_plan, ProjectFixtureInvalidJsonSaysLineAndColumn) {
  auto r = parse_plan_json(rb::infra::testing::read_project_fixture("terraform/plans/invalid.plan.json"), "invalid.plan.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "invalid_json");
  // Line 4 is `    {"address": "local_file.a"}}`: the second brace closes nothing.
  EXPECT_NE(r.error().message.find("invalid.plan.json is not valid JSON: line 4, column 32"), std::string::npos)
      << r.error().message;
}
