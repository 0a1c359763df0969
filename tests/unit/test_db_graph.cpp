#include <gtest/gtest.h>

#include "db/graph.hpp"

using namespace rb;
using namespace rb::db;

namespace {

using Ids = std::vector<std::string>;

MigrationScript script(std::string rev, Ids down, Ids deps = {}, Ids labels = {}) {
  MigrationScript s;
  s.revision = std::move(rev);
  s.down_revisions = std::move(down);
  s.depends_on = std::move(deps);
  s.branch_labels = std::move(labels);
  s.path = "versions/" + s.revision + ".py";
  s.doc = "doc of " + s.revision;
  return s;
}

RevisionGraph build(std::vector<MigrationScript> scripts) {
  auto g = RevisionGraph::build(std::move(scripts));
  EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
  return std::move(*g);
}

Error build_error(std::vector<MigrationScript> scripts) {
  auto g = RevisionGraph::build(std::move(scripts));
  EXPECT_FALSE(g.ok());
  return g.ok() ? Error{} : g.error();
}

//   a1 - b2 - c3 ---- m5 - f6
//          \         /
//           d4 -----
RevisionGraph diamond() {
  return build({script("a1aa", {}), script("b2bb", {"a1aa"}), script("c3cc", {"b2bb"}), script("d4dd", {"b2bb"}),
                script("m5mm", {"c3cc", "d4dd"}), script("f6ff", {"m5mm"})});
}

}  // namespace

TEST(db_graph, HeadsBasesMergeAndBranchPoints) {
  auto g = diamond();
  EXPECT_EQ(g.heads(), Ids{"f6ff"});
  EXPECT_EQ(g.bases(), Ids{"a1aa"});
  EXPECT_EQ(g.merge_points(), Ids{"m5mm"});
  EXPECT_EQ(g.branch_points(), Ids{"b2bb"});
  EXPECT_EQ(g.children("b2bb"), (Ids{"c3cc", "d4dd"}));
  EXPECT_TRUE(g.is_ancestor("a1aa", "f6ff"));
  EXPECT_TRUE(g.is_ancestor("d4dd", "m5mm"));
  EXPECT_FALSE(g.is_ancestor("c3cc", "d4dd"));
  EXPECT_EQ(g.ancestors({"m5mm"}, false), (std::set<std::string>{"a1aa", "b2bb", "c3cc", "d4dd", "m5mm"}));
  EXPECT_EQ(g.descendants({"d4dd"}, false), (std::set<std::string>{"d4dd", "m5mm", "f6ff"}));
}

TEST(db_graph, SeveralHeadsAndRoots) {
  auto g = build({script("a1aa", {}), script("b2bb", {"a1aa"}), script("c3cc", {"a1aa"}), script("x1xx", {})});
  EXPECT_EQ(g.heads(), (Ids{"b2bb", "c3cc", "x1xx"}));
  EXPECT_EQ(g.bases(), (Ids{"a1aa", "x1xx"}));
}

TEST(db_graph, DependsOnMakesRealHeadsAndNormalizedDownRevisions) {
  // r2 (root of another lineage) depends on a2: a2 is no longer a real head.
  auto g = build({script("a1aa", {}), script("a2aa", {"a1aa"}), script("r1rr", {}, {}, {"reports"}),
                  script("r2rr", {"r1rr"}, {"a2aa"}), script("a3aa", {"a2aa"}, {"a1aa"})});
  EXPECT_EQ(g.heads(), (Ids{"r2rr", "a3aa"}));
  EXPECT_EQ(g.dependencies("r2rr"), Ids{"a2aa"});
  EXPECT_EQ(g.normalized_down_revisions("r2rr"), (Ids{"r1rr", "a2aa"}));
  // A dependency that is an ancestor stays in the normalized list (Alembic 1.8.1 behaviour).
  EXPECT_EQ(g.normalized_down_revisions("a3aa"), (Ids{"a2aa", "a1aa"}));
  // A label in depends_on resolves to the revision declaring it.
  auto h = build({script("a1aa", {}, {}, {"core"}), script("b1bb", {}, {"core"})});
  EXPECT_EQ(h.dependencies("b1bb"), Ids{"a1aa"});
}

TEST(db_graph, DuplicateRevisionNamesBothFiles) {
  auto a = script("abcd1234", {});
  auto b = script("abcd1234", {});
  b.path = "versions/copy_of_it.py";
  auto e = build_error({a, b});
  EXPECT_EQ(e.tag, "duplicate-revision");
  EXPECT_NE(e.message.find("versions/abcd1234.py"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("versions/copy_of_it.py"), std::string::npos) << e.message;
}

TEST(db_graph, MissingParentsNameTheFilesAndIds) {
  auto e = build_error({script("a1aa", {}), script("b2bb", {"zzzz9999"}), script("c3cc", {"a1aa"}, {"nowhere"})});
  EXPECT_EQ(e.tag, "missing-parent");
  EXPECT_NE(e.message.find("versions/b2bb.py: down_revision 'zzzz9999'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("versions/c3cc.py: depends_on 'nowhere'"), std::string::npos) << e.message;
}

TEST(db_graph, CyclesNameTheFilesInTheCycle) {
  auto e = build_error({script("a1aa", {}), script("b2bb", {"a1aa", "d4dd"}), script("c3cc", {"b2bb"}),
                        script("d4dd", {"c3cc"}), script("e5ee", {"d4dd"})});
  EXPECT_EQ(e.tag, "cycle");
  for (const char* f : {"versions/b2bb.py", "versions/c3cc.py", "versions/d4dd.py"})
    EXPECT_NE(e.message.find(f), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("versions/e5ee.py"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("versions/a1aa.py"), std::string::npos) << e.message;

  auto self = build_error({script("a1aa", {"a1aa"})});
  EXPECT_EQ(self.tag, "cycle");
  EXPECT_NE(self.message.find("versions/a1aa.py"), std::string::npos);

  auto via_dependency = build_error({script("a1aa", {}, {"b2bb"}), script("b2bb", {"a1aa"})});
  EXPECT_EQ(via_dependency.tag, "cycle");
}

TEST(db_graph, RejectsBadIdsAndDuplicateLabels) {
  EXPECT_EQ(build_error({script("a-1", {})}).tag, "bad-revision-id");
  auto e = build_error({script("a1aa", {}, {}, {"core"}), script("b2bb", {}, {}, {"core"})});
  EXPECT_EQ(e.tag, "duplicate-label");
  EXPECT_NE(e.message.find("versions/a1aa.py"), std::string::npos);
  EXPECT_NE(e.message.find("versions/b2bb.py"), std::string::npos);
}

TEST(db_graph, WalksDownFollowingDownRevisionOnly) {
  auto g = diamond();
  EXPECT_EQ(*g.walk_down("f6ff", 1), "m5mm");
  EXPECT_EQ(*g.walk_down("c3cc", 2), "a1aa");
  EXPECT_EQ(*g.walk_down("c3cc", 3), std::nullopt);  // base
  auto ambiguous = g.walk_down("f6ff", 2);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().tag, "ambiguous-walk");
  EXPECT_NE(ambiguous.error().message.find("Ambiguous walk"), std::string::npos);
  EXPECT_NE(ambiguous.error().hint.find("c3cc, d4dd"), std::string::npos);
  auto too_far = g.walk_down("c3cc", 4);
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.error().tag, "walked-too-far");

  // depends_on is not followed by relative steps.
  auto h = build({script("a1aa", {}), script("x1xx", {}), script("b2bb", {"a1aa"}, {"x1xx"})});
  EXPECT_EQ(*h.walk_down("b2bb", 1), "a1aa");
}

TEST(db_graph, ResolvesIdsPrefixesAndSymbols) {
  auto g = build({script("ae1027a6acf", {}), script("ae10ff000000", {"ae1027a6acf"}), script("b7c0ffee", {"ae10ff000000"}),
                  script("merge_heads_20260130", {"b7c0ffee"}, {}, {"mainline"})});
  EXPECT_EQ(g.resolve("b7c0ffee")->revisions, Ids{"b7c0ffee"});
  EXPECT_EQ(g.resolve("b7c0")->revisions, Ids{"b7c0ffee"});
  EXPECT_EQ(g.resolve("ae102")->revisions, Ids{"ae1027a6acf"});
  EXPECT_EQ(g.resolve("merge")->revisions, Ids{"merge_heads_20260130"});
  EXPECT_TRUE(g.resolve("base")->is_base());
  EXPECT_EQ(g.resolve("head")->revisions, Ids{"merge_heads_20260130"});
  EXPECT_EQ(g.resolve("heads")->revisions, Ids{"merge_heads_20260130"});
  EXPECT_EQ(g.resolve("mainline")->revisions, Ids{"merge_heads_20260130"});
  EXPECT_EQ(g.resolve("mainline@head")->revisions, Ids{"merge_heads_20260130"});
  EXPECT_EQ(g.resolve("-1")->revisions, Ids{"b7c0ffee"});
  EXPECT_EQ(g.resolve("-2", {"b7c0ffee"})->revisions, Ids{"ae1027a6acf"});
  EXPECT_EQ(g.resolve("b7c0-1")->revisions, Ids{"ae10ff000000"});
  EXPECT_EQ(g.resolve("mainline@-1")->revisions, Ids{"b7c0ffee"});
  EXPECT_TRUE(g.resolve("-4")->is_base());
}

TEST(db_graph, AmbiguousPrefixListsEveryCandidate) {
  auto g = build({script("ae1027a6acf", {}), script("ae10ff000000", {"ae1027a6acf"}), script("ae10cc", {"ae10ff000000"})});
  auto r = g.resolve("ae10");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Usage);
  EXPECT_EQ(r.error().tag, "ambiguous-prefix");
  for (const char* id : {"ae1027a6acf", "ae10ff000000", "ae10cc"}) EXPECT_NE(r.error().message.find(id), std::string::npos);
}

TEST(db_graph, PrefixTooShortUnknownAndUpward) {
  auto g = build({script("ae1027a6acf", {}), script("b7c0ffee", {"ae1027a6acf"})});
  auto short_prefix = g.resolve("ae1");
  ASSERT_FALSE(short_prefix.ok());
  EXPECT_EQ(short_prefix.error().tag, "prefix-too-short");
  EXPECT_NE(short_prefix.error().message.find("4"), std::string::npos);
  auto unknown = g.resolve("b7c0fffe");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().tag, "unknown-revision");
  EXPECT_NE(unknown.error().hint.find("b7c0ffee"), std::string::npos) << unknown.error().hint;
  auto up = g.resolve("+1");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().tag, "upward-relative");
}

TEST(db_graph, HeadIsAmbiguousWithSeveralHeads) {
  auto g = build({script("a1aa", {}), script("b2bb", {"a1aa"}), script("c3cc", {"a1aa"})});
  auto r = g.resolve("head");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "multiple-heads");
  EXPECT_EQ(g.resolve("heads")->revisions, (Ids{"b2bb", "c3cc"}));
  auto rel = g.resolve("-1");
  ASSERT_FALSE(rel.ok());
  EXPECT_NE(rel.error().hint.find("b2bb@-1"), std::string::npos) << rel.error().hint;
  EXPECT_EQ(g.resolve("b2bb@-1")->revisions, Ids{"a1aa"});
}

TEST(db_graph, BranchLabelsPropagateAndRestrictResolution) {
  auto g = build({script("a1aa", {}), script("b2bb", {"a1aa"}, {}, {"feature"}), script("c3cc", {"b2bb"}),
                  script("d4dd", {"a1aa"})});
  EXPECT_EQ(g.branch_labels("c3cc"), Ids{"feature"});
  EXPECT_EQ(g.branch_labels("b2bb"), Ids{"feature"});
  EXPECT_TRUE(g.branch_labels("d4dd").empty());
  EXPECT_TRUE(g.branch_labels("a1aa").empty());  // a branch point stops the upward propagation
  EXPECT_EQ(g.resolve("feature@head")->revisions, Ids{"c3cc"});
  auto off_branch = g.resolve("feature@d4dd");
  ASSERT_FALSE(off_branch.ok());
  EXPECT_EQ(off_branch.error().tag, "not-on-branch");
}

TEST(db_graph, TopologicalOrderIsAlembics) {
  auto g = diamond();
  std::set<std::string> all{"a1aa", "b2bb", "c3cc", "d4dd", "m5mm", "f6ff"};
  // Alembic walks the first branch down to the branch point, then the other, then below.
  EXPECT_EQ(g.topological_order(all, {"f6ff"}), (Ids{"f6ff", "m5mm", "c3cc", "d4dd", "b2bb", "a1aa"}));
  EXPECT_EQ(g.topological_order({"c3cc", "d4dd"}, {"c3cc", "d4dd"}), (Ids{"c3cc", "d4dd"}));
}

TEST(db_graph, HistoryLinesLikeAlembic) {
  auto g = build({script("a1aa", {}, {}, {"core"}), script("b2bb", {"a1aa"}), script("c3cc", {"b2bb"}),
                  script("d4dd", {"b2bb"}), script("m5mm", {"c3cc", "d4dd"}), script("f6ff", {"m5mm"}, {"b2bb"})});
  auto h = g.history();
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0], "m5mm (b2bb) -> f6ff (core) (head), doc of f6ff");
  EXPECT_EQ(h[1], "c3cc, d4dd -> m5mm (core) (mergepoint), doc of m5mm");
  EXPECT_EQ(h[4], "a1aa -> b2bb (core) (branchpoint), doc of b2bb");
  EXPECT_EQ(h[5], "<base> -> a1aa (core), doc of a1aa");
}
