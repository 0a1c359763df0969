#include "core/team_journal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::team {

namespace fs = std::filesystem;

namespace {

// How long the outbox connection waits for another process writing the journal (as the
// SQLite journal's own busy timeout).
constexpr int kOutboxBusyTimeoutMs = 5000;

constexpr const char* kOutboxSchema = R"(
CREATE TABLE IF NOT EXISTS team_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  rollback_id TEXT NOT NULL,
  kind TEXT NOT NULL,            -- 'entry' (pushed from the journal's current row) or 'event'
  item TEXT NOT NULL DEFAULT '', -- events: the DynamoDB item, fixed when queued
  pushed INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS team_outbox_pending ON team_outbox(pushed, seq);
CREATE INDEX IF NOT EXISTS team_outbox_rollback ON team_outbox(rollback_id, kind, pushed);
)";

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, long long v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  long long integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

nlohmann::json s(const std::string& v) { return {{"S", v}}; }

std::string get_s(const nlohmann::json& item, const char* name) {
  if (!item.contains(name) || !item[name].contains("S")) return "";
  return item[name]["S"].get<std::string>();
}

// "2026-11-26T10:37:24Z" -> "20261126-103724": the prefix of rollback ids (and sort keys).
std::string id_prefix_of(const std::string& iso) {
  std::string digits;
  for (char c : iso)
    if (c >= '0' && c <= '9' && digits.size() < 14) digits += c;
  if (digits.size() <= 8) return digits;
  return digits.substr(0, 8) + "-" + digits.substr(8);
}

bool newer(const JournalEntry& a, const JournalEntry& b) {
  if (a.started_at != b.started_at) return a.started_at > b.started_at;
  return a.id > b.id;
}

bool matches(const JournalEntry& e, const JournalFilter& f) {
  return (f.app.empty() || e.app == f.app) && (f.env.empty() || e.env == f.env) &&
         (f.layer.empty() || e.layer == f.layer) && (f.outcome.empty() || e.outcome == f.outcome) &&
         (f.since.empty() || e.started_at >= f.since);
}

}  // namespace

nlohmann::json entry_item(const JournalEntry& e, const std::string& pk, const std::string& sk) {
  nlohmann::json item = key(pk, sk);
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) item[name] = s(v);  // DynamoDB items carry no empty attributes here
  };
  put("id", e.id);
  put("app", e.app);
  put("env", e.env);
  put("layer", e.layer);
  put("user", e.user);
  put("host", e.host);
  put("from_ref", redact(e.from));
  put("to_ref", redact(e.to));
  put("reason", redact(e.reason));
  put("started_at", e.started_at);
  put("ended_at", e.ended_at);
  put("outcome", e.outcome);
  put("details", redact(e.details.dump()));
  return item;
}

JournalEntry entry_from_item(const nlohmann::json& item) {
  JournalEntry e;
  e.id = get_s(item, "id");
  e.app = get_s(item, "app");
  e.env = get_s(item, "env");
  e.layer = get_s(item, "layer");
  e.user = get_s(item, "user");
  e.host = get_s(item, "host");
  e.from = get_s(item, "from_ref");
  e.to = get_s(item, "to_ref");
  e.reason = get_s(item, "reason");
  e.started_at = get_s(item, "started_at");
  e.ended_at = get_s(item, "ended_at");
  e.outcome = get_s(item, "outcome");
  e.details = nlohmann::json::parse(get_s(item, "details"), nullptr, false);
  if (e.details.is_discarded() || !e.details.is_object()) e.details = nlohmann::json::object();
  return e;
}

struct TeamJournal::Impl {
  std::unique_ptr<Journal> local;
  fs::path local_path;
  std::unique_ptr<TeamStore> store;
  std::string app;
  std::vector<std::string> envs;
  std::function<void(const std::string&)> warn;
  sqlite3* db = nullptr;
  bool offline = false;       // a push failed in this process: later writes only queue
  bool warned_push = false;
  bool warned_read = false;

  ~Impl() { sqlite3_close(db); }

  Error db_error(const std::string& what) const {
    return failure(fmt::format("cannot {} in the team outbox {}: {}", what, local_path.string(), sqlite3_errmsg(db)),
                   "check that the journal file is writable and not corrupted");
  }

  void warn_once(bool& flag, const std::string& message) {
    if (flag) return;
    flag = true;
    if (warn) warn(message);
  }

  Status enqueue_entry(const std::string& id) {
    Stmt exists(db, "SELECT 1 FROM team_outbox WHERE rollback_id = ? AND kind = 'entry' AND pushed = 0");
    if (!exists.ok()) return db_error("queue a write");
    exists.bind(1, id);
    if (exists.step() == SQLITE_ROW) return {};
    Stmt st(db, "INSERT INTO team_outbox(rollback_id, kind) VALUES(?, 'entry')");
    if (!st.ok()) return db_error("queue a write");
    st.bind(1, id);
    if (st.step() != SQLITE_DONE) return db_error("queue a write");
    return {};
  }

  Status enqueue_event(const std::string& id, const std::string& message) {
    Stmt count(db, "SELECT COUNT(*) FROM team_outbox WHERE rollback_id = ? AND kind = 'event'");
    if (!count.ok()) return db_error("queue an event");
    count.bind(1, id);
    if (count.step() != SQLITE_ROW) return db_error("queue an event");
    long seq = static_cast<long>(count.integer(0)) + 1;
    std::string host = current_host();
    nlohmann::json item = key(rollback_pk(id), event_sk(seq, host));
    item["id"] = s(id);
    item["at"] = s(iso8601(std::chrono::system_clock::now()));
    item["message"] = s(redact(message).empty() ? "-" : redact(message));
    item["host"] = s(host);
    Stmt st(db, "INSERT INTO team_outbox(rollback_id, kind, item) VALUES(?, 'event', ?)");
    if (!st.ok()) return db_error("queue an event");
    st.bind(1, id).bind(2, item.dump());
    if (st.step() != SQLITE_DONE) return db_error("queue an event");
    return {};
  }

  bool has_pending(const std::string& id) {
    Stmt st(db, "SELECT 1 FROM team_outbox WHERE rollback_id = ? AND pushed = 0 LIMIT 1");
    if (!st.ok()) return false;
    st.bind(1, id);
    return st.step() == SQLITE_ROW;
  }

  bool ever_queued(const std::string& id) {
    Stmt st(db, "SELECT 1 FROM team_outbox WHERE rollback_id = ? LIMIT 1");
    if (!st.ok()) return false;
    st.bind(1, id);
    return st.step() == SQLITE_ROW;
  }

  // One put, retried on ambiguous failures; a failed condition means the table already has
  // this write or a later one, which is success for an outbox.
  Status put(const nlohmann::json& item, const aws::DynamoDbWrite& w) {
    Error last;
    for (int attempt = 1; attempt <= kPushAttempts; ++attempt) {
      auto r = store->db().put_item(store->table(), item, w);
      if (r) return {};
      last = r.take_error();
      if (is_conditional_failure(last)) return {};
      // The client already retried what it could resend; an ambiguous conditional write is ours to resend.
      if (last.tag != aws::kTagAmbiguous) break;
    }
    return last;
  }

  Status push_entry(const std::string& id) {
    RB_TRY_ASSIGN(auto e, local->get(id));
    if (!e) return {};  // nothing to push
    aws::DynamoDbWrite w;
    if (e->outcome == kOutcomeRunning) {
      // Never turn a finished rollback back into a running one.
      w.condition_expression = "attribute_not_exists(pk)";
    } else {
      // A finished outcome replaces "running" or itself, never another final outcome.
      w.condition_expression = "attribute_not_exists(pk) OR #o = :running OR #o = :mine";
      w.attribute_names = {{"#o", "outcome"}};
      w.attribute_values = {{":running", s(kOutcomeRunning)}, {":mine", s(e->outcome)}};
    }
    RB_TRY(put(entry_item(*e, env_pk(e->app, e->env), entry_sk(e->id)), w));
    RB_TRY(put(entry_item(*e, rollback_pk(e->id), kEntrySk), w));
    return {};
  }

  PushReport push(bool force) {
    PushReport report;
    if (!store || (offline && !force)) {
      report.pending = count_pending();
      return report;
    }
    struct Row {
      long long seq;
      std::string id, kind, item;
    };
    std::vector<Row> rows;
    {
      Stmt st(db, "SELECT seq, rollback_id, kind, item FROM team_outbox WHERE pushed = 0 ORDER BY seq LIMIT ?");
      if (!st.ok()) return report;
      st.bind(1, static_cast<long long>(kPushBatchLimit));
      while (st.step() == SQLITE_ROW) rows.push_back({st.integer(0), st.text(1), st.text(2), st.text(3)});
    }
    std::set<std::string> entries_done;
    for (const auto& row : rows) {
      Status st;
      if (row.kind == "entry") {
        // One push of the entry's current state covers every queued row of it.
        if (!entries_done.count(row.id)) st = push_entry(row.id);
        if (st) entries_done.insert(row.id);
      } else {
        auto item = nlohmann::json::parse(row.item, nullptr, false);
        if (!item.is_discarded()) st = put(item, aws::DynamoDbWrite{});
      }
      if (!st) {
        report.last_error = st.error().message;
        Stmt upd(db, "UPDATE team_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?");
        if (upd.ok()) {
          upd.bind(1, redact(st.error().message)).bind(2, row.seq);
          (void)upd.step();
        }
        offline = true;
        break;
      }
      Stmt done(db, "UPDATE team_outbox SET pushed = 1 WHERE seq = ?");
      if (done.ok()) {
        done.bind(1, row.seq);
        (void)done.step();
      }
      ++report.pushed;
    }
    if (report.last_error.empty()) offline = false;
    report.pending = count_pending();
    if (!report.last_error.empty())
      warn_once(warned_push,
                fmt::format("the journal could not be shared on DynamoDB table {} ({}); {} write(s) are kept in {} "
                            "and pushed by the next command",
                            store->table(), report.last_error, report.pending, local_path.string()));
    return report;
  }

  int count_pending() {
    Stmt st(db, "SELECT COUNT(*) FROM team_outbox WHERE pushed = 0");
    if (!st.ok() || st.step() != SQLITE_ROW) return -1;
    return static_cast<int>(st.integer(0));
  }

  // A rollback recorded by another machine (e.g. its lock broken here): copied into the local
  // journal so this machine's events and outcome for it can be queued like its own.
  Status ensure_local(const std::string& id) {
    RB_TRY_ASSIGN(auto mine, local->get(id));
    if (mine) return {};
    if (!store) return failure(fmt::format("rollback {} is not in the local journal", id));
    RB_TRY_ASSIGN(auto reply, store->db().get_item(store->table(), key(rollback_pk(id), kEntrySk)));
    if (!reply.contains("Item")) return failure(fmt::format("rollback {} is neither in the local journal nor on DynamoDB table {}", id, store->table()));
    RB_TRY(local->begin(entry_from_item(reply["Item"])));
    return {};
  }

  Result<std::vector<JournalEntry>> query_env(const std::string& env, const JournalFilter& f) {
    std::vector<JournalEntry> out;
    nlohmann::json input = {{"TableName", store->table()},
                            {"KeyConditionExpression", "pk = :pk AND sk >= :lo"},
                            {"ScanIndexForward", false},
                            {"ExpressionAttributeValues",
                             {{":pk", s(env_pk(app, env))},
                              {":lo", s("R#" + (f.since.empty() ? std::string() : id_prefix_of(f.since)))}}}};
    std::vector<std::string> filters;
    if (!f.outcome.empty()) {
      filters.push_back("#o = :o");
      input["ExpressionAttributeNames"]["#o"] = "outcome";
      input["ExpressionAttributeValues"][":o"] = s(f.outcome);
    }
    if (!f.layer.empty()) {
      filters.push_back("#l = :l");
      input["ExpressionAttributeNames"]["#l"] = "layer";
      input["ExpressionAttributeValues"][":l"] = s(f.layer);
    }
    if (!filters.empty()) input["FilterExpression"] = join(filters, " AND ");
    input["Limit"] = filters.empty() ? static_cast<long>(std::max<size_t>(f.limit, 1)) : kFilteredPageSize;
    for (;;) {
      RB_TRY_ASSIGN(auto page, store->db().call("Query", input));
      for (const auto& item : page.value("Items", nlohmann::json::array())) {
        JournalEntry e = entry_from_item(item);
        if (matches(e, f)) out.push_back(std::move(e));
        if (out.size() >= f.limit) return out;
      }
      if (!page.contains("LastEvaluatedKey")) return out;
      input["ExclusiveStartKey"] = page["LastEvaluatedKey"];
    }
  }
};

TeamJournal::TeamJournal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TeamJournal::~TeamJournal() = default;

Result<std::unique_ptr<TeamJournal>> TeamJournal::open(std::unique_ptr<Journal> local, const fs::path& local_path,
                                                       std::unique_ptr<TeamStore> store, std::string app,
                                                       std::vector<std::string> envs,
                                                       std::function<void(const std::string&)> warn) {
  auto impl = std::make_unique<Impl>();
  impl->local = std::move(local);
  impl->local_path = local_path;
  impl->store = std::move(store);
  impl->app = std::move(app);
  impl->envs = std::move(envs);
  impl->warn = std::move(warn);
  if (sqlite3_open_v2(local_path.c_str(), &impl->db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    return failure(fmt::format("cannot open the team outbox in {}: {}", local_path.string(),
                               impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  sqlite3_busy_timeout(impl->db, kOutboxBusyTimeoutMs);
  char* err = nullptr;
  if (sqlite3_exec(impl->db, kOutboxSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return failure(fmt::format("cannot initialise the team outbox in {}: {}", local_path.string(), msg));
  }
  auto journal = std::unique_ptr<TeamJournal>(new TeamJournal(std::move(impl)));
  // What earlier commands could not push goes now.
  (void)journal->impl_->push(true);
  return journal;
}

Result<std::string> TeamJournal::begin(JournalEntry entry) {
  RB_TRY_ASSIGN(std::string id, impl_->local->begin(std::move(entry)));
  RB_TRY(impl_->enqueue_entry(id));
  (void)impl_->push(false);
  return id;
}

Status TeamJournal::event(const std::string& id, const std::string& message) {
  RB_TRY(impl_->ensure_local(id));
  RB_TRY(impl_->local->event(id, message));
  RB_TRY(impl_->enqueue_event(id, message));
  (void)impl_->push(false);
  return {};
}

// Checkpoints are kept in the local journal at once (a process killed later still shows them)
// and reach the team table with the entry's next push.
Status TeamJournal::update_details(const std::string& id, const nlohmann::json& details) {
  RB_TRY(impl_->ensure_local(id));
  RB_TRY(impl_->local->update_details(id, details));
  return impl_->enqueue_entry(id);
}

Status TeamJournal::step(const std::string& id, const std::string& message, const nlohmann::json& details) {
  RB_TRY(impl_->ensure_local(id));
  RB_TRY(impl_->local->step(id, message, details));
  RB_TRY(impl_->enqueue_entry(id));
  RB_TRY(impl_->enqueue_event(id, message));
  (void)impl_->push(false);
  return {};
}

Status TeamJournal::finish(const std::string& id, const std::string& outcome, const nlohmann::json& details) {
  RB_TRY(impl_->ensure_local(id));
  RB_TRY(impl_->local->finish(id, outcome, details));
  RB_TRY(impl_->enqueue_entry(id));
  // The outcome matters most: try again even after an earlier failure in this command.
  (void)impl_->push(true);
  return {};
}

Result<std::optional<JournalEntry>> TeamJournal::get(const std::string& id) {
  RB_TRY_ASSIGN(auto mine, impl_->local->get(id));
  if (mine && impl_->has_pending(id)) {
    mine->unshared = true;
    return mine;
  }
  if (impl_->store) {
    auto reply = impl_->store->db().get_item(impl_->store->table(), key(rollback_pk(id), kEntrySk));
    if (reply && reply->contains("Item")) return std::optional<JournalEntry>(entry_from_item((*reply)["Item"]));
    if (!reply)
      impl_->warn_once(impl_->warned_read, fmt::format("the team table {} could not be read ({}): showing this "
                                                       "machine's journal only",
                                                       impl_->store->table(), reply.error().message));
  }
  if (mine) mine->unshared = true;
  return mine;
}

Result<std::vector<JournalEntry>> TeamJournal::list(const JournalFilter& filter) {
  RB_TRY_ASSIGN(auto local_entries, impl_->local->list(filter));
  std::map<std::string, JournalEntry> merged;
  bool remote_ok = false;
  if (impl_->store && (filter.app.empty() || filter.app == impl_->app)) {
    std::vector<std::string> envs = filter.env.empty() ? impl_->envs : std::vector<std::string>{filter.env};
    remote_ok = true;
    for (const auto& env : envs) {
      auto got = impl_->query_env(env, filter);
      if (!got) {
        remote_ok = false;
        impl_->warn_once(impl_->warned_read, fmt::format("the team table {} could not be read ({}): showing this "
                                                         "machine's journal only",
                                                         impl_->store->table(), got.error().message));
        break;
      }
      for (auto& e : *got) merged[e.id] = std::move(e);
    }
  }
  for (auto& e : local_entries) {
    bool pending = impl_->has_pending(e.id);
    if (pending || !merged.count(e.id)) {
      // Pending: ours is newer. Absent from the table: never queued (recorded before team mode)
      // or beyond what was read; either way it is this machine's record.
      e.unshared = pending || !impl_->ever_queued(e.id) || !remote_ok;
      if (!merged.count(e.id) || pending) merged[e.id] = e;
    }
  }
  std::vector<JournalEntry> out;
  for (auto& [id, e] : merged) out.push_back(std::move(e));
  std::sort(out.begin(), out.end(), newer);
  if (out.size() > filter.limit) out.resize(filter.limit);
  return out;
}

Result<std::vector<JournalEvent>> TeamJournal::events(const std::string& id) {
  if (impl_->store && !impl_->has_pending(id)) {
    nlohmann::json input = {{"TableName", impl_->store->table()},
                            {"KeyConditionExpression", "pk = :pk AND begins_with(sk, :e)"},
                            {"ExpressionAttributeValues", {{":pk", s(rollback_pk(id))}, {":e", s("E#")}}}};
    std::vector<std::pair<std::string, JournalEvent>> found;
    bool ok = true;
    for (;;) {
      auto page = impl_->store->db().call("Query", input);
      if (!page) {
        ok = false;
        break;
      }
      for (const auto& item : page->value("Items", nlohmann::json::array()))
        found.push_back({get_s(item, "sk"), JournalEvent{get_s(item, "at"), get_s(item, "message")}});
      if (!page->contains("LastEvaluatedKey")) break;
      input["ExclusiveStartKey"] = (*page)["LastEvaluatedKey"];
    }
    if (ok && !found.empty()) {
      std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.second.at != b.second.at ? a.second.at < b.second.at : a.first < b.first;
      });
      std::vector<JournalEvent> out;
      for (auto& f : found) out.push_back(std::move(f.second));
      return out;
    }
  }
  return impl_->local->events(id);
}

std::string TeamJournal::location() const {
  if (!impl_->store) return fmt::format("{} (team table unreachable: writes queued)", impl_->local_path.string());
  return fmt::format("DynamoDB table {} (outbox {})", impl_->store->table(), impl_->local_path.string());
}

PushReport TeamJournal::push(bool force) { return impl_->push(force); }

Result<int> TeamJournal::pending_count() {
  int n = impl_->count_pending();
  if (n < 0) return impl_->db_error("count queued writes");
  return n;
}

}  // namespace rb::team
