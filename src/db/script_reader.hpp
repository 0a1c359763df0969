// Reading Alembic migration scripts natively, without running Python: the module-level
// revision identifiers, the docstring's first paragraph, and the source of upgrade() and
// downgrade() for the risk analysis.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb::db {

// The source of a module-level function.
struct FunctionSource {
  bool found = false;
  int def_line = 0;   // the line of "def downgrade(" (1-based)
  int body_line = 0;  // the line `body` starts on: the line of the header's closing ':'
  // The text after the header's ':' up to the end of the body's last statement: everything
  // more indented than the def, or the rest of the line for "def downgrade(): pass".
  std::string body;
};

struct MigrationScript {
  std::string revision;
  std::vector<std::string> down_revisions;  // empty: a base; two or more: a merge point
  std::vector<std::string> branch_labels;
  std::vector<std::string> depends_on;      // revision ids or branch labels, as written
  // Alembic's `doc`: the module docstring, stripped, up to the first blank line.
  std::string doc;
  std::filesystem::path path;  // the file (or the name given to parse_migration_script)
  int revision_line = 0;
  int down_revision_line = 0;
  FunctionSource upgrade;
  FunctionSource downgrade;
  // Every module-level function name (upgrade and downgrade included), so the risk analysis can
  // tell when downgrade() calls code of the script that it does not read.
  std::vector<std::string> functions;
};

// Parses one script. Reads the module-level assignments of `revision` (a string, required),
// `down_revision` (a string, None, or a tuple/list of strings, required), and the optional
// `branch_labels` and `depends_on` (None, a string or a sequence), with or without type
// annotations; the last assignment wins, as in Python. Assignments inside functions, classes
// or blocks are ignored, and so is the docstring's informational "Revises:" line.
// Errors name the file and line ("versions/x.py:14: down_revision is not ...").
Result<MigrationScript> parse_migration_script(std::string_view source, const std::filesystem::path& path);

// Whether Alembic 1.8 loads a file of this name as a migration: it ends in ".py" and does
// not start with "__init__" or ".#" (an Emacs lock file).
bool is_migration_filename(std::string_view filename);

struct ReadOptions {
  // Also read subfolders (Alembic >= 1.10's `recursive_version_locations`); __pycache__ is
  // skipped. Off by default, like Alembic.
  bool recursive = false;
};

// Reads every migration script in the folders, in the order the folders are given and, within
// a folder, in directory order (readdir, which is what os.listdir returns to Alembic 1.8).
// Alembic breaks ties in its plans by this load order, so keeping it keeps plans identical.
// Every unreadable or invalid script is reported, in one Error naming each file.
Result<std::vector<MigrationScript>> read_migration_scripts(const std::vector<std::filesystem::path>& folders,
                                                            const ReadOptions& options = {});

}  // namespace rb::db
