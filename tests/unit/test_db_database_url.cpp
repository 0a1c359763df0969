#include <gtest/gtest.h>

#include "db/database.hpp"
#include "db/database_url.hpp"
#include "util/redact.hpp"

using namespace rb;
using namespace rb::db;

namespace {

DatabaseUrl parse_ok(const std::string& text) {
  auto r = DatabaseUrl::parse(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : DatabaseUrl{};
}

}  // namespace

TEST(db_database_url, PostgresqlWithDriverPortAndQuery) {
  auto u = parse_ok("postgresql+psycopg2://app_user:s3cret-pw@db.internal:6432/connect2?sslmode=require&application_name=api");
  EXPECT_EQ(u.dialect, "postgresql");
  EXPECT_EQ(u.driver, "psycopg2");
  EXPECT_EQ(u.user, "app_user");
  EXPECT_EQ(u.password, "s3cret-pw");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.host, "db.internal");
  EXPECT_EQ(u.port, 6432);
  EXPECT_EQ(u.database, "connect2");
  EXPECT_EQ(u.query_value("sslmode"), "require");
  EXPECT_EQ(u.redacted(), "postgresql+psycopg2://app_user:***@db.internal:6432/connect2?sslmode=require&application_name=api");
}

TEST(db_database_url, PercentDecodesUserAndPassword) {
  auto u = parse_ok("postgresql://us%40er:p%40ss%3Aw%2Frd%25@localhost/db");
  EXPECT_EQ(u.user, "us@er");
  EXPECT_EQ(u.password, "p@ss:w/rd%");
  EXPECT_EQ(u.redacted(), "postgresql://us%40er:***@localhost/db");
}

TEST(db_database_url, SocketFolderInQueryAndNoHost) {
  auto u = parse_ok("postgresql://app@/appdb?host=/var/run/postgresql&port=5433");
  EXPECT_EQ(u.host, "");
  EXPECT_EQ(u.database, "appdb");
  EXPECT_FALSE(u.has_password);
  auto params = libpq_params(u);
  std::vector<std::pair<std::string, std::string>> expected{
      {"user", "app"}, {"dbname", "appdb"}, {"host", "/var/run/postgresql"}, {"port", "5433"}};
  EXPECT_EQ(params, expected);
  EXPECT_EQ(libpq_conninfo(params), "user='app' dbname='appdb' host='/var/run/postgresql' port='5433'");
  EXPECT_EQ(u.redacted(), "postgresql://app@/appdb?host=/var/run/postgresql&port=5433");
}

TEST(db_database_url, ConninfoQuotesAndNeverCarriesThePassword) {
  auto u = parse_ok("postgresql://o%27brien:pw%27x%5C@h/my%20db");
  auto conninfo = libpq_conninfo(libpq_params(u));
  EXPECT_EQ(conninfo, "host='h' user='o\\'brien' dbname='my%20db'");  // SQLAlchemy 1.4 leaves the database as written
  EXPECT_EQ(conninfo.find("pw"), std::string::npos);
}

TEST(db_database_url, PostgresSchemeAndIpv6) {
  auto u = parse_ok("postgres://u:longpassword@[::1]:5432/d");
  EXPECT_EQ(u.dialect, "postgresql");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.redacted(), "postgresql://u:***@[::1]:5432/d");
}

TEST(db_database_url, SqlitePaths) {
  auto rel = parse_ok("sqlite:///relative/app.db");
  EXPECT_TRUE(rel.is_sqlite());
  EXPECT_EQ(rel.database, "relative/app.db");
  EXPECT_EQ(rel.sqlite_file("/srv/app"), std::filesystem::path("/srv/app/relative/app.db"));
  auto abs = parse_ok("sqlite:////var/lib/app/app.db");
  EXPECT_EQ(abs.database, "/var/lib/app/app.db");
  EXPECT_EQ(abs.sqlite_file("/srv/app"), std::filesystem::path("/var/lib/app/app.db"));
  EXPECT_TRUE(parse_ok("sqlite://").is_sqlite_memory());
  EXPECT_TRUE(parse_ok("sqlite:///:memory:").is_sqlite_memory());
  EXPECT_EQ(parse_ok("sqlite+pysqlite:///x.db").driver, "pysqlite");
  EXPECT_EQ(abs.redacted(), "sqlite:////var/lib/app/app.db");
}

TEST(db_database_url, PasswordIsRegisteredAsASecret) {
  auto u = parse_ok("postgresql://app:Registered-Secret-42@db/x");
  EXPECT_EQ(redact("connecting with Registered-Secret-42 failed"), "connecting with **** failed");
  auto q = parse_ok("postgresql://app@db/x?password=QuerySecret99");
  EXPECT_EQ(redact("QuerySecret99"), "****");
  EXPECT_EQ(q.redacted(), "postgresql://app@db/x?password=***");
  EXPECT_EQ(q.redacted().find("QuerySecret99"), std::string::npos);
}

TEST(db_database_url, ErrorsNeverContainThePassword) {
  const std::string pw = "Unencoded@Pass";
  for (const std::string& bad : {"postgresql://u:" + pw + "@host/db", "postgresql://u:" + pw + "x@host:notaport/db",
                                 std::string("no scheme at all ") + pw}) {
    auto r = DatabaseUrl::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
    EXPECT_EQ(r.error().message.find("Pass"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().hint.find("Pass"), std::string::npos) << r.error().hint;
  }
}

TEST(db_database_url, OpeningUnsupportedOrMissingDatabasesSaysWhy) {
  auto mysql = open_database(parse_ok("mysql+pymysql://u:MysqlSecret1@h/db"), "/");
  ASSERT_FALSE(mysql.ok());
  EXPECT_NE(mysql.error().message.find("mysql"), std::string::npos);
  EXPECT_EQ(mysql.error().message.find("MysqlSecret1"), std::string::npos);
  auto memory = open_database(parse_ok("sqlite://"), "/");
  ASSERT_FALSE(memory.ok());
  auto missing = open_database(parse_ok("sqlite:///does/not/exist.db"), "/tmp");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/tmp/does/not/exist.db"), std::string::npos);
}

TEST(db_database_url, PostgresConnectionErrorsDoNotContainThePassword) {
  // Nothing listens on this socket folder: libpq fails at once, and the error must stay clean.
  auto u = parse_ok("postgresql://app:ConnSecret-777@/appdb?host=/nonexistent-rollback-socket-dir&connect_timeout=2");
  auto db = open_database(u, "/");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("cannot connect"), std::string::npos) << db.error().message;
  EXPECT_EQ(db.error().message.find("ConnSecret-777"), std::string::npos) << db.error().message;
  EXPECT_NE(db.error().message.find("postgresql://app:***@/appdb"), std::string::npos) << db.error().message;
}
