// log::Escaped, the completion handler for coroutines nothing waits for: what escapes one is
// logged; what ends normally is not.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/log.h"

namespace portier::log {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

asio::awaitable<void> fails_with(int what) {
  if (what == 1) throw std::runtime_error("out of widgets");
  if (what == 2) throw 42;  // not a std::exception
  co_return;
}

TEST(LogEscaped, WhatEscapesASpawnedCoroutineIsLogged) {
  std::string tmpl = (fs::temp_directory_path() / "portier-escaped-XXXXXX").string();
  const fs::path dir = ::mkdtemp(tmpl.data());
  std::string error;
  ASSERT_TRUE(open_file((dir / "portier.log").string(), error)) << error;
  asio::io_context io;
  asio::co_spawn(io, fails_with(0), Escaped{"first failed"});
  asio::co_spawn(io, fails_with(1), Escaped{"second failed"});
  asio::co_spawn(io, fails_with(2), Escaped{"third failed"});
  io.run();
  close_file();
  std::ifstream f(dir / "portier.log");
  std::stringstream text;
  text << f.rdbuf();
  const std::string log = text.str();
  EXPECT_EQ(log.find("first failed"), std::string::npos) << log;
  EXPECT_NE(log.find("level=error msg=\"second failed\" error=\"out of widgets\""), std::string::npos)
      << log;
  EXPECT_NE(log.find("level=error msg=\"third failed\" error=\"unknown exception\""),
            std::string::npos)
      << log;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace portier::log
