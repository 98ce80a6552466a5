// One certificate order as an explicit state machine (RFC 8555 §7.1, §7.4, §8.3):
//
//   Directory -> Account -> NewOrder -> Authorize -> Finalize -> PollOrder -> Download -> Done
//
// Every state either advances or ends in Failed with an Error; polls honour Retry-After and are
// bounded (count and wall time). Each pending authorization is answered by the first solver whose
// challenge type the CA offers for it (solver.h); the answer is published only while that
// authorization is being validated, and withdrawn on every exit path.
//
// Threading: run() blocks the calling thread (the manager's) for the whole order; `wait` is how
// it sleeps between polls, and returns false when the manager is stopping (run() then fails).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "acme/client.h"
#include "acme/crypto.h"
#include "acme/solver.h"
#include "common/result.h"

namespace portier::acme {

// The ACME account as acme.json keeps it. `key` is null until one is generated.
struct Account {
  std::string email;
  Pkey key;
  std::string uri;      // the account URL (the JWS kid)
  nlohmann::json body;  // the account object the CA returned
};

struct OrderRequest {
  std::vector<std::string> domains;  // CN = domains[0]
  std::string key_type = "EC256";    // for the certificate's key
  std::string replaces;              // ARI certificate ID of the certificate being renewed
  std::string preferred_chain;
  std::string email;
  std::string eab_kid;
  std::string eab_hmac_encoded;
};

struct Issued {
  std::string cert_pem;  // leaf first
  std::string key_pem;
};

class OrderFlow {
 public:
  enum class State {
    Directory,
    Account,
    NewOrder,
    Authorize,
    Finalize,
    PollOrder,
    Download,
    Done,
    Failed
  };
  using Wait = acme::Wait;

  // `account` is read and updated (a new key, the account URL): the caller stores it when
  // account_changed() says so, whatever run() returned. `solvers`: in order of preference.
  OrderFlow(Client& client, std::vector<Solver*> solvers, Account& account, OrderRequest req,
            Wait wait)
      : client_(client),
        solvers_(std::move(solvers)),
        account_(account),
        req_(std::move(req)),
        wait_(std::move(wait)) {}

  Result<Issued> run();
  State state() const { return state_; }
  bool account_changed() const { return account_changed_; }

 private:
  Result<bool> step();
  Result<bool> do_account();
  Result<bool> do_new_order();
  Result<bool> do_authorize();
  Result<bool> authorize_one(const std::string& authz_url);
  Result<bool> do_finalize();
  Result<bool> do_poll_order();
  Result<bool> do_download();
  // POST-as-GET `url` until its "status" leaves pending/processing; returns the object.
  Result<nlohmann::json> poll(const std::string& url, std::string_view what);
  Result<HttpResponse> post(const std::string& url, const std::optional<nlohmann::json>& payload,
                            const std::string& accept = "");

  Client& client_;
  std::vector<Solver*> solvers_;
  Account& account_;
  OrderRequest req_;
  Wait wait_;
  State state_ = State::Directory;
  bool account_changed_ = false;
  std::string order_url_;
  nlohmann::json order_;
  Pkey cert_key_;
  Issued issued_;
};

const char* to_string(OrderFlow::State s);

}  // namespace portier::acme
