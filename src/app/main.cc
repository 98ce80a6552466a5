// portier: the wiring. Reads the static configuration, starts the workers, loads the dynamic
// configuration, publishes the routing table, and waits for SIGINT/SIGTERM to shut down
// gracefully. The only place that knows every module.
#include <malloc.h>
#include <sys/resource.h>
#include <openssl/crypto.h>
#include <unistd.h>  // environ

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "admin/server.h"
#include "app/aggregator.h"
#include "app/certificates.h"
#include "app/check.h"
#include "app/engine_providers.h"
#include "app/healthcheck.h"
#include "app/internal.h"
#include "common/big_blocks.h"
#include "common/log.h"
#include "common/resident.h"
#include "config/decode.h"
#include "config/merge.h"
#include "config/static_sources.h"
#include "entrypoints/entrypoint.h"
#include "entrypoints/server.h"
#include "observability/access_log.h"
#include "observability/metrics.h"
#include "providers/file/file_provider.h"
#include "proxy/middlewares/cache_disk.h"
#include "proxy/middlewares/http_cache.h"
#include "proxy/routing_table.h"
#include "proxy/upstream_tls.h"
#include "tcp/attach.h"
#include "udp/attach.h"

namespace {

namespace fs = std::filesystem;
using namespace portier;

constexpr const char* kVersion = "0.1.0";

std::string find_config_file(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* p : {"./portier.yml", "./portier.yaml", "./portier.toml",
                        "/etc/portier/portier.yml", "/etc/portier/portier.toml"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

std::string options_help() {
  std::string out =
      "Static configuration (Traefik's names; keys are case-insensitive). Each option is also a\n"
      "flag (--entryPoints.web.address=:80), an environment variable\n"
      "(PORTIER_ENTRYPOINTS_WEB_ADDRESS=:80, or TRAEFIK_...) and a key of the file; the three\n"
      "are merged key by key, flags over the environment over the file. A bare --section (or\n"
      "=true) enables it without resetting its other keys; =false disables it. Traefik's other\n"
      "options (tracing, metrics.datadog, ...) are accepted and reported as not supported yet.\n"
      "<name> is yours to choose.\n\n";
  for (const auto& o : config::static_options()) {
    out += "  --" + std::string(o.key);
    if (!o.default_value.empty()) out += " (default " + std::string(o.default_value) + ")";
    out += "\n      " + std::string(o.help) + "\n";
  }
  return out;
}

// Raises the soft descriptor limit to the hard one, as Go's runtime (and so Traefik) does:
// systemd and many shells hand out 1024, which a proxy exhausts at about 500 proxied
// connections (one descriptor each side). Returns the limit in force.
rlim_t raise_descriptor_limit() {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
  // Before OpenSSL allocates: its buffers of 16-32 KiB from slots of their own
  // (common/big_blocks.h).
  const bool openssl_routed = big_blocks::route_openssl();
  // `portier check [--containers] [options]`: validate everything, serve nothing.
  bool check = false, check_containers = false, healthcheck = false;
  std::vector<char*> args(argv, argv + argc);
  if (args.size() > 1 && std::string(args[1]) == "healthcheck") {
    healthcheck = true;
    args.erase(args.begin() + 1);
    argc = static_cast<int>(args.size());
    argv = args.data();
  } else if (args.size() > 1 && std::string(args[1]) == "check") {
    check = true;
    args.erase(args.begin() + 1);
    auto c = std::find_if(args.begin(), args.end(),
                          [](const char* a) { return std::string(a) == "--containers"; });
    if (c != args.end()) {
      check_containers = true;
      args.erase(c);
    }
    argc = static_cast<int>(args.size());
    argv = args.data();
  }
  CLI::App app{"portier: a reverse proxy for services run with Docker (one host, or a Swarm)"};
  std::string config_file;
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--configFile", config_file,
                 "Static configuration file (YAML or .toml). Default: the first of ./portier.yml, "
                 "./portier.yaml, ./portier.toml, /etc/portier/portier.yml, "
                 "/etc/portier/portier.toml, or PORTIER_CONFIGFILE / TRAEFIK_CONFIGFILE; none is "
                 "needed (without entryPoints, `http` listens on :80)");
  app.add_option("--workers", workers, "Worker threads, one event loop each (default: cores)")
      ->check(CLI::Range(1u, 1024u));
  // With the OpenSSL it runs: linked in by default (CMakeLists.txt, PORTIER_STATIC_OPENSSL), so
  // a security update of the system's libssl3 reaches portier only when it is rebuilt.
  app.set_version_flag("--version", std::string("portier ") + kVersion + "\n" +
                                        OpenSSL_version(OPENSSL_VERSION) +
#ifdef PORTIER_OPENSSL_LINKED_IN
                                        " (linked in)"
#else
                                        " (shared library)"
#endif
  );
  app.allow_extras();
  app.footer(
      "Subcommand: portier check [--containers] [options]: reads the static configuration, every\n"
      "dynamic file and, with --containers, the Docker Engine's containers (and a swarm's\n"
      "services, with providers.swarm); prints every error and warning with file:line,\n"
      "container or service; exits 1 on an error, 0 otherwise; serves nothing.\n"
      "Subcommand: portier healthcheck [options]: GET /ping on ping.entryPoint (for Docker's\n"
      "HEALTHCHECK); exits 0 when it answers 200, 1 otherwise.\n\n" +
      options_help());
  CLI11_PARSE(app, argc, argv);

  auto flags = config::flags_to_keys(app.remaining());
  if (!flags) {
    std::cerr << "portier: " << flags.error().message << "\n";
    return 2;
  }
  std::vector<std::string> env_lines;
  for (char** e = environ; *e != nullptr; ++e) env_lines.emplace_back(*e);
  for (const auto& line : env_lines) {
    if (config_file.empty() && line.rfind("PORTIER_CONFIGFILE=", 0) == 0) {
      config_file = line.substr(std::string("PORTIER_CONFIGFILE=").size());
    }
  }
  for (const auto& line : env_lines) {  // Traefik's name, when portier's is not set
    if (config_file.empty() && line.rfind("TRAEFIK_CONFIGFILE=", 0) == 0) {
      config_file = line.substr(std::string("TRAEFIK_CONFIGFILE=").size());
    }
  }
  config_file = find_config_file(config_file);
  std::string file_text;
  if (!config_file.empty()) {
    std::ifstream in(config_file, std::ios::binary);
    if (!in) {
      std::cerr << "portier: " << config_file << ": cannot open file\n";
      return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    file_text = ss.str();
  }
  auto cfg =
      config::decode_static_sources(config_file, file_text, config::env_to_keys(env_lines), *flags);
  if (!cfg) {
    std::cerr << "portier: invalid static configuration:\n" << cfg.error().message << "\n";
    return 2;
  }
  // The static serversTransport fails fast (an unreadable rootCAs file is a start-up error).
  if (auto t = proxy::compile_default_transport(cfg->servers_transport); !t) {
    std::cerr << "portier: invalid static configuration:\n" << t.error().message << "\n";
    return 2;
  }
  log::Level level;
  if (!log::parse_level(cfg->log.level, level)) {
    std::cerr << "portier: unknown log level `" << cfg->log.level
              << "` (debug, info, warn, error)\n";
    return 2;
  }
  log::set_level(level);
  if (healthcheck) {
    log::set_level(log::Level::Off);
    // api.insecure takes the `traefik` entrypoint's address for its own listener: the same one.
    return app::run_healthcheck(*cfg, std::cout);
  }
  if (check) {
    // The report goes to stdout; the log (what a start would say) stays quiet.
    log::set_level(log::Level::Off);
    return app::run_check(*cfg, config_file, check_containers, std::cout);
  }
  log::set_format(cfg->log.format == "json" ? log::Format::Json : log::Format::Common);
  if (!cfg->log.file_path.empty()) {
    std::string error;
    if (!log::open_file(cfg->log.file_path, error)) {
      std::cerr << "portier: log.filePath: " << error << "\n";
      return 2;
    }
    log::set_rotation({static_cast<std::uint64_t>(cfg->log.max_size) * 1024 * 1024,
                       static_cast<int>(cfg->log.max_backups), static_cast<int>(cfg->log.max_age),
                       cfg->log.compress});
  }
  for (const auto& w : cfg->warnings) log::warn("static option not supported yet", {{"at", w}});
  if (!openssl_routed) log::warn("OpenSSL's allocations could not be routed: it allocated first");
  // accessLog: its writer thread starts here, before the workers that produce its lines (one
  // ring per worker: producer index = worker id, 0 .. workers-1) and stops after them.
  // `access_log` (null when the section is off) is what the workers are given.
  std::unique_ptr<observability::AccessLog> access_log;
  if (cfg->access_log) {
    auto opened = observability::AccessLog::open(*cfg->access_log,
                                                 static_cast<int>(std::max(1u, workers)));
    if (!opened) {
      std::cerr << "portier: " << opened.error().message << "\n";
      return 2;
    }
    access_log = std::move(*opened);
  }

  // api.insecure: the API gets the `traefik` entrypoint's address for itself (Traefik's
  // convention), so that entrypoint is not a proxying one.
  std::string api_address;
  if (cfg->api && cfg->api->insecure) {
    auto it = cfg->entry_points.find("traefik");
    api_address = it != cfg->entry_points.end() ? it->second.address : "127.0.0.1:8080";
    if (it != cfg->entry_points.end()) cfg->entry_points.erase(it);
  }
  if (cfg->entry_points.empty()) {
    std::cerr << "portier: no entrypoint left to proxy on (`traefik` is the API's; define "
                 "another with --entryPoints.<name>.address)\n";
    return 2;
  }

  // TLS and ACME first: stored certificates are loaded before any listener opens, and a storage
  // file that must not be used stops start-up here.
  boost::asio::io_context control;
  // The signal sets (handlers below) are made before any listener opens: each needs descriptors
  // (Asio's self-pipe), and once portier says it listens it must not fail for lack of them.
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);
  boost::asio::signal_set usr1(control, SIGUSR1);
  std::function<void()> reapply;  // set below; ACME managers ask for it from their threads
  app::Certificates certificates(*cfg, [&] {
    boost::asio::post(control, [&] {
      if (reapply) reapply();
    });
  });
  if (auto r = certificates.start(); !r) {
    std::cerr << "portier: " << r.error().message << "\n";
    return 2;
  }

  const rlim_t fd_limit = raise_descriptor_limit();
  log::info("file descriptor limit",
            {{"soft", fd_limit == RLIM_INFINITY ? "unlimited" : std::to_string(fd_limit)}});

  // Before the server: workers call api@internal's handler, which reads it, until they stop.
  admin::RuntimeStore runtime;
  runtime.dashboard = cfg->api && cfg->api->dashboard;
  if (cfg->api) runtime.dashboard_name = cfg->api->dashboard_name;
  {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) runtime.hostname = host;
  }
  std::atomic<bool> terminating{false};  // a stop signal came (ping answers 503); workers read it
  // Request counters: for metrics.prometheus, and for the dashboard's traffic view (api).
  // Before the server: its sessions count in it until their frames are gone.
  std::unique_ptr<observability::Metrics> metrics;
  if ((cfg->metrics && cfg->metrics->prometheus) || cfg->api) {
    observability::MetricsOptions mo;
    if (cfg->metrics && cfg->metrics->prometheus) {
      const auto& p = *cfg->metrics->prometheus;
      mo.buckets = p.buckets;
      mo.add_entrypoints_labels = p.add_entrypoints_labels;
      mo.add_routers_labels = p.add_routers_labels;
      mo.add_services_labels = p.add_services_labels;
    }
    mo.add_internals = cfg->metrics && cfg->metrics->add_internals;
    std::vector<std::string> ep_names;
    for (const auto& [name, ep] : cfg->entry_points) ep_names.push_back(name);
    metrics = std::make_unique<observability::Metrics>(mo, ep_names, std::max(1u, workers));
  }
  entrypoints::Server server(*cfg, workers);
  server.set_tls(certificates.services());
  server.set_observers(metrics.get(), access_log.get());
  // The cache middlewares' stores, for /api/portier/cache (stats and purge).
  runtime.cache_stats = [] {
    nlohmann::json out = nlohmann::json::array();
    proxy::cache::Registry::instance().for_each([&](const std::string& name, proxy::cache::Store& s) {
      const auto st = s.stats();
      nlohmann::json c = {{"middleware", name}, {"entries", st.entries}, {"bytes", st.bytes},
                          {"hits", st.hits},     {"misses", st.misses},   {"stores", st.stores},
                          {"evictions", st.evictions}};
      if (const auto* disk = s.disk()) {
        const auto ds = disk->stats();
        c["disk"] = {{"entries", ds.entries}, {"bytes", ds.bytes}, {"reads", ds.reads},
                     {"writes", ds.writes},   {"dropped", ds.dropped}};
      }
      out.push_back(std::move(c));
    });
    return out;
  };
  runtime.cache_purge = [](std::string_view middleware, std::string_view key,
                           std::string_view prefix) {
    std::size_t purged = 0;
    proxy::cache::Registry::instance().for_each([&](const std::string& name, proxy::cache::Store& s) {
      if (!middleware.empty() && name != middleware) return;
      purged += key.empty() ? s.purge_prefix(prefix) : s.purge(std::string(key));
    });
    return nlohmann::json{{"purged", purged}};
  };
  if (metrics) {
    runtime.traffic_source = [m = metrics.get()] { return m->traffic_json(); };
    if (!cfg->certificates_resolvers.empty()) {
      metrics->add_counter("acme_orders_total",
                           "ACME orders (new certificates and renewals) that ended, either way.",
                           [c = &certificates] { return c->acme_orders(); });
      metrics->add_counter("acme_order_failures_total", "ACME orders that failed.",
                           [c = &certificates] { return c->acme_order_failures(); });
    }
    if (access_log) {
      metrics->add_counter("accesslog_lines_dropped_total",
                           "Access log lines lost: a worker's queue was full, or a write failed.",
                           [l = access_log.get()] { return l->dropped(); });
      metrics->add_counter("accesslog_lines_written_total", "Access log lines written.",
                           [l = access_log.get()] { return l->written(); });
    }
  }
  if (auto r = server.start(); !r) {
    std::cerr << "portier: " << r.error().message << "\n";
    return 1;
  }

  // The API: served in process as api@internal, which routers expose behind their middlewares
  // (no port of its own, so nothing gets around them); and with api.insecure on the traefik
  // entrypoint's address too, by its own listener.
  std::unique_ptr<admin::ApiServer> api;
  const config::Configuration internal = app::internal_configuration(*cfg);
  if (!api_address.empty()) {
    auto ep = entrypoints::parse_listen_address(api_address);
    if (!ep) {
      std::cerr << "portier: entryPoints.traefik.address: " << ep.error().message << "\n";
      return 2;
    }
    api = std::make_unique<admin::ApiServer>(runtime, kVersion);
    if (metrics && app::metrics_on_api_listener(*cfg)) {
      api->set_metrics([m = metrics.get()] { return m->prometheus_text(); });
    }
    auto port = api->start(ep->address().to_string(), ep->port());
    if (!port) {
      std::cerr << "portier: " << port.error().message << "\n";
      return 1;
    }
    log::info("api listening",
              {{"entrypoint", "traefik"},
               {"address", ep->address().to_string() + ":" + std::to_string(*port)}});
  }

  // One path for every change: provider snapshot -> aggregator -> merge -> build -> publish.
  proxy::HealthChecker health(control.get_executor());
  std::vector<proxy::EntryPointInfo> ep_infos;
  for (const auto& spec : server.entrypoints()) {
    proxy::EntryPointInfo info{spec.name, spec.config.http.tls, spec.config.http.redirect, ""};
    if (const auto& r = spec.config.http.redirect) {
      std::string port = r->to.front() == ':' ? r->to.substr(1) : "";
      for (const auto& other : server.entrypoints()) {
        if (other.name == r->to) port = other.port;
      }
      if (!((r->scheme == "https" && port == "443") || (r->scheme == "http" && port == "80"))) {
        info.redirect_port = port;
      }
    }
    ep_infos.push_back(std::move(info));
  }
  std::vector<tcp::EntryPointInfo> tcp_infos;
  for (const auto& spec : server.entrypoints()) {
    tcp_infos.push_back({spec.name, spec.config.http.tls.has_value()});
  }
  tcp::Builder tcp_builder(std::move(tcp_infos));
  std::vector<udp::EntryPointInfo> udp_infos;
  for (const auto& spec : server.entrypoints()) udp_infos.push_back({spec.name, spec.udp});
  const udp::Builder udp_builder(std::move(udp_infos));
  proxy::TableBuilder builder(std::move(ep_infos), &health);
  builder.set_default_transport(cfg->servers_transport);
  app::register_internal_services(*cfg, builder, runtime, kVersion, &terminating, metrics.get());
  builder.set_metrics(metrics.get());
  builder.set_on_demand_resolvers(app::on_demand_resolvers(*cfg));
  // Server names resolve in the background; a new answer rebuilds the table.
  proxy::NameCache names(control.get_executor(), [&] {
    boost::asio::post(control, [&] {
      if (reapply) reapply();
    });
  });
  builder.set_name_cache(&names);
  config::Configuration last_merged;
  // What each configured provider refused, for the API. A refused file changes no
  // configuration, so a report republishes the API snapshot by itself.
  std::map<std::string, config::ProviderStatus> provider_status;
  if (cfg->providers.file) provider_status["file"];
  if (cfg->providers.docker) provider_status["docker"];
  if (cfg->providers.swarm) provider_status["swarm"];
  if (cfg->api) provider_status["internal"];
  auto report_status = [&](const std::string& provider, config::ProviderStatus status) {
    provider_status[provider] = std::move(status);
    auto rt = std::make_shared<admin::Runtime>(*runtime.get());
    rt->providers = provider_status;
    runtime.set(std::move(rt));
  };
  // Two seconds after the last (re)load: the heap's free pages and the pages of code and
  // constants only loading used go back (common/resident.h). A request maps again what it uses.
  boost::asio::steady_timer release_timer(control);
  auto release_loading_memory = [&] {
    release_timer.expires_after(std::chrono::seconds(2));
    release_timer.async_wait([](const boost::system::error_code& ec) {
      if (ec) return;
      const std::size_t before = resident::resident_bytes();
      big_blocks::release_spare();
      ::malloc_trim(0);
      const resident::Released r = resident::release_loaded_code_pages();
      log::debug("loading memory released",
                 {{"segments", std::to_string(r.segments)},
                  {"resident_before_kb", std::to_string(before / 1024)},
                  {"resident_after_kb", std::to_string(resident::resident_bytes() / 1024)}});
    });
  };
  auto apply = [&](const config::Configuration& merged) {
    auto built = builder.build(merged);
    tcp::attach(tcp_builder.build(merged), built);
    udp::attach(udp_builder.build(merged), built);
    for (const auto& e : built.errors) {
      log::error("configuration object disabled", {{"object", e.object()}, {"error", e.message}});
    }
    std::vector<app::Warning> warnings;
    certificates.attach(built, merged, warnings);
    if (metrics) {
      metrics->config_reloaded(true);
      std::vector<observability::ServerUp> ups;
      for (const auto& [svc, servers] : merged.http.services) {
        if (!servers.load_balancer) continue;
        for (const auto& sv : servers.load_balancer->servers) {
          std::shared_ptr<const ServerHealth> h;
          if (auto it = built.health.find(svc); it != built.health.end()) {
            if (auto jt = it->second.find(sv.url); jt != it->second.end()) h = jt->second;
          }
          ups.push_back({svc, sv.url, std::move(h), !sv.down_reason.empty()});
        }
      }
      metrics->set_servers(std::move(ups));
      metrics->set_certificates(app::certificate_infos(*built.table));
    }
    auto rt = std::make_shared<admin::Runtime>();
    rt->config = merged;
    rt->health = std::move(built.health);
    rt->loads = std::move(built.loads);
    rt->providers = provider_status;
    for (const auto& e : built.errors) rt->errors.push_back({e.kind, e.name, e.message});
    for (const auto& w : warnings) rt->errors.push_back({w.kind, w.name, w.message, true});
    for (const auto& ep : server.entrypoints()) {
      rt->entrypoints[ep.name] = ep.endpoint.address().to_string() + ":" + ep.port;
      if (ep.udp) rt->udp_entrypoints.push_back(ep.name);
    }
    rt->static_warnings = cfg->warnings;
    rt->certificates = certificates.info();
    runtime.set(std::move(rt));
    // Last, so that the API shows it already. Logged once every worker routes by the new
    // table: a request sent after this line is read under it (tests and scripts wait for it).
    server.publish(built.table, [routers = merged.http.routers.size(),
                                 services = merged.http.services.size(),
                                 disabled = built.errors.size()] {
      log::info("configuration applied", {{"routers", std::to_string(routers)},
                                          {"services", std::to_string(services)},
                                          {"disabled", std::to_string(disabled)}});
    });
    release_loading_memory();
  };
  reapply = [&] { apply(last_merged); };
  std::map<std::string, std::vector<std::string>> ep_middlewares;
  for (const auto& [name, ep] : cfg->entry_points) ep_middlewares[name] = ep.http.middlewares;
  app::Aggregator aggregator(control, cfg->providers.providers_throttle_duration,
                             [&](const std::map<std::string, config::Configuration>& snapshots) {
                               last_merged = config::merge(snapshots);
                               config::add_entrypoint_middlewares(last_merged, ep_middlewares);
                               apply(last_merged);
                             });
  std::unique_ptr<providers::file::FileProvider> file_provider;
  if (cfg->providers.file) {
    aggregator.preset("internal", internal);
    auto base = config_file.empty() ? fs::current_path() : fs::path(config_file).parent_path();
    file_provider = std::make_unique<providers::file::FileProvider>(
        control, *cfg->providers.file, base.empty() ? fs::path(".") : base,
        [&](config::Configuration snapshot) { aggregator.update("file", std::move(snapshot)); },
        [&](config::ProviderStatus status) { report_status("file", std::move(status)); });
    file_provider->start();
  } else if (!cfg->providers.docker && !cfg->providers.swarm) {
    aggregator.update("internal", internal);
  }
  if (cfg->providers.docker || cfg->providers.swarm) {
    if (!cfg->providers.file) aggregator.preset("internal", internal);
  }
  auto engine_providers = app::start_engine_providers(
      cfg->providers, control,
      [&](const std::string& provider, config::Configuration snapshot) {
        aggregator.update(provider, std::move(snapshot));
      },
      metrics.get());
  if (!engine_providers) {
    std::cerr << "portier: " << engine_providers.error().message << "\n";
    return 2;
  }

  // A stop signal: ping answers terminatingStatusCode from now on; requests are still accepted
  // for the longest transport.lifeCycle.requestAcceptGraceTimeout (0 by default), then the
  // server drains (graceTimeOut). A second signal stops at once.
  boost::asio::steady_timer accept_grace(control);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    terminating.store(true, std::memory_order_relaxed);
    config::Duration grace{0};
    for (const auto& [name, ep] : cfg->entry_points) {
      grace = std::max(grace, ep.life_cycle.request_accept_grace_timeout);
    }
    if (grace.count() <= 0) {
      control.stop();
      return;
    }
    log::info("still accepting requests before stopping",
              {{"requestAcceptGraceTimeout", std::to_string(grace.count()) + "ms"}});
    accept_grace.expires_after(grace);
    accept_grace.async_wait([&](const boost::system::error_code&) { control.stop(); });
    signals.async_wait([&](const boost::system::error_code& e2, int) {
      if (!e2) control.stop();
    });
  });
  // SIGUSR1: reopen log.filePath and accessLog.filePath after logrotate moved them (Traefik's
  // convention).
  std::function<void()> wait_usr1 = [&] {
    usr1.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::string error;
      if (!log::reopen_file(error)) log::error("cannot reopen the log file", {{"error", error}});
      if (access_log && !access_log->reopen(error)) {
        log::error("cannot reopen the access log", {{"error", error}});
      }
      wait_usr1();
    });
  };
  wait_usr1();
  control.run();
  if (file_provider) file_provider->stop();
  engine_providers->stop();
  aggregator.stop();
  certificates.stop();
  if (api) api->stop();
  server.shutdown();
  if (access_log) access_log->stop();  // the workers are gone: every line they logged is written
  return 0;
}
