// The sample Alembic project in tests/fixtures/migrations (its README documents the graph),
// read once per test binary.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "db/graph.hpp"
#include "db/script_reader.hpp"

namespace rb::testing {

inline std::filesystem::path migrations_fixture_versions() {
  return std::filesystem::path(ROLLBACK_SOURCE_DIR) / "tests/fixtures/migrations/alembic/versions";
}

inline const db::RevisionGraph& migrations_fixture_graph() {
  static const db::RevisionGraph graph = [] {
    auto scripts = db::read_migration_scripts({migrations_fixture_versions()});
    EXPECT_TRUE(scripts.ok()) << scripts.error().message;
    auto g = db::RevisionGraph::build(std::move(*scripts));
    EXPECT_TRUE(g.ok()) << g.error().message;
    return std::move(*g);
  }();
  return graph;
}

}  // namespace rb::testing
