#include "proxy/pipeline/stream.h"

#include <algorithm>

#include "proxy/http/message.h"

namespace portier::proxy {

void set_edit(std::vector<HeaderEdit>& edits, std::string_view name, std::string_view value) {
  // Earlier appends of this name go too: a set replaces every value.
  edits.erase(std::remove_if(edits.begin(), edits.end(),
                             [&](const HeaderEdit& e) { return http::iequals(e.name, name); }),
              edits.end());
  edits.push_back({std::string(name), std::string(value), false});
}

void add_edit(std::vector<HeaderEdit>& edits, std::string_view name, std::string_view value) {
  edits.push_back({std::string(name), std::string(value), true});
}

const HeaderEdit* find_edit(const std::vector<HeaderEdit>& edits, std::string_view name) {
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
    if (!it->append && http::iequals(it->name, name)) return &*it;
  }
  return nullptr;
}

bool replaces(const std::vector<HeaderEdit>& edits, std::string_view name) {
  return find_edit(edits, name) != nullptr;
}

std::optional<std::string_view> Stream::header(std::string_view name) const {
  for (auto it = request_edits.rbegin(); it != request_edits.rend(); ++it) {
    if (http::iequals(it->name, name)) {
      if (it->value.empty()) return std::nullopt;
      return std::string_view(it->value);
    }
  }
  if (fields != nullptr) {
    if (const http::Field* f = fields->find(name)) return f->value;
  }
  return std::nullopt;
}

bool run_transforms(const std::vector<std::unique_ptr<BodyTransform>>& ts, std::string_view in,
                    BodyTransform::Mode mode, std::string& out, std::string (&tmp)[2]) {
  std::string_view cur = in;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    std::string& dst = i + 1 == ts.size() ? out : tmp[i % 2];
    if (&dst != &out) dst.clear();
    if (!ts[i]->write(cur, mode, dst)) return false;
    cur = dst;
  }
  return true;
}

void Stream::reset() {
  new_path.reset();
  request_edits.clear();
  response_edits.clear();
  retry = nullptr;
  body.reset();
  local = LocalResponse{};
  replace_by = -1;
  notes.clear();
  head_copy.reset();
  record = RequestRecord{};
  user.clear();
  has_body = false;
  body_length.reset();
  body_reader = nullptr;
  transforms.clear();
  states.clear();
}

}  // namespace portier::proxy
