#include <gtest/gtest.h>

#include <fstream>

#include "db/python_lexer.hpp"
#include "db/script_reader.hpp"
#include "util/fs.hpp"
#include "../support/migrations_fixture.hpp"

using namespace rb;
using namespace rb::db;

namespace {

MigrationScript parse_ok(const std::string& src, const std::string& name = "versions/x.py") {
  auto r = parse_migration_script(src, name);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : MigrationScript{};
}

Error parse_error(const std::string& src, const std::string& name = "versions/x.py") {
  auto r = parse_migration_script(src, name);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

using Ids = std::vector<std::string>;

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST(db_script_reader, PlainSingleQuotedOldStyle) {
  auto s = parse_ok(R"("""create users

Revision ID: a1f0c3e2b7d4
Revises:
Create Date: 2025-11-02 09:14:03

"""
from alembic import op

revision = 'a1f0c3e2b7d4'
down_revision = None
branch_labels = None
depends_on = None
)");
  EXPECT_EQ(s.revision, "a1f0c3e2b7d4");
  EXPECT_TRUE(s.down_revisions.empty());
  EXPECT_TRUE(s.branch_labels.empty());
  EXPECT_TRUE(s.depends_on.empty());
  EXPECT_EQ(s.doc, "create users");
  EXPECT_EQ(s.revision_line, 10);
  EXPECT_EQ(s.down_revision_line, 11);
}

TEST(db_script_reader, DoubleQuotes) {
  auto s = parse_ok("revision = \"2b8e5d9c4a10\"\ndown_revision = \"a1f0c3e2b7d4\"\n");
  EXPECT_EQ(s.revision, "2b8e5d9c4a10");
  EXPECT_EQ(s.down_revisions, Ids{"a1f0c3e2b7d4"});
}

TEST(db_script_reader, UnionSequenceAnnotation) {
  auto s = parse_ok(R"(from typing import Sequence, Union
revision: str = "b2"
down_revision: Union[str, Sequence[str], None] = "a1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
)");
  EXPECT_EQ(s.revision, "b2");
  EXPECT_EQ(s.down_revisions, Ids{"a1"});
}

TEST(db_script_reader, UnionStrNoneAnnotation) {
  auto s = parse_ok("revision: str = 'b2'\ndown_revision: Union[str, None] = 'a1'\n");
  EXPECT_EQ(s.down_revisions, Ids{"a1"});
}

TEST(db_script_reader, PipeNoneAnnotation) {
  auto s = parse_ok("revision: str = 'b2'\ndown_revision: str | None = 'a1'\nbranch_labels: str | None = None\n");
  EXPECT_EQ(s.down_revisions, Ids{"a1"});
}

TEST(db_script_reader, TupleAnnotation) {
  auto s = parse_ok(
      "revision: str = 'b2'\ndown_revision: tuple[str, ...] | str | None = ('a1', 'a2')\n"
      "branch_labels: tuple[str] | None = ('mybranch',)\ndepends_on: tuple[str] | None = None\n");
  EXPECT_EQ(s.down_revisions, (Ids{"a1", "a2"}));
  EXPECT_EQ(s.branch_labels, Ids{"mybranch"});
}

TEST(db_script_reader, MultiLineTupleWithCommentsAndTrailingComma) {
  auto s = parse_ok(R"(revision = 'merge_heads_20260130'
down_revision = (
    '3c4d1e2f9a0b',  # create audit_log
    # a comment line inside the tuple
    "5e6f7a8b9c0d",  # add users.phone
)
)");
  EXPECT_EQ(s.revision, "merge_heads_20260130");
  EXPECT_EQ(s.down_revisions, (Ids{"3c4d1e2f9a0b", "5e6f7a8b9c0d"}));
}

TEST(db_script_reader, ListAndBareTupleAndSingleElementTuple) {
  EXPECT_EQ(parse_ok("revision = 'm'\ndown_revision = ['a', 'b']\n").down_revisions, (Ids{"a", "b"}));
  EXPECT_EQ(parse_ok("revision = 'm'\ndown_revision = 'a', 'b'\n").down_revisions, (Ids{"a", "b"}));
  EXPECT_EQ(parse_ok("revision = 'm'\ndown_revision = ('a',)\n").down_revisions, Ids{"a"});
  EXPECT_EQ(parse_ok("revision = 'm'\ndown_revision = ('a')\n").down_revisions, Ids{"a"});
  EXPECT_TRUE(parse_ok("revision = 'm'\ndown_revision = ()\n").down_revisions.empty());
}

TEST(db_script_reader, BranchLabelsAndDependsOnAsStringOrSequence) {
  auto s = parse_ok("revision = 'r'\ndown_revision = None\nbranch_labels = 'core'\ndepends_on = ['a', 'b']\n");
  EXPECT_EQ(s.branch_labels, Ids{"core"});
  EXPECT_EQ(s.depends_on, (Ids{"a", "b"}));
  auto t = parse_ok("revision = 'r'\ndown_revision = None\nbranch_labels = {'x'}\ndepends_on = 'a'\n");
  EXPECT_EQ(t.branch_labels, Ids{"x"});
  EXPECT_EQ(t.depends_on, Ids{"a"});
}

TEST(db_script_reader, NonHexIdsAndAdjacentStringConcatenation) {
  auto s = parse_ok("revision = 'merge_' 'heads_20260130'\ndown_revision = '2026_01_backfill'\n");
  EXPECT_EQ(s.revision, "merge_heads_20260130");
  EXPECT_EQ(s.down_revisions, Ids{"2026_01_backfill"});
}

TEST(db_script_reader, IgnoresTheDocstringRevisesLine) {
  auto s = parse_ok(R"("""add index

Revision ID: c3
Revises: b2, zzzz
"""
revision = 'c3'
down_revision = 'b2'
)");
  EXPECT_EQ(s.down_revisions, Ids{"b2"});
  EXPECT_EQ(s.doc, "add index");
}

TEST(db_script_reader, IgnoresAssignmentsInsideFunctionsClassesAndBlocks) {
  auto s = parse_ok(R"(revision = 'c3'
down_revision = 'b2'

def helper():
    revision = 'inside_function'
    down_revision = None

class Thing:
    revision = 'inside_class'

if False:
    down_revision = 'inside_if'

def upgrade():
    global revision
    pass
)");
  EXPECT_EQ(s.revision, "c3");
  EXPECT_EQ(s.down_revisions, Ids{"b2"});
}

TEST(db_script_reader, LastModuleLevelAssignmentWins) {
  auto s = parse_ok("revision = 'old'\ndown_revision = None\nrevision = 'new'\n");
  EXPECT_EQ(s.revision, "new");
}

TEST(db_script_reader, SemicolonsBackslashesAndTabs) {
  auto s = parse_ok("revision = 'r1'; down_revision = \\\n    'r0'\ndef downgrade():\n\top.drop_table('t')\n");
  EXPECT_EQ(s.revision, "r1");
  EXPECT_EQ(s.down_revisions, Ids{"r0"});
  EXPECT_NE(s.downgrade.body.find("drop_table"), std::string::npos);
}

TEST(db_script_reader, StringsHidingCommentsBracketsAndQuotes) {
  auto s = parse_ok(R"(x = "# not a comment ( [ {"
y = '''a triple-quoted
string with 'quotes' and revision = 'fake'
'''
revision = 'r#1'  # the id itself may be odd
down_revision = None
)");
  EXPECT_EQ(s.revision, "r#1");
}

TEST(db_script_reader, DocIsTheFirstParagraph) {
  EXPECT_EQ(parse_ok("'''one line'''\nrevision='r'\ndown_revision=None\n").doc, "one line");
  EXPECT_EQ(parse_ok("\"\"\"\n  first\n  line two\n\n  rest\n\"\"\"\nrevision='r'\ndown_revision=None\n").doc,
            "first\n  line two");
  EXPECT_EQ(parse_ok("revision='r'\ndown_revision=None\n").doc, "");
  EXPECT_EQ(parse_ok("r\"\"\"raw \\n kept\"\"\"\nrevision='r'\ndown_revision=None\n").doc, "raw \\n kept");
}

TEST(db_script_reader, ExtractsUpgradeAndDowngradeBodiesByIndentation) {
  auto s = parse_ok(R"(revision = 'r'
down_revision = 'q'


def upgrade() -> None:
    op.create_table(
        "t",
    )
# a column-0 comment inside the function

    op.create_index("ix", "t", ["a"])


def downgrade() -> None:
    op.drop_index("ix", table_name="t")
    op.drop_table("t")

CONSTANT = 1
)");
  ASSERT_TRUE(s.upgrade.found);
  ASSERT_TRUE(s.downgrade.found);
  EXPECT_EQ(s.upgrade.def_line, 5);
  EXPECT_EQ(s.downgrade.def_line, 14);
  EXPECT_EQ(s.downgrade.body_line, 14);
  EXPECT_NE(s.upgrade.body.find("create_index"), std::string::npos);
  EXPECT_EQ(s.upgrade.body.find("drop_table"), std::string::npos);
  EXPECT_NE(s.downgrade.body.find("op.drop_table(\"t\")"), std::string::npos);
  EXPECT_EQ(s.downgrade.body.find("CONSTANT"), std::string::npos);
}

TEST(db_script_reader, OneLineFunctionBodies) {
  auto s = parse_ok("revision = 'r'\ndown_revision = 'q'\ndef upgrade(): pass\ndef downgrade(): op.drop_table('t'); pass\n");
  EXPECT_EQ(s.upgrade.body, " pass");
  EXPECT_NE(s.downgrade.body.find("drop_table"), std::string::npos);
  EXPECT_EQ(s.downgrade.body_line, 4);
}

TEST(db_script_reader, MissingRevisionNamesTheFile) {
  auto e = parse_error("down_revision = None\n", "alembic/versions/broken.py");
  EXPECT_NE(e.message.find("alembic/versions/broken.py"), std::string::npos);
  EXPECT_NE(e.message.find("revision"), std::string::npos);
  EXPECT_FALSE(e.hint.empty());
}

TEST(db_script_reader, MissingDownRevisionNamesTheFile) {
  auto e = parse_error("revision = 'abc'\n", "v/abc.py");
  EXPECT_NE(e.message.find("v/abc.py"), std::string::npos);
  EXPECT_NE(e.message.find("down_revision"), std::string::npos);
}

TEST(db_script_reader, NonLiteralValuesNameFileAndLine) {
  auto e = parse_error("revision = 'abc'\n\ndown_revision = compute_parent()\n", "v/abc.py");
  EXPECT_NE(e.message.find("v/abc.py:3:"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("compute_parent()"), std::string::npos);
  auto f = parse_error("revision = f'abc{1}'\ndown_revision = None\n", "v/f.py");
  EXPECT_NE(f.message.find("v/f.py:1:"), std::string::npos);
  EXPECT_NE(f.message.find("f-string"), std::string::npos);
  auto g = parse_error("revision = None\ndown_revision = None\n", "v/g.py");
  EXPECT_NE(g.message.find("v/g.py:1:"), std::string::npos);
}

TEST(db_script_reader, SyntaxErrorsNameFileAndLine) {
  auto e = parse_error("revision = 'abc'\ndown_revision = 'unterminated\n", "v/s.py");
  EXPECT_NE(e.message.find("v/s.py:2:"), std::string::npos) << e.message;
  auto f = parse_error("revision = 'abc'\ndown_revision = (\n 'a',\n", "v/t.py");
  EXPECT_NE(f.message.find("v/t.py:2:"), std::string::npos) << f.message;
  auto g = parse_error("x = '''never closed\nrevision = 'a'\n", "v/u.py");
  EXPECT_NE(g.message.find("v/u.py:1:"), std::string::npos) << g.message;
}

TEST(db_script_reader, MigrationFileNamesLikeAlembic) {
  EXPECT_TRUE(is_migration_filename("1975ea83b712_add_account.py"));
  EXPECT_TRUE(is_migration_filename(".hidden.py"));
  EXPECT_FALSE(is_migration_filename("__init__.py"));
  EXPECT_FALSE(is_migration_filename("__init__old.py"));
  EXPECT_FALSE(is_migration_filename(".#1975ea83b712_add_account.py"));
  EXPECT_FALSE(is_migration_filename("notes.txt"));
  EXPECT_FALSE(is_migration_filename("x.pyc"));
}

TEST(db_script_reader, ReadsAFolderSkippingNonMigrationsAndSubfoldersUnlessRecursive) {
  auto tmp = TempDir::create("rb-db-reader");
  ASSERT_TRUE(tmp.ok());
  auto dir = tmp->path() / "versions";
  write(dir / "a1_first.py", "revision = 'a1'\ndown_revision = None\n");
  write(dir / "b2_second.py", "revision = 'b2'\ndown_revision = 'a1'\n");
  write(dir / "__init__.py", "garbage = (\n");
  write(dir / ".#b2_second.py", "garbage = (\n");
  write(dir / "README", "not python");
  write(dir / "__pycache__" / "a1_first.cpython-311.py", "garbage = (\n");
  write(dir / "2026" / "c3_nested.py", "revision = 'c3'\ndown_revision = 'b2'\n");

  auto flat = read_migration_scripts({dir});
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  EXPECT_EQ(flat->size(), 2u);

  auto deep = read_migration_scripts({dir}, ReadOptions{true});
  ASSERT_TRUE(deep.ok()) << deep.error().message;
  EXPECT_EQ(deep->size(), 3u);
}

TEST(db_script_reader, FolderErrorsListEveryBrokenFile) {
  auto tmp = TempDir::create("rb-db-reader");
  ASSERT_TRUE(tmp.ok());
  auto dir = tmp->path();
  write(dir / "good.py", "revision = 'a1'\ndown_revision = None\n");
  write(dir / "bad_one.py", "down_revision = None\n");
  write(dir / "bad_two.py", "revision = 'x'\ndown_revision = make()\n");
  auto r = read_migration_scripts({dir});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad_one.py"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("bad_two.py:2:"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("good.py"), std::string::npos);

  auto missing = read_migration_scripts({dir / "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST(db_script_reader, ReadsTheFixtureProject) {
  auto r = read_migration_scripts({rb::testing::migrations_fixture_versions()});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 8u);
  for (const auto& s : *r) {
    EXPECT_TRUE(s.downgrade.found) << s.path;
    if (s.revision == "merge_heads_20260130") {
      EXPECT_EQ(s.down_revisions, (Ids{"3c4d1e2f9a0b", "5e6f7a8b9c0d"}));
    } else if (s.revision == "8b0c1d2e3f4a") {
      EXPECT_EQ(s.depends_on, Ids{"2b8e5d9c4a10"});
    } else if (s.revision == "a1f0c3e2b7d4") {
      EXPECT_EQ(s.branch_labels, Ids{"core"});
    }
  }
}

TEST(db_python_lexer, StatementsIndentationAndLines) {
  auto r = py::split_statements("a = 1\nif x:\n    b = (1,\n         2)\n\tc = 3\n# c\nd = 4; e = 5\n", "t.py");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[0].indent, 0);
  EXPECT_EQ((*r)[2].indent, 4);
  EXPECT_EQ((*r)[2].first_line, 3);
  EXPECT_EQ((*r)[2].last_line, 4);
  EXPECT_EQ((*r)[3].indent, 8);
  EXPECT_EQ((*r)[5].tokens[0].text, "e");
  EXPECT_FALSE((*r)[5].first_on_line);
}

TEST(db_python_lexer, DecodesEscapes) {
  auto r = py::split_statements(R"(x = 'a\'b\n\x41\u00e9' + r'\n' + b'z')", "t.py");
  ASSERT_TRUE(r.ok());
  const auto& t = (*r)[0].tokens;
  EXPECT_EQ(t[2].value, "a'b\nA\xc3\xa9");
  EXPECT_EQ(t[4].value, "\\n");
  EXPECT_EQ(t[4].prefix, "r");
  EXPECT_EQ(t[6].prefix, "b");
}
