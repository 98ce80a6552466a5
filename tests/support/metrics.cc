#include "support/metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "support/net.h"

namespace portier::test {

std::vector<MetricSample> parse_exposition(const std::string& text) {
  std::vector<MetricSample> out;
  std::istringstream in(text);
  std::string line;
  static const std::regex kLabel(R"re(([a-zA-Z_]+)="((?:[^"\\]|\\.)*)")re");
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      const std::string labels = line.substr(brace, line.rfind('}') - brace);
      for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
        s.labels[(*it)[1]] = (*it)[2];
      }
    } else {
      s.name = line.substr(0, space);
    }
    s.value = std::stod(line.substr(space + 1));
    out.push_back(std::move(s));
  }
  return out;
}

double metric_value(const std::vector<MetricSample>& samples, const std::string& name,
                    const std::map<std::string, std::string>& want) {
  double sum = 0;
  bool found = false;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : want) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) {
      sum += s.value;
      found = true;
    }
  }
  return found ? sum : -1;
}

std::vector<MetricSample> scrape_metrics(int port, const std::string& host,
                                         const std::string& path) {
  auto r = http_get(port, host, path);
  EXPECT_TRUE(r) << "GET " << path;
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  return parse_exposition(r->body);
}

}  // namespace portier::test
