// portier: the wiring. Reads the static configuration, starts the workers, loads the dynamic
// configuration, publishes the routing table, and waits for SIGINT/SIGTERM to shut down
// gracefully. The only place that knows every module.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "common/log.h"
#include "config/decode.h"
#include "entrypoints/server.h"
#include "proxy/routing_table.h"

namespace {

namespace fs = std::filesystem;
using namespace portier;

constexpr const char* kVersion = "0.1.0";

std::string find_config_file(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* p : {"./portier.yml", "./portier.yaml", "/etc/portier/portier.yml"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

// The file provider of this stage: one file, or every *.yml/*.yaml of a directory, read once at
// start-up. Relative paths are taken from the static file's directory.
Result<config::Configuration> load_dynamic(const config::FileProvider& fp, const fs::path& base) {
  auto resolve = [&](const std::string& p) {
    return fs::path(p).is_absolute() ? fs::path(p) : base / p;
  };
  if (!fp.filename.empty()) return config::load_dynamic_file(resolve(fp.filename).string());
  config::Configuration merged;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(resolve(fp.directory), ec)) {
    auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(e.path());
  }
  if (ec) return Error{resolve(fp.directory).string() + ": " + ec.message()};
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto cfg = config::load_dynamic_file(f.string());
    if (!cfg) {
      // One broken file does not take the others down.
      log::error("dynamic configuration file rejected",
                 {{"provider", "file"}, {"error", cfg.error().message}});
      continue;
    }
    for (auto& [k, v] : cfg->http.routers) {
      if (!merged.http.routers.emplace(k, v).second) {
        return Error{f.string() + ": router `" + k + "` is defined in another file too"};
      }
    }
    for (auto& [k, v] : cfg->http.services) {
      if (!merged.http.services.emplace(k, v).second) {
        return Error{f.string() + ": service `" + k + "` is defined in another file too"};
      }
    }
  }
  return merged;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portier: a reverse proxy for services run with Docker on one host"};
  std::string config_file;
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::string log_level;
  app.add_option("--configFile", config_file,
                 "Static configuration file (YAML). Default: ./portier.yml, then "
                 "/etc/portier/portier.yml");
  app.add_option("--workers", workers, "Worker threads, one event loop each (default: cores)")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--log.level", log_level, "debug, info, warn or error (default: info)");
  app.set_version_flag("--version", kVersion);
  CLI11_PARSE(app, argc, argv);

  config_file = find_config_file(config_file);
  if (config_file.empty()) {
    std::cerr << "portier: no configuration file: give --configFile or create ./portier.yml\n";
    return 2;
  }
  auto cfg = config::load_static_file(config_file);
  if (!cfg) {
    std::cerr << "portier: invalid static configuration:\n" << cfg.error().message << "\n";
    return 2;
  }
  log::Level level;
  const std::string& level_text = log_level.empty() ? cfg->log.level : log_level;
  if (!log::parse_level(level_text, level)) {
    std::cerr << "portier: unknown log level `" << level_text << "` (debug, info, warn, error)\n";
    return 2;
  }
  log::set_level(level);
  if (cfg->entry_points.empty()) {
    std::cerr << "portier: " << config_file << ": no entryPoints defined\n";
    return 2;
  }

  entrypoints::Server server(*cfg, workers);
  if (auto r = server.start(); !r) {
    std::cerr << "portier: " << r.error().message << "\n";
    return 1;
  }

  proxy::TableBuilder builder(server.entrypoint_names());
  config::Configuration dynamic;
  if (cfg->providers.file) {
    auto base = fs::path(config_file).parent_path();
    auto loaded = load_dynamic(*cfg->providers.file, base.empty() ? fs::path(".") : base);
    if (loaded) {
      dynamic = std::move(*loaded);
    } else {
      log::error("dynamic configuration rejected",
                 {{"provider", "file"}, {"error", loaded.error().message}});
    }
  }
  auto built = builder.build(dynamic);
  for (const auto& e : built.errors) {
    log::error("configuration object disabled", {{"object", e.object}, {"error", e.message}});
  }
  server.publish(built.table);
  log::info("configuration applied", {{"routers", std::to_string(dynamic.http.routers.size())},
                                      {"services", std::to_string(dynamic.http.services.size())}});

  boost::asio::io_context control;
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log::info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  });
  control.run();
  server.shutdown();
  return 0;
}
