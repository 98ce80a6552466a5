// log.maxSize / maxBackups / maxAge / compress: lumberjack's rotation of log.filePath.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "common/log.h"

namespace portier::log {
namespace {

namespace fs = std::filesystem;

struct Dir {
  Dir() {
    std::string tmpl = (fs::temp_directory_path() / "portier-logrot-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~Dir() {
    close_file();
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path path;
};

std::string gunzip(const fs::path& p) {
  gzFile f = gzopen(p.c_str(), "rb");
  std::string out;
  char buf[4096];
  for (int n; f != nullptr && (n = gzread(f, buf, sizeof buf)) > 0;) out.append(buf, n);
  if (f != nullptr) gzclose(f);
  return out;
}

// Lines of 100 bytes or so ("time=... level=error msg=line-N pad=xxxx...").
void write_lines(int from, int to) {
  for (int i = from; i < to; ++i) {
    write(Level::Error, "line-" + std::to_string(i), {{"pad", std::string(40, 'x')}});
  }
}

TEST(LogRotation, RotatesKeepsBackupsAndCompresses) {
  struct Case {
    std::string name;
    Rotation rotation;
    std::size_t backups;  // files besides portier.log
    bool gz;
  };
  const std::vector<Case> cases = {
      {"every backup kept", {1000, 0, 0, false}, 0, false},
      {"two backups kept", {1000, 2, 0, false}, 2, false},
      {"two backups, gzipped", {1000, 2, 0, true}, 2, true},
      {"old backups removed", {1000, 0, 1, false}, 0, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Dir dir;
    const fs::path file = dir.path / "portier.log";
    std::string error;
    ASSERT_TRUE(open_file(file.string(), error)) << error;
    // A backup from three days ago: removed by maxAge 1, counted by maxBackups.
    std::ofstream(dir.path / "portier-2001-01-01T00-00-00.000.log") << "old\n";
    set_rotation(c.rotation);
    settle_rotation();
    // Backups are named by the millisecond: write slowly enough for distinct names.
    for (int batch = 0; batch < 4; ++batch) {
      write_lines(batch * 10, batch * 10 + 10);
      ::usleep(2000);
    }
    settle_rotation();
    EXPECT_LE(fs::file_size(file), 1000u);
    auto names = dir.names();
    std::size_t backups = 0, gz = 0;
    std::string all;
    for (const auto& n : names) {
      if (n == "portier.log") continue;
      ++backups;
      EXPECT_TRUE(n.starts_with("portier-")) << n;
      if (n.ends_with(".log.gz")) {
        ++gz;
        all += gunzip(dir.path / n);
      } else {
        EXPECT_TRUE(n.ends_with(".log")) << n;
        std::ifstream in(dir.path / n);
        all.append(std::istreambuf_iterator<char>(in), {});
      }
    }
    if (c.backups != 0) {
      EXPECT_EQ(backups, c.backups) << ::testing::PrintToString(names);
    } else if (c.rotation.max_age_days == 0) {
      EXPECT_GE(backups, 4u) << ::testing::PrintToString(names);  // 4000+ bytes, 1000 a file
    }
    EXPECT_EQ(gz, c.gz ? backups : 0u) << ::testing::PrintToString(names);
    EXPECT_EQ(all.find("old\n") != std::string::npos,
              c.rotation.max_backups == 0 && c.rotation.max_age_days == 0);
    if (c.rotation.max_backups == 0 && c.rotation.max_age_days == 0) {
      std::ifstream in(file);
      all.append(std::istreambuf_iterator<char>(in), {});
      for (int i = 0; i < 40; ++i) {  // no line lost, none split
        EXPECT_NE(all.find("msg=line-" + std::to_string(i) + " "), std::string::npos) << i;
      }
    }
  }
}

TEST(LogRotation, OffByDefault) {
  Dir dir;
  const fs::path file = dir.path / "p.log";
  std::string error;
  ASSERT_TRUE(open_file(file.string(), error)) << error;
  set_rotation({});
  write_lines(0, 50);
  EXPECT_EQ(dir.names(), std::vector<std::string>{"p.log"});
}

}  // namespace
}  // namespace portier::log
