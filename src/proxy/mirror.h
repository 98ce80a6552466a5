// Mirroring services (mirroring.mirrors): copies of requests sent in the background to mirror
// services, their responses read and dropped.
//
// Threading: everything runs on the worker that owns the client connection. A copy is its own
// detached coroutine with its own connection (dialled for it, `Connection: close`, never
// pooled) and one deadline for the whole exchange (kMirrorTimeout), so a slow, dead or
// black-holed mirror costs the client nothing. Bounded: at most
// WorkerState::kMaxMirrorsInFlight copies in flight per worker (more are dropped), and a body is
// kept for the copies only up to the service's maxBodySize (at most kMirrorBodyCeiling).
//
// Bodies: without a body, or with `mirrorBody: false`, the copy has none. With one, the copy
// goes only when the whole body was kept: a Content-Length above the limit, or a chunked body
// that grows past it, means no copy for that request (as Traefik, which skips mirroring when the
// body is too large). Upgrade requests (WebSocket) are not mirrored.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "proxy/forwarder.h"
#include "proxy/routing_table.h"
#include "proxy/worker_state.h"

namespace portier::proxy {

// How long one copy may take, connect to last response byte.
constexpr std::chrono::milliseconds kMirrorTimeout{10000};

// The copies one request owes its mirrors, made before the main exchange. Lives on forward()'s
// frame; `tee` receives the body while it streams to the main service.
struct MirrorBatch {
  struct Copy {
    const ServiceTarget* mirroring = nullptr;  // whose mirror: its body limit
    std::string service;                       // the mirror's load balancer, for logs
    boost::asio::ip::tcp::endpoint endpoint;
    std::string head;  // request line and fields, without body framing and the blank line
    bool with_body = false;
    std::shared_ptr<const Transport> tls;  // an https:// mirror: its transport
    std::string tls_host;
  };
  MirrorBatch() = default;
  MirrorBatch(const MirrorBatch&) = delete;
  MirrorBatch& operator=(const MirrorBatch&) = delete;
  ~MirrorBatch() {
    if (worker != nullptr) worker->release_mirror_slots(copies.size());
  }
  std::vector<Copy> copies;  // each holds one of the worker's mirror slots until it is sent
  BodyTee tee;
  WorkerState* worker = nullptr;  // set when copies hold slots
};

// Chooses the mirrors of each mirroring service the request passed (WorkerState's per-worker
// percent), picks their servers and serializes the copies' heads. Sets client.tee when a body
// is to be copied. Each copy takes one of the worker's kMaxMirrorsInFlight slots here, before
// any body is kept: with none free, the request is not mirrored and nothing is buffered.
void prepare_mirrors(WorkerState& w, ClientContext& client,
                     const std::vector<const ServiceTarget*>& mirrorings, MirrorBatch& out);

// Starts the copies in the background; returns at once. Copies with a body go only when the
// whole body was kept.
void send_mirrors(WorkerState& w, MirrorBatch& batch);

}  // namespace portier::proxy
