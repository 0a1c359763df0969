// The runbook's "Fix forward", as a file to review: a new Alembic migration whose upgrade()
// reverses, as far as the scripts' source tells, what the upgrade() of the migrations a
// downgrade would undo did. Reads the source (python_lexer.hpp); nothing is executed. What
// cannot be derived statically (raw SQL, data changes, dropped tables or columns whose
// definition the upgrade does not hold, non-literal names) is a TODO in the file and the output.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "db/script_reader.hpp"
#include "git/git.hpp"
#include "util/result.hpp"

namespace rb::db {

// One statement of the generated upgrade(): reverses one call of a bad migration's upgrade().
struct ReverseOp {
  std::string revision;           // the migration whose upgrade() it reverses
  int line = 0;                   // the call's line in that script
  std::string original;           // the call, on one line, shortened
  std::vector<std::string> code;  // Python lines, indented relative to upgrade()'s body
  std::string what;               // for people: "drops table settings"
  bool destroys_data = false;     // drops a table or a column (and the rows written since)
  std::string schema, table, column;
};

// A call (or statement) of a bad migration's upgrade() that is not reversed.
struct FixForwardTodo {
  std::string revision;
  int line = 0;
  std::string original;  // the statement, on one line, shortened
  std::string why;
};

struct ReversedUpgrade {
  std::vector<ReverseOp> ops;  // in the order they must run: the last call of upgrade() first
  std::vector<FixForwardTodo> todos;
};

// Reverses `script`'s upgrade(): create_table -> drop_table, add_column -> drop_column,
// rename_table / alter_column(new_column_name=) -> renamed back, create_index -> drop_index,
// create_{unique,check,foreign_key,primary_key} -> drop_constraint, in op.* and batch_op form.
// Everything else is a TODO. Errors only when the body is not valid Python.
Result<ReversedUpgrade> reverse_upgrade(const MigrationScript& script);

struct FixForward {
  std::string revision;                     // the new revision id
  std::vector<std::string> down_revisions;  // the current head(s)
  std::vector<std::string> reversed;        // the migrations reversed, newest first
  std::vector<ReverseOp> ops;
  std::vector<FixForwardTodo> todos;
  std::string filename;  // "<revision>_fix_forward_<slug>.py"
  std::string source;    // the migration file
  bool destroys_data() const;
  nlohmann::json to_json() const;
};

// The fix forward for `scripts` (newest first: the order a downgrade undoes them), on top of
// `heads`. `created` is the "Create Date" written in the header.
Result<FixForward> make_fix_forward(const std::vector<const MigrationScript*>& scripts,
                                    const std::vector<std::string>& heads, const std::string& revision,
                                    const std::string& created);

struct FixForwardCommit {
  std::string branch;               // rollback/fix-forward-<revision>, local only
  std::string sha;                  // the commit on it
  std::string base_sha;             // the checkout's HEAD it was made on
  std::filesystem::path path;       // the file, relative to the repository's top
};

// Commits `ff` into `versions_dir` on a new local branch made from the checkout's HEAD, in a
// scratch worktree: the user's checkout, index and uncommitted changes stay as they were, and
// nothing is pushed. Refused when `versions_dir` is not inside the git repository of `git`;
// a Usage error when the branch exists; Failed with git's stderr otherwise.
Result<FixForwardCommit> commit_fix_forward(git::Git& git, const std::filesystem::path& versions_dir,
                                            const FixForward& ff);

// A new revision id as Alembic makes them (12 lowercase hex digits, `uuid4().hex[-12:]`).
std::string new_revision_id();

// `value` as a double-quoted Python string literal (backslashes, quotes and control characters
// escaped).
std::string python_string(const std::string& value);

}  // namespace rb::db
