#include "util/fs.hpp"

#include <fcntl.h>
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

Status write_private_file(const fs::path& path, const std::string& data) {
  if (path.has_parent_path()) RB_TRY(ensure_private_dir(path.parent_path()));
  std::string tmp = path.string() + fmt::format(".tmp.{}", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
  return fs::path(home && *home ? home : "/tmp") / ".local" / "state" / "rollback";
}

}  // namespace rb
