// The exec provider (lego's): EXEC_PATH is run as `<path> present|cleanup <fqdn> <value>`, or
// with EXEC_MODE=RAW as `<path> present|cleanup -- <domain> <token> <key_auth>`. A non-zero exit
// fails the step; its output (the first 4 KiB) goes into the error.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "acme/dns_provider.h"

extern char** environ;

namespace portier::acme {
namespace {

// A bound on a program that hangs: the order must not wait forever.
constexpr std::chrono::minutes kMaxRun{2};

class Exec : public DnsProvider {
 public:
  Result<bool> present(const DnsRecord& r) override { return run("present", r); }
  Result<bool> cleanup(const DnsRecord& r) override { return run("cleanup", r); }

  std::string path_;
  bool raw_ = false;

 private:
  Result<bool> run(const char* action, const DnsRecord& r) {
    std::vector<std::string> args{path_, action};
    if (raw_) {
      args.insert(args.end(), {"--", r.domain, r.token, r.key_auth});
    } else {
      args.insert(args.end(), {r.fqdn, r.value});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error{"exec: pipe failed"};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, path_.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    if (rc != 0) {
      ::close(pipefd[0]);
      return Error{"exec: cannot run " + path_ + ": " + std::strerror(rc)};
    }
    std::string output;
    const auto deadline = std::chrono::steady_clock::now() + kMaxRun;
    bool open = true;
    int status = 0;
    for (;;) {
      if (open) {
        pollfd p{pipefd[0], POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          char buf[1024];
          ssize_t n = ::read(pipefd[0], buf, sizeof buf);
          if (n <= 0) {
            open = false;
          } else if (output.size() < 4096) {
            output.append(buf, static_cast<std::size_t>(std::min<ssize_t>(n, 4096)));
          }
        }
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid && !open) break;
      if (w == pid) {
        // Exited; read what is left without waiting for descendants holding the pipe.
        char buf[1024];
        ::fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0 && output.size() < 4096;) {
          output.append(buf, static_cast<std::size_t>(n));
        }
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ::close(pipefd[0]);
        return Error{"exec: " + path_ + " " + action + " did not finish in 2 minutes"};
      }
    }
    ::close(pipefd[0]);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return Error{"exec: " + path_ + " " + action + " failed (" + how + ")" +
                 (output.empty() ? "" : ": " + output)};
  }
};

}  // namespace

Result<std::unique_ptr<DnsProvider>> make_exec(const Env& env) {
  auto p = std::make_unique<Exec>();
  p->polling_interval = std::chrono::seconds(3);  // lego's EXEC_POLLING_INTERVAL default
  auto path = env("EXEC_PATH");
  if (!path) return Error{"exec: EXEC_PATH is not set"};
  if (::access(path->c_str(), X_OK) != 0)
    return Error{"exec: EXEC_PATH " + *path + " is not executable"};
  p->path_ = *path;
  p->raw_ = env("EXEC_MODE").value_or("") == "RAW";
  if (auto r = read_timing(env, "EXEC_", *p); !r) return Error{"exec: " + r.error().message};
  return std::unique_ptr<DnsProvider>(std::move(p));
}

}  // namespace portier::acme
