#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>

#include "core/journal.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/json.hpp"
#include "util/utf8.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb {

namespace fs = std::filesystem;

namespace {

// Test-only fault: when set to 1, the journal turns read-only (SQLite's query_only) just before
// recording an outcome, as a full disk or a revoked permission would make it fail mid-run.
constexpr const char* kFailFinishEnv = "ROLLBACK_TEST_JOURNAL_FAIL_FINISH";

// How long a writer waits for another process holding the journal (SQLite busy timeout).
constexpr int kBusyTimeoutMs = 5000;

// One transaction: a reader opening the journal while the first run creates it sees either no
// table or every table, never the rollbacks without their events.
constexpr const char* kSchema = R"(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS rollbacks (
  id TEXT PRIMARY KEY,
  app TEXT NOT NULL, env TEXT NOT NULL, layer TEXT NOT NULL,
  user TEXT NOT NULL, host TEXT NOT NULL,
  from_ref TEXT NOT NULL, to_ref TEXT NOT NULL, reason TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS rollbacks_env ON rollbacks(app, env, started_at);
CREATE TABLE IF NOT EXISTS events (
  rollback_id TEXT NOT NULL REFERENCES rollbacks(id),
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL, message TEXT NOT NULL
);
COMMIT;
)";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  // Text is stored as valid UTF-8 (invalid bytes become U+FFFD), whatever its source.
  Statement& bind(int i, const std::string& v) {
    std::string text = to_valid_utf8(v);
    sqlite3_bind_text(stmt_, i, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, long long v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    // A journal written by something else may hold any bytes: read them as valid UTF-8.
    return p ? to_valid_utf8(std::string_view(reinterpret_cast<const char*>(p),
                                              static_cast<size_t>(sqlite3_column_bytes(stmt_, col))))
             : "";
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::string now_iso() { return iso8601(std::chrono::system_clock::now()); }

class SqliteJournal final : public Journal {
 public:
  SqliteJournal(sqlite3* db, fs::path path) : db_(db), path_(std::move(path)) {}
  ~SqliteJournal() override { sqlite3_close(db_); }

  Result<std::string> begin(JournalEntry e) override {
    if (e.id.empty()) e.id = new_rollback_id();
    if (e.user.empty()) e.user = current_user();
    if (e.host.empty()) e.host = current_host();
    if (e.started_at.empty()) e.started_at = now_iso();
    Statement st(db_,
                 "INSERT INTO rollbacks(id, app, env, layer, user, host, from_ref, to_ref, reason, started_at, "
                 "outcome, details) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st.ok()) return db_error("record the rollback");
    st.bind(1, e.id).bind(2, e.app).bind(3, e.env).bind(4, e.layer).bind(5, e.user).bind(6, e.host);
    st.bind(7, redact(e.from)).bind(8, redact(e.to)).bind(9, redact(e.reason)).bind(10, e.started_at);
    st.bind(11, e.outcome).bind(12, redact(dump_json(e.details)));
    if (st.step() != SQLITE_DONE) return db_error("record the rollback");
    return e.id;
  }

  Status event(const std::string& id, const std::string& message) override {
    Statement st(db_, "INSERT INTO events(rollback_id, at, message) VALUES(?,?,?)");
    if (!st.ok()) return db_error("record an event");
    st.bind(1, id).bind(2, now_iso()).bind(3, redact(message));
    if (st.step() != SQLITE_DONE) return db_error("record an event");
    return {};
  }

  Status finish(const std::string& id, const std::string& outcome, const nlohmann::json& details) override {
    RB_TRY_ASSIGN(auto existing, get(id));
    if (!existing) return failure(fmt::format("journal {} has no rollback {}", path_.string(), id));
    nlohmann::json merged = existing->details.is_object() ? existing->details : nlohmann::json::object();
    if (const char* f = getenv(kFailFinishEnv); f && std::string_view(f) == "1")
      sqlite3_exec(db_, "PRAGMA query_only = 1", nullptr, nullptr, nullptr);
    if (details.is_object()) merged.update(details);
    Statement st(db_, "UPDATE rollbacks SET outcome = ?, ended_at = ?, details = ? WHERE id = ?");
    if (!st.ok()) return db_error("record the outcome");
    st.bind(1, outcome).bind(2, now_iso()).bind(3, redact(dump_json(merged))).bind(4, id);
    if (st.step() != SQLITE_DONE) return db_error("record the outcome");
    return {};
  }

  Status update_details(const std::string& id, const nlohmann::json& details) override {
    RB_TRY_ASSIGN(auto existing, get(id));
    if (!existing) return failure(fmt::format("journal {} has no rollback {}", path_.string(), id));
    nlohmann::json merged = existing->details.is_object() ? existing->details : nlohmann::json::object();
    if (details.is_object()) merged.update(details);
    Statement st(db_, "UPDATE rollbacks SET details = ? WHERE id = ?");
    if (!st.ok()) return db_error("record progress");
    st.bind(1, redact(merged.dump())).bind(2, id);
    if (st.step() != SQLITE_DONE) return db_error("record progress");
    return {};
  }

  Status step(const std::string& id, const std::string& message, const nlohmann::json& details) override {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return db_error("record a step");
    Status st = update_details(id, details);
    if (st) st = event(id, message);
    if (st && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) return {};
    if (st) st = db_error("record a step");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  Result<std::optional<JournalEntry>> get(const std::string& id) override {
    Statement st(db_, (std::string(kSelect) + " WHERE id = ?").c_str());
    if (!st.ok()) return db_error("read the journal");
    st.bind(1, id);
    int rc = st.step();
    if (rc == SQLITE_ROW) return std::optional<JournalEntry>(row(st));
    if (rc == SQLITE_DONE) return std::optional<JournalEntry>();
    return db_error("read the journal");
  }

  Result<std::vector<JournalEntry>> list(const JournalFilter& f) override {
    std::string sql = std::string(kSelect) +
                      " WHERE (?1 = '' OR app = ?1) AND (?2 = '' OR env = ?2) AND (?3 = '' OR layer = ?3)"
                      " AND (?4 = '' OR outcome = ?4) AND (?6 = '' OR started_at >= ?6)"
                      " ORDER BY started_at DESC, rowid DESC LIMIT ?5";
    Statement st(db_, sql.c_str());
    if (!st.ok()) return db_error("read the journal");
    st.bind(1, f.app).bind(2, f.env).bind(3, f.layer).bind(4, f.outcome).bind(5, static_cast<long long>(f.limit));
    st.bind(6, f.since);
    std::vector<JournalEntry> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(row(st));
    if (rc != SQLITE_DONE) return db_error("read the journal");
    return out;
  }

  Result<std::vector<JournalEvent>> events(const std::string& id) override {
    Statement st(db_, "SELECT at, message FROM events WHERE rollback_id = ? ORDER BY seq");
    if (!st.ok()) return db_error("read the journal");
    st.bind(1, id);
    std::vector<JournalEvent> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), st.text(1)});
    if (rc != SQLITE_DONE) return db_error("read the journal");
    return out;
  }

  std::string location() const override { return path_.string(); }

 private:
  static constexpr const char* kSelect =
      "SELECT id, app, env, layer, user, host, from_ref, to_ref, reason, started_at, ended_at, outcome, details "
      "FROM rollbacks";

  static JournalEntry row(const Statement& st) {
    JournalEntry e;
    e.id = st.text(0);
    e.app = st.text(1);
    e.env = st.text(2);
    e.layer = st.text(3);
    e.user = st.text(4);
    e.host = st.text(5);
    e.from = st.text(6);
    e.to = st.text(7);
    e.reason = st.text(8);
    e.started_at = st.text(9);
    e.ended_at = st.text(10);
    e.outcome = st.text(11);
    e.details = nlohmann::json::parse(st.text(12), nullptr, false);
    if (e.details.is_discarded()) e.details = nlohmann::json::object();
    return e;
  }

  Error db_error(const std::string& what) const {
    return failure(fmt::format("cannot {} in the journal {}: {}", what, path_.string(), sqlite3_errmsg(db_)),
                   "check that the file is writable and not corrupted (sqlite3 FILE 'PRAGMA integrity_check')");
  }

  sqlite3* db_;
  fs::path path_;
};

// Whether the journal's tables exist. A database that cannot be read at all answers true, so
// the error comes from the query that needs it, with its own message.
bool has_schema(sqlite3* db) {
  Statement st(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rollbacks'");
  if (!st.ok() || st.step() != SQLITE_ROW) return true;
  return st.text(0) != "0";
}

}  // namespace

Result<std::unique_ptr<Journal>> open_sqlite_journal(const fs::path& path) {
  // The folder must be the user's own (SQLite creates its -journal files next to the database),
  // and the file is opened without following a link planted at its path.
  RB_TRY(ensure_state_dir(path.has_parent_path() ? path.parent_path() : fs::current_path()));
  // Create the file ourselves with 0600 so SQLite (and its journal files, which copy the
  // database file's mode) never exist with wider permissions.
  RB_TRY_ASSIGN(int fd, open_state_file(path));
  fchmod(fd, 0600);
  close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return failure(fmt::format("cannot open the journal {}: {}", path.string(), msg));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return failure(fmt::format("cannot initialise the journal {}: {}", path.string(), msg),
                   "if the file is not a rollback journal, point journal.path elsewhere");
  }
  return std::unique_ptr<Journal>(new SqliteJournal(db, path));
}

Result<std::unique_ptr<Journal>> open_sqlite_journal_read_only(const fs::path& path) {
  std::error_code ec;
  // Reading follows no link either: a link planted at the journal's path is refused, as when
  // writing (open_state_file).
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    Error e = refusal(fmt::format("{} is a symbolic link: rollback never follows a link where it keeps state",
                                  path.string()),
                      fmt::format("look at where it points (`ls -l {0}`), then remove the link (`rm {0}`)", path.string()));
    e.tag = "unsafe-file";
    return e;
  }
  sqlite3* db = nullptr;
  if (fs::exists(path, ec)) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return failure(fmt::format("cannot open the journal {}: {}", path.string(), msg),
                     "check that the file exists and is readable");
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    if (has_schema(db)) return std::unique_ptr<Journal>(new SqliteJournal(db, path));
    // The first run has only just created it (the file, not yet its tables): nothing recorded yet.
    sqlite3_close(db);
    db = nullptr;
  }
  // No journal yet: an empty one in memory, so readers say "nothing recorded" and no file or
  // folder is created by a command that only reads.
  char* err = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_free(err);
    sqlite3_close(db);
    return failure(fmt::format("cannot prepare an empty journal: {}", msg));
  }
  return std::unique_ptr<Journal>(new SqliteJournal(db, path));
}

std::string new_rollback_id() {
  return fmt::format("{}-{}", format_utc(std::chrono::system_clock::now(), "%Y%m%d-%H%M%S"), random_hex(2));
}

std::string current_user() {
  if (const char* u = getenv("ROLLBACK_USER"); u && *u) return u;
  if (const char* u = getenv("USER"); u && *u) return u;
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return fmt::format("uid{}", getuid());
}

std::string current_host() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

nlohmann::json entry_to_json(const JournalEntry& e) {
  nlohmann::json j = {{"id", e.id},         {"app", e.app},         {"env", e.env},       {"layer", e.layer},
          {"user", e.user},     {"host", e.host},       {"from", e.from},     {"to", e.to},
          {"reason", e.reason}, {"started_at", e.started_at}, {"ended_at", e.ended_at},
          {"outcome", e.outcome}, {"details", e.details}};
  if (e.unshared) j["shared"] = false;  // team mode: not yet on the team table
  return j;
}

}  // namespace rb
