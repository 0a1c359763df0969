#include "util/fs.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

namespace rb {

namespace fs = std::filesystem;

namespace {

std::string size_text(size_t bytes) {
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

Result<std::string> read_file(const fs::path& path, size_t max_bytes) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return failure(fmt::format("cannot read {}: {}", path.string(), strerror(errno)));
  if (S_ISDIR(st.st_mode))
    return failure(fmt::format("cannot read {}: it is a directory", path.string()), "give the path of a file in it");
  if (!S_ISREG(st.st_mode))
    return failure(fmt::format("cannot read {}: it is not a regular file (a device, FIFO or socket)", path.string()),
                   "give the path of an ordinary file");
  // O_NONBLOCK: should the path have been swapped for a FIFO since stat(), open() does not hang.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return failure(fmt::format("cannot read {}: {}", path.string(), strerror(errno)));
  auto too_large = [&] {
    return failure(fmt::format("cannot read {}: it is larger than {}", path.string(), size_text(max_bytes)),
                   "check that the path names the right file");
  };
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return failure(fmt::format("cannot read {}: it is not a regular file", path.string()));
  }
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) {
    close(fd);
    return too_large();
  }
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return failure(fmt::format("cannot read {}: {}", path.string(), strerror(e)));
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {  // the file grew while being read
      close(fd);
      return too_large();
    }
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

Status ensure_private_dir(const fs::path& path) {
  if (path.empty()) return {};
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {};
  if (path.has_parent_path() && path.parent_path() != path) RB_TRY(ensure_private_dir(path.parent_path()));
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return failure(fmt::format("cannot create folder {}: {}", path.string(), strerror(errno)));
  return {};
}

namespace {

Error unsafe(std::string message, std::string hint, const char* tag) {
  Error e = refusal(std::move(message), std::move(hint));
  e.tag = tag;
  return e;
}

std::string mode_text(mode_t m) { return fmt::format("{:04o}", m & 07777); }

}  // namespace

Status ensure_state_dir(const fs::path& path_arg) {
  if (path_arg.empty()) return {};
  const fs::path path = fs::absolute(path_arg).lexically_normal();
  const uid_t me = geteuid();
  // The folders above, before anything is created in them: a folder another user owns, or may
  // write to without the sticky bit, lets them rename ours away and plant their own.
  for (fs::path up = path.parent_path(); !up.empty(); up = up.parent_path()) {
    struct stat ust {};
    if (stat(up.c_str(), &ust) == 0) {
      bool owner_ok = ust.st_uid == me || ust.st_uid == 0;
      bool write_ok = !(ust.st_mode & (S_IWGRP | S_IWOTH)) || (ust.st_mode & S_ISVTX);
      if (!owner_ok || !write_ok)
        return unsafe(fmt::format("state folder {} is inside {}, which {} (mode {}, uid {}): another user could "
                                  "replace the state folder",
                                  path.string(), up.string(),
                                  !owner_ok ? "belongs to another user" : "others may write to without the sticky bit",
                                  mode_text(ust.st_mode), ust.st_uid),
                      "keep the state under a folder of your own: set XDG_STATE_HOME (or HOME) to one",
                      "unsafe-dir");
    } else if (errno != ENOENT) {
      return failure(fmt::format("cannot inspect folder {}: {}", up.string(), strerror(errno)));
    }
    if (up == up.root_path()) break;
  }
  RB_TRY(ensure_private_dir(path));
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0)
    return failure(fmt::format("cannot inspect folder {}: {}", path.string(), strerror(errno)));
  if (S_ISLNK(st.st_mode))
    return unsafe(fmt::format("state folder {} is a symbolic link: rollback keeps its journal and locks only in a "
                              "real folder, so a link planted there cannot redirect them",
                              path.string()),
                  fmt::format("replace the link with a folder of your own (`rm {0} && mkdir -m 700 {0}`), or point "
                              "XDG_STATE_HOME / ROLLBACK_LOCK_DIR / ROLLBACK_JOURNAL at one",
                              path.string()),
                  "unsafe-dir");
  if (!S_ISDIR(st.st_mode))
    return usage_error(fmt::format("state folder {} is not a folder", path.string()),
                       "remove it or point XDG_STATE_HOME / ROLLBACK_LOCK_DIR / ROLLBACK_JOURNAL elsewhere");
  if (st.st_uid != me)
    return unsafe(fmt::format("state folder {} belongs to uid {}, not to you (uid {}): another user could replace "
                              "the journal or the locks in it",
                              path.string(), st.st_uid, me),
                  fmt::format("use a folder of your own: set XDG_STATE_HOME (or HOME), or take it over with "
                              "`chown {} {}` if it is yours",
                              me, path.string()),
                  "unsafe-dir");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return unsafe(fmt::format("state folder {} is writable by others (mode {}): they could replace the journal or the "
                              "locks in it",
                              path.string(), mode_text(st.st_mode)),
                  fmt::format("make it private: `chmod 700 {}`", path.string()), "unsafe-dir");
  return {};
}

Result<int> open_state_file(const fs::path& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      return unsafe(fmt::format("{} is a symbolic link: rollback never follows a link where it keeps state",
                                path.string()),
                    fmt::format("look at where it points (`ls -l {0}`), then remove the link (`rm {0}`)", path.string()),
                    "unsafe-file");
    return failure(fmt::format("cannot open {}: {}", path.string(), strerror(e)));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return failure(fmt::format("cannot inspect {}: {}", path.string(), strerror(e)));
  }
  std::string problem;
  if (!S_ISREG(st.st_mode)) problem = "is not a regular file";
  else if (st.st_uid != geteuid()) problem = fmt::format("belongs to uid {}, not to you (uid {})", st.st_uid, geteuid());
  else if (st.st_nlink != 1) problem = fmt::format("has {} hard links: writing it would change the other names too", st.st_nlink);
  if (!problem.empty()) {
    close(fd);
    return unsafe(fmt::format("{} {}: refusing to use it as rollback state", path.string(), problem),
                  fmt::format("look at it (`ls -li {0}`), then remove it (`rm {0}`) if it is not yours to keep", path.string()),
                  "unsafe-file");
  }
  return fd;
}

Status write_private_file(const fs::path& path, const std::string& data) {
  if (path.has_parent_path()) RB_TRY(ensure_private_dir(path.parent_path()));
  std::string tmp = path.string() + fmt::format(".tmp.{}", getpid());
  // A leftover of this pid is ours to replace; O_EXCL | O_NOFOLLOW: never write through a link.
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return failure(fmt::format("cannot create {}: {}", tmp, strerror(errno)));
  fchmod(fd, 0600);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return failure(fmt::format("cannot write {}: {}", path.string(), strerror(e)));
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return failure(fmt::format("cannot write {}: {}", path.string(), strerror(errno)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return failure(fmt::format("cannot write {}: {}", path.string(), strerror(e)));
  }
  return {};
}

Result<TempDir> TempDir::create(const std::string& prefix) {
  const char* base = getenv("TMPDIR");
  std::string templ = fmt::format("{}/{}-XXXXXX", base && *base ? base : "/tmp", prefix);
  if (mkdtemp(templ.data()) == nullptr)
    return failure(fmt::format("cannot create a temporary folder in {}: {}", base ? base : "/tmp", strerror(errno)));
  return TempDir(fs::path(templ));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path default_state_dir() {
  if (const char* xdg = getenv("XDG_STATE_HOME"); xdg && *xdg) return fs::path(xdg) / "rollback";
  const char* home = getenv("HOME");
  if (home && *home) return fs::path(home) / ".local" / "state" / "rollback";
  if (struct passwd* pw = getpwuid(geteuid()); pw && pw->pw_dir && *pw->pw_dir)
    return fs::path(pw->pw_dir) / ".local" / "state" / "rollback";
  return fs::path(fmt::format("/tmp/rollback-{}", geteuid()));
}

}  // namespace rb
