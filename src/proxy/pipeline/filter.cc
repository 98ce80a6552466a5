#include "proxy/pipeline/filter.h"

#include "proxy/http/message.h"

namespace portier::proxy {

std::optional<std::string_view> ResponseView::header(std::string_view name) const {
  if (local != nullptr) {
    if (const HeaderEdit* e = find_edit(*local, name); e != nullptr && !e->value.empty()) {
      return std::string_view(e->value);
    }
    return std::nullopt;
  }
  if (fields != nullptr) {
    if (const http::Field* f = fields->find(name)) return f->value;
  }
  return std::nullopt;
}

boost::asio::awaitable<Verdict> Filter::on_request_async(Stream& s) const {
  co_return on_request(s);
}

boost::asio::awaitable<void> Filter::replace(Stream&, int) const { co_return; }

boost::asio::awaitable<RequestResult> run_request(const Chain& chain, Stream& s) {
  RequestResult r;
  for (const auto& f : chain.filters) {
    const unsigned h = f->hooks();
    Verdict v = Verdict::Continue;
    if (h & Filter::kAsyncRequest) {
      v = co_await f->on_request_async(s);
    } else if (h & Filter::kRequest) {
      v = f->on_request(s);
    }
    ++r.ran;
    if (v == Verdict::Respond) {
      r.verdict = v;
      s.record.answered_by = f->name();
      break;
    }
  }
  co_return r;
}

int run_response(const Chain& chain, std::size_t upto, Stream& s, const ResponseView& view) {
  if ((chain.hooks & Filter::kResponse) == 0) return -1;
  for (std::size_t i = std::min(upto, chain.size()); i-- > 0;) {
    const Filter& f = *chain.filters[i];
    if ((f.hooks() & Filter::kResponse) && f.on_response(s, view)) return static_cast<int>(i);
  }
  return -1;
}

void run_complete(const Chain& chain, std::size_t upto, Stream& s) {
  if ((chain.hooks & Filter::kComplete) == 0) return;
  for (std::size_t i = 0; i < std::min(upto, chain.size()); ++i) {
    const Filter& f = *chain.filters[i];
    if (f.hooks() & Filter::kComplete) f.on_complete(s);
  }
}

}  // namespace portier::proxy
