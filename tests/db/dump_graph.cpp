// rollback_db_dump: reads Alembic migration scripts the way rollback does and prints what
// `alembic history` prints, for comparisons with Alembic and for benchmarks
// (tests/db/gen_migrations.py writes large projects).
//
//   rollback_db_dump [--recursive] [--heads] [--repeat N] <versions folder>...
//
// --heads prints the heads instead of the history; --repeat N reads and builds the graph N
// times and reports the time per run on stderr. Exit code 1 with the error on failure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "db/graph.hpp"
#include "db/script_reader.hpp"

int main(int argc, char** argv) {
  rb::db::ReadOptions options;
  bool heads = false;
  int repeat = 1;
  std::vector<std::filesystem::path> folders;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--recursive")) options.recursive = true;
    else if (!std::strcmp(argv[i], "--heads")) heads = true;
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else folders.emplace_back(argv[i]);
  }
  if (folders.empty()) {
    std::fprintf(stderr, "usage: rollback_db_dump [--recursive] [--heads] [--repeat N] <versions folder>...\n");
    return 2;
  }
  std::vector<std::string> lines;
  auto start = std::chrono::steady_clock::now();
  for (int run = 0; run < repeat; ++run) {
    auto scripts = rb::db::read_migration_scripts(folders, options);
    if (!scripts) {
      std::fprintf(stderr, "rollback_db_dump: %s\n", scripts.error().message.c_str());
      return 1;
    }
    auto graph = rb::db::RevisionGraph::build(std::move(*scripts));
    if (!graph) {
      std::fprintf(stderr, "rollback_db_dump: %s\n", graph.error().message.c_str());
      return 1;
    }
    lines = heads ? graph->heads() : graph->history();
  }
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  if (repeat > 1) std::fprintf(stderr, "%d runs, %.2f ms per run (read + build + history)\n", repeat, elapsed / repeat);
  return 0;
}
