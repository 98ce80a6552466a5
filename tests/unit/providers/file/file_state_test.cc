// providers/file/file_state: when a file's content is applied, refused or waited for.
#include "providers/file/file_state.h"

#include <gtest/gtest.h>

#include <set>

namespace portier::providers::file {
namespace {

using namespace std::chrono_literals;
using K = Observation::Kind;

std::string routes(const std::string& router) {
  return "http:\n  routers:\n    " + router + ":\n      rule: \"Host(`" + router +
         ".localhost`)\"\n      service: s\n  services:\n    s:\n      loadBalancer:\n"
         "        servers:\n          - url: \"http://127.0.0.1:1\"\n";
}
Observation closed(std::string content) {
  return {K::Content, std::move(content), "", Activity::Closed};
}
Observation quiet(std::string content) {
  return {K::Content, std::move(content), "", Activity::None};
}
Observation open(std::string content, std::chrono::milliseconds quiet_for) {
  return {K::Content, std::move(content), "", Activity::Open, quiet_for};
}
Observation missing() { return {K::Missing}; }
Observation unreadable(std::string why) { return {K::Unreadable, "", std::move(why)}; }

TEST(FileState, Table) {
  const Timing t{50ms, 100ms, 5000ms};
  struct Step {
    Observation seen;
    Outcome outcome;
  };
  struct Case {
    std::string name;
    std::string path;
    std::vector<Step> steps;
    std::set<std::string> served;     // routers of the version served at the end
    std::vector<std::string> issues;  // substrings, in order; "!" prefix: a warning
  };
  const std::string a = routes("a"), b = routes("b"), c = routes("c");
  const std::string half = a.substr(0, a.find("  services:"));  // valid YAML, router only
  const std::vector<Case> cases = {
      {"closed write applies", "d.yml", {{closed(a), Outcome::Applied}}, {"a"}, {}},
      {"same content again",
       "d.yml",
       {{closed(a), Outcome::Applied}, {closed(a), Outcome::Unchanged}},
       {"a"},
       {}},
      {"truncated to 0 bytes keeps the last good version",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {closed(""), Outcome::Emptied},
        {closed(""), Outcome::Unchanged}},
       {"a"},
       {"d.yml: the file is empty"}},
      {"whitespace and comments are empty",
       "d.yml",
       {{closed(a), Outcome::Applied}, {closed("  \n# later\n\n"), Outcome::Emptied}},
       {"a"},
       {"empty"}},
      {"an empty http section is empty",
       "d.yml",
       {{closed(a), Outcome::Applied}, {closed("http: {}\n"), Outcome::Emptied}},
       {"a"},
       {"empty"}},
      {"empty JSON object is empty",
       "d.json",
       {{closed(a), Outcome::Applied}, {closed("{}"), Outcome::Emptied}},
       {"a"},
       {"empty"}},
      {"empty from the start is just empty", "d.yml", {{closed(""), Outcome::Applied}}, {}, {}},
      {"empty, then content, then empty again",
       "d.yml",
       {{closed(""), Outcome::Applied},
        {closed(a), Outcome::Applied},
        {closed(""), Outcome::Emptied}},
       {"a"},
       {"empty"}},
      {"content after an empty file applies and clears the error",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {closed(""), Outcome::Emptied},
        {closed(b), Outcome::Applied}},
       {"b"},
       {}},
      {"a TOML file emptied",
       "d.toml",
       {{closed("[http.routers.t]\nrule = \"Host(`t`)\"\nservice = \"s\"\n"), Outcome::Applied},
        {closed("\n"), Outcome::Emptied}},
       {"t"},
       {"empty"}},
      {"a file being written is not read",
       "d.yml",
       {{closed(a), Outcome::Applied}, {open(half, 10ms), Outcome::Waiting}},
       {"a"},
       {"!being written"}},
      {"being written, then closed",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {open(half, 10ms), Outcome::Waiting},
        {closed(b), Outcome::Applied}},
       {"b"},
       {}},
      {"open without writes past the grace: read twice",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {open(b, 10ms), Outcome::Waiting},
        {open(b, 5000ms), Outcome::Settling},
        {open(b, 5100ms), Outcome::Applied}},
       {"b"},
       {}},
      {"changed without a close event: applied when two reads agree",
       "d.yml",
       {{closed(a), Outcome::Applied}, {quiet(b), Outcome::Settling}, {quiet(b), Outcome::Applied}},
       {"b"},
       {}},
      {"still changing: not applied",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {quiet(half), Outcome::Settling},
        {quiet(b), Outcome::Settling},
        {quiet(b), Outcome::Applied}},
       {"b"},
       {}},
      {"changed back before settling",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {quiet(half), Outcome::Settling},
        {quiet(a), Outcome::Unchanged}},
       {"a"},
       {}},
      {"broken keeps the last good version",
       "d.yml",
       {{closed(a), Outcome::Applied}, {closed("http:\n  routers: [oops\n"), Outcome::Broken}},
       {"a"},
       {"d.yml:3:"}},
      {"broken from the start serves nothing",
       "d.yml",
       {{closed("http:\n  routers: [oops\n"), Outcome::Broken}},
       {},
       {"d.yml:3:"}},
      {"deleted: removed when still absent on the next pass",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {missing(), Outcome::Settling},
        {missing(), Outcome::Removed}},
       {},
       {}},
      {"renamed away and written again (an editor)",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {missing(), Outcome::Settling},
        {closed(b), Outcome::Applied}},
       {"b"},
       {}},
      {"refused for emptiness, then deleted",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {closed(""), Outcome::Emptied},
        {missing(), Outcome::Settling},
        {missing(), Outcome::Removed}},
       {},
       {}},
      {"never served: removed at once",
       "d.yml",
       {{closed("http:\n  routers: [oops\n"), Outcome::Broken}, {missing(), Outcome::Removed}},
       {},
       {}},
      {"unreadable keeps the last good version, reported once",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {unreadable("Permission denied"), Outcome::Unreadable},
        {unreadable("Permission denied"), Outcome::Unchanged}},
       {"a"},
       {"d.yml: cannot read the file: Permission denied; its last good version stays live"}},
      {"readable again",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {unreadable("Permission denied"), Outcome::Unreadable},
        {quiet(a), Outcome::Unchanged}},
       {"a"},
       {}},
      {"two changes in a row",
       "d.yml",
       {{closed(a), Outcome::Applied},
        {closed(b), Outcome::Applied},
        {closed(c), Outcome::Applied}},
       {"c"},
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FileState s;
    Outcome last = Outcome::Unchanged;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      SCOPED_TRACE("step " + std::to_string(i));
      last = step(s, c.path, c.steps[i].seen, t);
      EXPECT_EQ(static_cast<int>(last), static_cast<int>(c.steps[i].outcome));
    }
    std::set<std::string> served;
    if (last != Outcome::Removed && s.good) {
      for (const auto& [name, r] : s.good->http.routers) served.insert(name);
    }
    EXPECT_EQ(served, c.served);
    auto issues =
        last == Outcome::Removed ? std::vector<config::ProviderIssue>{} : issues_of(s, c.path, t);
    ASSERT_EQ(issues.size(), c.issues.size());
    for (std::size_t i = 0; i < issues.size(); ++i) {
      const bool warning = c.issues[i].front() == '!';
      const std::string want = warning ? c.issues[i].substr(1) : c.issues[i];
      EXPECT_NE(issues[i].message.find(want), std::string::npos) << issues[i].message;
      EXPECT_EQ(issues[i].warning, warning);
      EXPECT_EQ(issues[i].file, c.path);
    }
  }
}

TEST(FileState, LineOf) {
  struct Case {
    std::string message, path;
    int line;
  };
  const std::vector<Case> cases = {
      {"d.yml:3:7: unknown key", "d.yml", 3},
      {"/etc/p/d.yml:12:1: bad", "/etc/p/d.yml", 12},
      {"d.yml: no line", "d.yml", 0},
      {"d.yml:abc: no line", "d.yml", 0},
      {"other.yml:3:7: elsewhere", "d.yml", 0},
      {"d.yml:3", "d.yml", 0},
      {"d.yml:99999999999999999999:1: huge", "d.yml", 0},
      {"", "d.yml", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_EQ(line_of(c.message, c.path), c.line);
  }
}

TEST(FileState, BrokenIssueHasTheLine) {
  FileState s;
  ASSERT_EQ(step(s, "d.yml", closed(routes("a")), Timing{}), Outcome::Applied);
  ASSERT_EQ(step(s, "d.yml", closed("http:\n  routers:\n    a: [\n"), Timing{}), Outcome::Broken);
  auto issues = issues_of(s, "d.yml", Timing{});
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_GT(issues[0].line, 0);
  EXPECT_FALSE(issues[0].warning);
  EXPECT_NE(issues[0].message.find("its last good version stays live"), std::string::npos);
}

// Which inotify events the watcher acts on: every one that could change what is served, and
// none about the other files of a directory (a log written next to the configuration).
TEST(FileState, EventMatters) {
  const std::vector<std::string> none;
  struct Case {
    const char* name;
    bool is_dir;
    std::vector<std::string> file_names;  // one-file mode when not empty
    bool matters;
  };
  const std::vector<std::string> one = {"dynamic.yml"};
  const std::vector<std::string> linked = {"dynamic.yml", "prod.yml"};
  const Case cases[] = {
      // One file: its own name, its symlink target's, ConfigMap internals, directories.
      {"dynamic.yml", false, one, true},
      {"prod.yml", false, linked, true},
      {"prod.yml", false, one, false},
      {"access.log", false, one, false},
      {"other.yml", false, one, false},  // not the file: not read in one-file mode
      {".dynamic.yml.swp", false, one, false},
      {"dynamic.yml~", false, one, false},
      {"4913", false, one, false},  // vim's write test
      {"..data", false, one, true},
      {"..2026_12_08_03_00_00.1", true, one, true},
      {"conf.d", true, one, true},
      // A directory: the names its walk reads, ConfigMap internals, directories.
      {"a.yml", false, none, true},
      {"a.yaml", false, none, true},
      {"a.json", false, none, true},
      {"a.toml", false, none, true},
      {"a.yml.bak", false, none, false},
      {"a.log", false, none, false},
      {"yml", false, none, false},
      {".yml", false, none, false},
      {".a.yml", false, none, false},  // dot names are skipped by the walk
      {".a.yml.swp", false, none, false},
      {"..data", false, none, true},
      {"sub", true, none, true},
      {".git", true, none, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(event_matters(c.name, c.is_dir, c.file_names), c.matters)
        << c.name << (c.is_dir ? " (dir)" : "") << (c.file_names.empty() ? " in a directory" : "");
  }
}

}  // namespace
}  // namespace portier::providers::file
