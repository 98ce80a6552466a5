#include "app/check.h"

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "app/certificates.h"
#include "app/engine_providers.h"
#include "app/internal.h"
#include "config/merge.h"
#include "entrypoints/entrypoint.h"
#include "providers/docker/config_builder.h"
#include "providers/docker/docker_api.h"
#include "providers/docker/swarm_api.h"
#include "providers/docker/swarm_builder.h"
#include "providers/file/file_provider.h"
#include "proxy/routing_table.h"
#include "tcp/attach.h"
#include "tls/store.h"
#include "udp/attach.h"

namespace portier::app {
namespace {

namespace fs = std::filesystem;

struct Report {
  std::ostream& out;
  int errors = 0;
  int warnings = 0;
  void error(const std::string& where, const std::string& message) {
    ++errors;
    out << "error: " << where << ": " << message << "\n";
  }
  void warning(const std::string& where, const std::string& message) {
    ++warnings;
    out << "warning: " << where << ": " << message << "\n";
  }
};

// The file provider's snapshot, read once as a start would read it (no watch).
std::optional<config::Configuration> read_files(const config::FileProvider& fp,
                                                const std::string& config_file, Report& report) {
  boost::asio::io_context io;
  config::FileProvider once = fp;
  once.watch = false;
  auto base = config_file.empty() ? fs::current_path() : fs::path(config_file).parent_path();
  std::optional<config::Configuration> snapshot;
  providers::file::FileProvider provider(
      io, once, base.empty() ? fs::path(".") : base,
      [&](config::Configuration c) { snapshot = std::move(c); },
      [&](config::ProviderStatus status) {
        for (const auto& issue : status.issues) {
          // Decoding errors already start with file:line:column.
          std::string where =
              issue.line > 0 ? issue.file + ":" + std::to_string(issue.line) : issue.file;
          if (issue.message.rfind(issue.file, 0) == 0) where = "file provider";
          if (issue.warning) {
            report.warning(where, issue.message);
          } else {
            report.error(where, issue.message);
          }
        }
      });
  provider.start();
  io.poll();
  provider.stop();
  return snapshot;
}

// A builder's problems, each as an error or a warning on `what` ("container x", "service y").
void report_problems(const std::vector<providers::docker::Problem>& problems,
                     const std::string& what, Report& report) {
  for (const auto& p : problems) {
    const std::string where =
        what + " " + p.container + (p.object.empty() ? "" : " (" + p.object + ")");
    if (p.level == providers::docker::Problem::Level::Error) {
      report.error(where, p.message);
    } else {
      report.warning(where, p.message);
    }
  }
}

std::optional<config::Configuration> read_containers(const config::DockerProvider& dc,
                                                     Report& report) {
  auto api = providers::docker::make_curl_api(dc.endpoint, tls_files(dc), dc.http_client_timeout);
  if (!api) {
    report.error("providers.docker", api.error().message);
    return std::nullopt;
  }
  if (auto v = (*api)->connect(); !v) {
    report.error("providers.docker", "cannot reach the Engine at " + dc.endpoint + ": " +
                                         v.error().message);
    return std::nullopt;
  }
  auto options = providers::docker::builder_options(dc);
  if (!options) {
    report.error("providers.docker", options.error().message);
    return std::nullopt;
  }
  auto ids = (*api)->list(options->label_prefixes);
  if (!ids) {
    report.error("providers.docker", ids.error().message);
    return std::nullopt;
  }
  std::vector<providers::docker::Container> containers;
  for (const auto& id : *ids) {
    auto c = (*api)->inspect(id);
    if (!c) {
      report.error("providers.docker", c.error().message);
      return std::nullopt;
    }
    if (*c) containers.push_back(std::move(**c));
  }
  auto built = providers::docker::build_configuration(containers, *options);
  report_problems(built.problems, "container", report);
  report.out << "checked " << containers.size() << " container(s)\n";
  return built.config;
}

std::optional<config::Configuration> read_services(const config::DockerProvider& sc,
                                                   Report& report) {
  auto api =
      providers::docker::make_swarm_curl_api(sc.endpoint, tls_files(sc), sc.http_client_timeout);
  if (!api) {
    report.error("providers.swarm", api.error().message);
    return std::nullopt;
  }
  if (auto v = (*api)->connect(); !v) {
    report.error("providers.swarm",
                 "cannot reach the Engine at " + sc.endpoint + ": " + v.error().message);
    return std::nullopt;
  }
  auto options = providers::docker::builder_options(sc);
  if (!options) {
    report.error("providers.swarm", options.error().message);
    return std::nullopt;
  }
  options->dialect = providers::docker::LabelDialect::Swarm;
  auto state = (*api)->snapshot();
  if (!state) {
    report.error("providers.swarm", state.error().message);
    return std::nullopt;
  }
  auto built = providers::docker::build_swarm_configuration(*state, *options);
  report_problems(built.problems, "service", report);
  report.out << "checked " << state->services.size() << " Swarm service(s)\n";
  return built.config;
}

}  // namespace

int run_check(const config::StaticConfig& cfg, const std::string& config_file,
              bool with_containers, std::ostream& out) {
  Report report{out};
  out << "static configuration: " << (config_file.empty() ? "flags and environment" : config_file)
      << ": ok\n";
  for (const auto& w : cfg.warnings) report.warning("static configuration", w);

  // Entrypoints as the builder needs them, without listening.
  std::vector<proxy::EntryPointInfo> infos;
  std::size_t index = 0;
  for (const auto& [name, ep] : cfg.entry_points) {
    auto spec = entrypoints::make_spec(name, index++, ep);
    if (!spec) {
      report.error("entryPoints." + name, spec.error().message);
      continue;
    }
    proxy::EntryPointInfo info{name, ep.http.tls, ep.http.redirect, ""};
    if (const auto& r = ep.http.redirect) {
      std::string port = !r->to.empty() && r->to.front() == ':' ? r->to.substr(1) : "";
      if (auto it = cfg.entry_points.find(r->to); it != cfg.entry_points.end()) {
        if (auto to = entrypoints::make_spec(r->to, 0, it->second)) {
          port = std::to_string(to->endpoint.port());
        }
      } else if (port.empty()) {
        report.error("entryPoints." + name + ".http.redirections.entryPoint.to",
                     "no entrypoint `" + r->to + "`");
      }
      if (!((r->scheme == "https" && port == "443") || (r->scheme == "http" && port == "80"))) {
        info.redirect_port = port;
      }
    }
    infos.push_back(std::move(info));
  }

  std::map<std::string, config::Configuration> snapshots;
  snapshots["internal"] = internal_configuration(cfg);
  if (cfg.providers.file) {
    if (auto files = read_files(*cfg.providers.file, config_file, report)) {
      snapshots["file"] = std::move(*files);
    }
  }
  if (cfg.providers.docker) {
    if (with_containers) {
      if (auto c = read_containers(*cfg.providers.docker, report)) {
        snapshots["docker"] = std::move(*c);
      }
    } else {
      out << "containers: not checked (add --containers to read the Engine's)\n";
    }
  }
  if (cfg.providers.swarm) {
    if (with_containers) {
      if (auto c = read_services(*cfg.providers.swarm, report)) {
        snapshots["swarm"] = std::move(*c);
      }
    } else {
      out << "Swarm services: not checked (add --containers to read the Engine's)\n";
    }
  }
  const config::Configuration merged = config::merge(snapshots);

  proxy::TableBuilder builder(std::move(infos), nullptr);
  builder.set_default_transport(cfg.servers_transport);
  builder.set_on_demand_resolvers(on_demand_resolvers(cfg));
  const admin::RuntimeStore no_api;  // nothing is served: the handler is never called
  register_internal_services(cfg, builder, no_api, "");
  proxy::BuildResult built = builder.build(merged);
  std::vector<tcp::EntryPointInfo> tcp_infos;
  for (const auto& [name, ep] : cfg.entry_points) tcp_infos.push_back({name, ep.http.tls.has_value()});
  tcp::attach(tcp::Builder(std::move(tcp_infos)).build(merged), built);
  std::vector<udp::EntryPointInfo> udp_infos;
  for (const auto& [name, ep] : cfg.entry_points) {
    udp_infos.push_back({name, entrypoints::is_udp_address(ep.address)});
  }
  udp::attach(udp::Builder(std::move(udp_infos)).build(merged), built);
  for (const auto& e : built.errors) report.error(e.object(), e.message);

  std::map<std::string, bool> resolvers;
  for (const auto& [name, r] : cfg.certificates_resolvers) {
    resolvers[name] = !r.dns_challenge.provider.empty();
  }
  std::vector<Warning> warnings;
  wanted_names(built.certificates, resolvers, warnings);
  tls::StoreBuilder sb;
  sb.tls = &merged.tls;
  sb.options_by_host = built.tls_options_by_host;
  sb.generated_default = tls::Certificate::self_signed("PORTIER DEFAULT CERT");
  std::vector<tls::StoreError> store_errors;
  sb.build(store_errors);
  for (const auto& e : store_errors) warnings.push_back({"tls", e.object, e.message});
  for (const auto& w : warnings) report.warning(w.kind + " " + w.name, w.message);

  out << merged.http.routers.size() << " router(s), " << merged.http.services.size()
      << " service(s), " << merged.http.middlewares.size() << " middleware(s): "
      << report.errors << " error(s), " << report.warnings << " warning(s)\n";
  return report.errors > 0 ? 1 : 0;
}

}  // namespace portier::app
