#include "acme/order.h"

#include "common/base64.h"
#include "acme/jws.h"
#include "common/log.h"

namespace portier::acme {
namespace {

// Polls: the first after 250 ms, then doubling up to 1 s, unless the CA's Retry-After says
// otherwise (honoured up to a minute); at most 60 polls and 5 minutes per object, so an order never hangs the manager.
constexpr std::chrono::seconds kDefaultPoll{1};
constexpr std::chrono::seconds kMaxRetryAfter{60};
constexpr int kMaxPolls = 60;
constexpr std::chrono::minutes kMaxPollTime{5};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Withdraws a published answer on every exit path.
struct CleanupGuard {
  Solver& solver;
  const ChallengeAnswer& answer;
  ~CleanupGuard() { solver.cleanup(answer); }
};

}  // namespace

const char* to_string(OrderFlow::State s) {
  switch (s) {
    case OrderFlow::State::Directory:
      return "directory";
    case OrderFlow::State::Account:
      return "account";
    case OrderFlow::State::NewOrder:
      return "new-order";
    case OrderFlow::State::Authorize:
      return "authorize";
    case OrderFlow::State::Finalize:
      return "finalize";
    case OrderFlow::State::PollOrder:
      return "poll-order";
    case OrderFlow::State::Download:
      return "download";
    case OrderFlow::State::Done:
      return "done";
    case OrderFlow::State::Failed:
      return "failed";
  }
  return "?";
}

Result<Issued> OrderFlow::run() {
  while (state_ != State::Done) {
    State at = state_;
    auto r = step();
    if (!r) {
      state_ = State::Failed;
      return Error{std::string(to_string(at)) + ": " + r.error().message};
    }
  }
  return std::move(issued_);
}

Result<bool> OrderFlow::step() {
  switch (state_) {
    case State::Directory: {
      auto r = client_.fetch_directory();
      if (!r) return r.error();
      state_ = State::Account;
      return true;
    }
    case State::Account:
      return do_account();
    case State::NewOrder:
      return do_new_order();
    case State::Authorize:
      return do_authorize();
    case State::Finalize:
      return do_finalize();
    case State::PollOrder:
      return do_poll_order();
    case State::Download:
      return do_download();
    case State::Done:
    case State::Failed:
      break;
  }
  return Error{"the order has ended"};
}

Result<HttpResponse> OrderFlow::post(const std::string& url,
                                     const std::optional<nlohmann::json>& payload,
                                     const std::string& accept) {
  return client_.post(url, account_.key.get(), account_.uri, payload, accept);
}

Result<bool> OrderFlow::do_account() {
  if (!account_.key) {
    auto k = generate_key("EC256");
    if (!k) return k.error();
    account_.key = std::move(*k);
    account_.uri.clear();
    account_changed_ = true;
  }
  // newAccount every time: with a known key the CA answers 200 and the existing account's URL
  // (RFC 8555 §7.3.1), which also recovers from a CA that forgot the account (a test CA restart,
  // a changed caServer) without a special case.
  const std::string url = client_.endpoint("newAccount");
  nlohmann::json payload{{"termsOfServiceAgreed", true}};
  if (!req_.email.empty()) payload["contact"] = nlohmann::json::array({"mailto:" + req_.email});
  if (!req_.eab_kid.empty()) {
    auto jwk = jwk_of(account_.key.get());
    if (!jwk) return jwk.error();
    auto eab = make_eab(*jwk, req_.eab_kid, req_.eab_hmac_encoded, url);
    if (!eab) return eab.error();
    payload["externalAccountBinding"] = *eab;
  }
  auto r = client_.post(url, account_.key.get(), "", payload);
  if (!r) return r.error();
  if (r->status != 200 && r->status != 201) return Error{"newAccount: " + describe_error(*r)};
  std::string location = r->header("Location");
  if (location.empty()) return Error{"newAccount: the CA sent no account URL"};
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (body.is_discarded()) body = nlohmann::json::object();
  if (location != account_.uri || body != account_.body || account_.email != req_.email) {
    account_.uri = location;
    account_.body = std::move(body);
    account_.email = req_.email;
    account_changed_ = true;
  }
  state_ = State::NewOrder;
  return true;
}

Result<bool> OrderFlow::do_new_order() {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& d : req_.domains) ids.push_back({{"type", "dns"}, {"value", d}});
  nlohmann::json payload{{"identifiers", ids}};
  // `replaces` only to a CA that implements ARI (RFC 9773 §5); others may reject the field.
  const bool replaces = !req_.replaces.empty() && client_.has_renewal_info();
  if (replaces) payload["replaces"] = req_.replaces;
  auto r = post(client_.endpoint("newOrder"), payload);
  if (!r) return r.error();
  if (r->status != 201 && replaces) {
    // A CA may refuse `replaces` (already replaced, unknown certificate): order plainly.
    log::warn("acme: the CA refused the ARI replacement; ordering without it",
              {{"domains", join(req_.domains)}, {"error", describe_error(*r)}});
    payload.erase("replaces");
    r = post(client_.endpoint("newOrder"), payload);
    if (!r) return r.error();
  }
  if (r->status != 201) return Error{describe_error(*r)};
  order_url_ = r->header("Location");
  auto j = parse_json(*r, "newOrder");
  if (!j) return j.error();
  order_ = std::move(*j);
  if (order_url_.empty() || json_string(order_, "finalize").empty()) {
    return Error{"the order has no URL or no finalize URL"};
  }
  state_ = State::Authorize;
  return true;
}

Result<bool> OrderFlow::do_authorize() {
  if (json_string(order_, "status") == "pending") {
    auto authzs = order_.value("authorizations", nlohmann::json::array());
    for (const auto& a : authzs.is_array() ? authzs : nlohmann::json::array()) {
      if (!a.is_string()) continue;
      auto r = authorize_one(a.get<std::string>());
      if (!r) return r;
    }
  }
  state_ = State::Finalize;
  return true;
}

Result<bool> OrderFlow::authorize_one(const std::string& authz_url) {
  auto r = post(authz_url, std::nullopt);
  if (!r) return r.error();
  if (r->status != 200) return Error{"authorization: " + describe_error(*r)};
  auto authz = parse_json(*r, "authorization");
  if (!authz) return authz.error();
  std::string name = json_string(authz->value("identifier", nlohmann::json()), "value");
  const bool wildcard = authz->value("wildcard", false) == true;
  const std::string shown = wildcard ? "*." + name : name;
  std::string status = json_string(*authz, "status");
  if (status == "valid") return true;
  if (status != "pending") return Error{"authorization for " + shown + " is " + status};

  // The first configured solver whose type the CA offers (solver.h).
  auto challenges = authz->value("challenges", nlohmann::json::array());
  if (!challenges.is_array()) challenges = nlohmann::json::array();
  Solver* solver = nullptr;
  nlohmann::json chosen;
  std::string offered;
  for (Solver* s : solvers_) {
    for (const auto& c : challenges) {
      if (solver == nullptr && json_string(c, "type") == s->type()) {
        solver = s;
        chosen = c;
      }
    }
  }
  if (solver == nullptr) {
    for (const auto& c : challenges) {
      offered += (offered.empty() ? "" : ", ") + json_string(c, "type");
    }
    std::string configured;
    for (Solver* s : solvers_) {
      configured += (configured.empty() ? "" : ", ") + std::string(s->type());
    }
    return Error{"the CA offers " + (offered.empty() ? std::string("no challenge") : offered) +
                 " for " + shown + " and the resolver answers " + configured +
                 (wildcard ? " (wildcard names need dnsChallenge)" : "")};
  }
  const std::string type(solver->type());
  std::string token = json_string(chosen, "token");
  std::string chal_url = json_string(chosen, "url");
  if (token.empty() || chal_url.empty()) return Error{"the " + type + " challenge has no token"};
  auto jwk = jwk_of(account_.key.get());
  if (!jwk) return jwk.error();

  ChallengeAnswer answer{name, wildcard, token, token + "." + jwk_thumbprint(*jwk)};
  CleanupGuard guard{*solver, answer};
  log::debug("acme: answering " + type, {{"domain", shown}});
  if (auto p = solver->present(answer); !p) {
    return Error{type + " for " + shown + ": " + p.error().message};
  }
  auto c = post(chal_url, nlohmann::json::object());
  if (!c) return c.error();
  if (c->status != 200) return Error{"challenge for " + shown + ": " + describe_error(*c)};

  auto done = poll(authz_url, "authorization for " + shown);
  if (!done) return done.error();
  if (json_string(*done, "status") == "valid") return true;
  // The reason is in the challenge's error (RFC 8555 §8): connection refused, wrong token...
  std::string why = "authorization for " + shown + " is " + json_string(*done, "status");
  auto done_challenges = done->value("challenges", nlohmann::json::array());
  for (const auto& ch : done_challenges.is_array() ? done_challenges : nlohmann::json::array()) {
    if (json_string(ch, "type") == type && ch.contains("error")) {
      std::string detail = json_string(ch["error"], "detail");
      why += ": " + (detail.empty() ? ch["error"].dump() : detail);
    }
  }
  return Error{why};
}

Result<nlohmann::json> OrderFlow::poll(const std::string& url, std::string_view what) {
  auto start = std::chrono::steady_clock::now();
  // The first poll comes soon (validation usually takes well under a second), then every
  // kDefaultPoll, or as the CA's Retry-After says.
  std::chrono::milliseconds delay{250};
  for (int i = 0; i < kMaxPolls && std::chrono::steady_clock::now() - start < kMaxPollTime; ++i) {
    if (!wait_(delay)) return Error{"stopped"};
    auto r = post(url, std::nullopt);
    if (!r) return r.error();
    if (r->status != 200) return Error{std::string(what) + ": " + describe_error(*r)};
    auto j = parse_json(*r, what);
    if (!j) return j.error();
    std::string status = json_string(*j, "status");
    if (status != "pending" && status != "processing") return j;
    std::chrono::milliseconds asked = r->retry_after(std::chrono::seconds(0));
    delay = asked.count() > 0 ? std::min<std::chrono::milliseconds>(asked, kMaxRetryAfter)
                              : std::min<std::chrono::milliseconds>(delay * 2, kDefaultPoll);
  }
  return Error{std::string(what) + " did not complete in time"};
}

Result<bool> OrderFlow::do_finalize() {
  auto key = generate_key(req_.key_type);
  if (!key) return key.error();
  cert_key_ = std::move(*key);
  auto csr = make_csr_der(cert_key_.get(), req_.domains);
  if (!csr) return csr.error();
  auto r = post(json_string(order_, "finalize"), nlohmann::json{{"csr", base64url_encode(*csr)}});
  if (!r) return r.error();
  if (r->status != 200) return Error{describe_error(*r)};
  auto j = parse_json(*r, "finalize");
  if (!j) return j.error();
  order_ = std::move(*j);
  state_ = State::PollOrder;
  return true;
}

Result<bool> OrderFlow::do_poll_order() {
  std::string status = json_string(order_, "status");
  if (status == "processing" || status == "pending" || status == "ready") {
    auto j = poll(order_url_, "order");
    if (!j) return j.error();
    order_ = std::move(*j);
    status = json_string(order_, "status");
  }
  if (status != "valid" || json_string(order_, "certificate").empty()) {
    std::string why = "the order is " + status;
    if (order_.contains("error")) why += ": " + json_string(order_["error"], "detail");
    return Error{why};
  }
  state_ = State::Download;
  return true;
}

Result<bool> OrderFlow::do_download() {
  constexpr const char* kPem = "application/pem-certificate-chain";
  auto r = post(json_string(order_, "certificate"), std::nullopt, kPem);
  if (!r) return r.error();
  if (r->status != 200) return Error{describe_error(*r)};
  std::string chain = r->body;
  if (split_pem_chain(chain).empty()) return Error{"the CA sent no PEM certificate"};
  if (!req_.preferred_chain.empty() && top_issuer_cn(chain) != req_.preferred_chain) {
    // RFC 8555 §7.4.2: alternate chains are offered as Link rel="alternate".
    for (const auto& alt : r->links("alternate")) {
      auto a = post(alt, std::nullopt, kPem);
      if (!a || a->status != 200) continue;
      if (top_issuer_cn(a->body) == req_.preferred_chain) {
        chain = a->body;
        break;
      }
    }
  }
  issued_.cert_pem = std::move(chain);
  issued_.key_pem = private_key_pem(cert_key_.get());
  state_ = State::Done;
  return true;
}

}  // namespace portier::acme
