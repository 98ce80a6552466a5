// Prometheus' text format as tests read it: samples parsed from a /metrics body, summed by name
// and label subset.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace portier::test {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of an exposition (comments skipped).
std::vector<MetricSample> parse_exposition(const std::string& text);
// The sum of the samples named `name` whose labels include `want`; -1 when there is none.
double metric_value(const std::vector<MetricSample>& samples, const std::string& name,
                    const std::map<std::string, std::string>& want = {});
// GET `path` on 127.0.0.1:`port` with Host `host`: expects a 200 in the text format, parses it.
std::vector<MetricSample> scrape_metrics(int port, const std::string& host = "x",
                                         const std::string& path = "/metrics");

}  // namespace portier::test
