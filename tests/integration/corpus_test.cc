// The configuration corpus (tests/corpus/*/): configurations written as Traefik's documentation
// writes them, each checked with `portier check`, started, and asked its requests. See
// tests/corpus/README.md for the layout.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/net.h"
#include "support/process.h"

namespace portier::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kCorpus = fs::path(CORPUS_DIR);

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(read(p));
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l[0] != '#') out.push_back(l);
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

std::vector<std::string> corpus_cases() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Corpus : public ::testing::TestWithParam<std::string> {};

TEST_P(Corpus, ChecksStartsAndRoutesAsWritten) {
  const fs::path src = kCorpus / GetParam();
  TempDir dir;
  Whoami backend = start_whoami(dir, "backend");
  // The case's files, with the backend's URL and the directory filled in.
  const fs::path root = dir.path() / "case";
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    const fs::path to = root / fs::relative(e.path(), src);
    if (e.is_directory()) {
      fs::create_directories(to);
      continue;
    }
    fs::create_directories(to.parent_path());
    std::ofstream(to, std::ios::binary) << replace_all(
        replace_all(read(e.path()), "{{BACKEND}}", backend.url()), "{{DIR}}", root.string());
  }

  std::vector<std::string> args;
  if (fs::exists(root / "portier.yml")) args.push_back("--configFile=" + (root / "portier.yml").string());
  if (fs::exists(root / "args")) {
    for (const auto& a : lines(root / "args")) args.push_back(a);
  }
  const std::vector<std::string> entrypoints = lines(root / "entrypoints");
  for (const auto& ep : entrypoints) args.push_back("--entryPoints." + ep + ".address=127.0.0.1:0");

  // 1. portier check: no error.
  {
    std::vector<std::string> argv = {PORTIER_BIN, "check"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto proc = Process::start(argv, dir.path() / "check.log");
    auto code = proc->wait_exit(20s);
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 0) << proc->log();
  }

  // 2. Started, with the API on its own port to read the routers' state.
  std::vector<std::string> argv = {PORTIER_BIN, "--workers=1", "--api.insecure=true",
                                   "--entryPoints.traefik.address=127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto proc = Process::start(argv, dir.path() / "portier.log");
  std::map<std::string, int> ports;
  for (const auto& ep : entrypoints) {
    auto port = proc->wait_for_log(
        "msg=\"entrypoint listening\" entrypoint=" + ep + " address=127\\.0\\.0\\.1:([0-9]+)", 10s);
    ASSERT_TRUE(port) << proc->log();
    ports[ep] = std::stoi(*port);
  }
  auto api = proc->wait_for_log(
      "api listening\" entrypoint=traefik address=127\\.0\\.0\\.1:([0-9]+)", 10s);
  ASSERT_TRUE(api) << proc->log();
  ASSERT_TRUE(proc->wait_for_log("configuration applied", 10s)) << proc->log();
  auto routers = http_get(std::stoi(*api), "127.0.0.1", "/api/http/routers");
  ASSERT_TRUE(routers);
  auto list = nlohmann::json::parse(routers->body, nullptr, false);
  ASSERT_TRUE(list.is_array()) << routers->body;
  for (const auto& r : list) {
    EXPECT_EQ(r.value("status", ""), "enabled") << r.dump();
  }

  // 3. The requests.
  for (const auto& line : lines(root / "requests")) {
    SCOPED_TRACE(line);
    std::istringstream in(line);
    std::string ep, host, path;
    int status = 0;
    in >> ep >> host >> path >> status;
    ASSERT_TRUE(ports.count(ep)) << "unknown entrypoint " << ep;
    auto r = http_get(ports[ep], host, path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    expect_checks(*r, read_checks(in));
  }
}

INSTANTIATE_TEST_SUITE_P(Traefik, Corpus, ::testing::ValuesIn(corpus_cases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace portier::test
