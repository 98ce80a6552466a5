#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace portier::test {

std::unique_ptr<Process> Process::start(const std::vector<std::string>& argv,
                                        const std::filesystem::path& log_file) {
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + log_file.string());
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
  return std::unique_ptr<Process>(new Process(pid, log_file));
}

Process::~Process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

std::string Process::log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> Process::wait_for_log(const std::string& regex,
                                                 std::chrono::milliseconds timeout) const {
  std::regex re(regex);
  std::optional<std::string> found;
  poll_until(
      [&] {
        std::smatch m;
        std::string text = log();
        if (std::regex_search(text, m, re)) {
          found = m.size() > 1 ? m[1].str() : m[0].str();
          return true;
        }
        return false;
      },
      timeout);
  return found;
}

bool Process::signal(int sig) const { return ::kill(pid_, sig) == 0; }

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  poll_until([&] { return !running(); }, timeout);
  return status_;
}

namespace {
long status_field(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}
}  // namespace

long Process::rss_kib() const { return status_field(pid_, "VmRSS"); }
long Process::hwm_kib() const { return status_field(pid_, "VmHWM"); }

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("portier-test-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  auto p = path_ / name;
  std::ofstream out(p, std::ios::binary);
  out << content;
  return p;
}

long anon_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

long mapped_kib(pid_t pid, const std::filesystem::path& file, std::string_view perms) {
  std::error_code ec;
  const std::string want = std::filesystem::canonical(file, ec).string();
  if (ec) return -1;
  return mapped_kib(pid, [&](const std::string& path) { return path == want; }, perms);
}

long mapped_kib(pid_t pid, const std::function<bool(const std::string& path)>& which,
                std::string_view perms) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  if (!in) return -1;
  long total = 0;
  bool match = false;
  for (std::string line; std::getline(in, line);) {
    // A mapping's first line: "start-end perms offset dev inode   path".
    std::istringstream fields(line);
    std::string range, p, offset, dev, inode, path;
    if (fields >> range >> p >> offset >> dev >> inode && range.find('-') != std::string::npos &&
        range.find(':') == std::string::npos) {
      std::getline(fields >> std::ws, path);
      match = p == perms && which(path);
    } else if (match && line.rfind("Rss:", 0) == 0) {
      total += std::stol(line.substr(4));
    }
  }
  return total;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("free_port: cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace portier::test
