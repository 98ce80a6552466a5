#include "proxy/subrequest.h"
#include "proxy/connect.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "proxy/buffer.h"
#include "proxy/deadline.h"
#include "proxy/http/chunked.h"
#include "proxy/http/message.h"
#include "proxy/worker_state.h"
#include "tls/certificate.h"

namespace portier::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Interim (1xx) responses skipped before the final one; more is a malformed answer.
constexpr int kMaxInterim = 5;
// The response head's limit, and the read buffer (a head must fit in it whole).
constexpr std::size_t kBufferBytes = 32 * 1024;

// What the deadline stops: the resolution, or the socket (closed, so that an operation started
// after the deadline passed fails at once too).
struct Cancel {
  tcp::resolver* resolver = nullptr;
  tcp::socket* socket = nullptr;
};
void on_deadline(void* p) {
  auto* c = static_cast<Cancel*>(p);
  c->resolver->cancel();
  error_code ec;
  c->socket->close(ec);
}

bool eof(const error_code& ec) {
  // A TLS server that closes without close_notify ends its body as a plain one would.
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Writes the request and reads the response on a connected (and handshaken) stream.
template <typename S>
asio::awaitable<SubError> exchange(S& s, const SubRequest& req, const std::string& head,
                                   SubResponse& out) {
  std::array<asio::const_buffer, 2> bufs = {
      asio::buffer(head), req.body ? asio::buffer(*req.body) : asio::const_buffer()};
  if (auto [ec, n] = co_await asio::async_write(s, bufs, kNoThrow); ec) co_return SubError::Io;

  Buffer buf(kBufferBytes);
  http::Limits limits;
  limits.max_head_bytes = kBufferBytes;
  http::ResponseHead rh;
  http::ParseResult pr;
  for (int interim = 0;; ++interim) {
    for (;;) {
      if (!buf.empty()) {
        pr = http::parse_response_head(buf.readable(), limits, rh);
        if (pr.status != http::ParseStatus::Partial) break;
        if (buf.full()) co_return SubError::Malformed;
      }
      auto [ec, n] = co_await s.async_read_some(buf.prepare(), kNoThrow);
      if (ec) co_return SubError::Io;
      buf.commit(n);
    }
    if (pr.status == http::ParseStatus::Failed) co_return SubError::Malformed;
    if (rh.status >= 200) break;
    if (rh.status == 101 || interim >= kMaxInterim) co_return SubError::Malformed;
    buf.consume(pr.head_size);
  }
  http::ResponseInfo info;
  if (http::analyze_response(rh, req.method, info) != http::Error::None) {
    co_return SubError::Malformed;
  }
  out.status = rh.status;
  out.fields.reserve(rh.fields.count);
  for (const auto& f : rh.fields) out.fields.emplace_back(f.name, f.value);
  buf.consume(pr.head_size);

  const http::Framing framing = info.framing;
  if (framing.kind == http::BodyKind::Length && framing.length > req.max_body) {
    co_return SubError::TooLarge;
  }
  http::ChunkedDecoder decoder;
  std::uint64_t remaining = framing.length;
  for (;;) {
    const std::string_view avail = buf.readable();
    std::size_t used = 0;
    bool done = false;
    switch (framing.kind) {
      case http::BodyKind::None:
        done = true;
        break;
      case http::BodyKind::Length:
        used = static_cast<std::size_t>(std::min<std::uint64_t>(avail.size(), remaining));
        out.body.append(avail.substr(0, used));
        remaining -= used;
        done = remaining == 0;
        break;
      case http::BodyKind::UntilClose:
        used = avail.size();
        out.body.append(avail);
        break;
      case http::BodyKind::Chunked:
        while (used < avail.size() && !done) {
          auto step = decoder.feed(avail.substr(used));
          if (step.error != http::Error::None) co_return SubError::Malformed;
          used += step.consumed;
          out.body.append(step.data);
          done = step.done;
          if (step.consumed == 0) break;
        }
        break;
    }
    buf.consume(used);
    if (out.body.size() > req.max_body) co_return SubError::TooLarge;
    if (done) co_return SubError::None;
    auto [ec, n] = co_await s.async_read_some(buf.prepare(), kNoThrow);
    if (eof(ec) && framing.kind == http::BodyKind::UntilClose) co_return SubError::None;
    if (ec) co_return SubError::Io;
    buf.commit(n);
  }
}

asio::awaitable<SubError> connect(const SubTarget& t, tcp::resolver& resolver,
                                  tcp::socket& socket) {
  if (t.endpoint) {
    const error_code ec = co_await proxy::connect(socket, *t.endpoint);
    co_return ec ? SubError::Connect : SubError::None;
  }
  auto [rec, results] = co_await resolver.async_resolve(t.host, t.port, kNoThrow);
  if (rec) co_return SubError::Resolve;
  error_code ec = asio::error::host_not_found;
  for (const auto& entry : results) {  // each address in turn, as asio::async_connect would
    ec = co_await proxy::connect(socket, entry.endpoint());
    if (!ec || ec == asio::error::operation_aborted) break;
  }
  co_return ec ? SubError::Connect : SubError::None;
}

}  // namespace

const std::string* SubResponse::field(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (http::iequals(n, name)) return &v;
  }
  return nullptr;
}

std::string_view describe(SubError e) {
  switch (e) {
    case SubError::None: return "ok";
    case SubError::Resolve: return "name resolution failed";
    case SubError::Connect: return "connection failed";
    case SubError::Tls: return "TLS handshake failed";
    case SubError::Io: return "read or write failed";
    case SubError::Timeout: return "timeout";
    case SubError::Malformed: return "malformed response";
    case SubError::TooLarge: return "response body too large";
  }
  return "error";
}

asio::awaitable<SubResult> send_subrequest(WorkerState& w, const SubTarget& t,
                                           const SubRequest& req) {
  std::string head(req.head);
  if (req.body) {
    char len[24];
    auto [end, ec0] = std::to_chars(len, len + sizeof len, req.body->size());
    head.append("Content-Length: ").append(len, end).append("\r\n");
  }
  head.append("Connection: close\r\n\r\n");

  SubResult r;
  tcp::resolver resolver(w.executor());
  tcp::socket socket(w.executor());
  Cancel cancel{&resolver, &socket};
  Deadline deadline(w.wheel(), on_deadline, &cancel);
  deadline.arm(req.timeout);
  r.error = co_await connect(t, resolver, socket);
  if (r.error == SubError::None) {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (t.tls) {
      asio::ssl::stream<tcp::socket&> tls(socket, *t.tls);
      SSL* ssl = tls.native_handle();
      error_code ip_ec;
      (void)asio::ip::make_address(t.host, ip_ec);
      if (ip_ec) SSL_set_tlsext_host_name(ssl, t.host.c_str());  // no SNI for IP literals
      if (t.verify) {
        if (ip_ec) {
          SSL_set1_host(ssl, t.host.c_str());
        } else {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t.host.c_str());
        }
      }
      auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kNoThrow);
      r.error = hec ? SubError::Tls : co_await exchange(tls, req, head, r.response);
    } else {
      r.error = co_await exchange(socket, req, head, r.response);
    }
  }
  deadline.disarm();
  if (deadline.expired() && r.error != SubError::None) r.error = SubError::Timeout;
  error_code ignored;
  socket.close(ignored);
  co_return r;
}

Result<std::shared_ptr<asio::ssl::context>> make_client_tls(const ClientTlsConfig& c) {
  using R = Result<std::shared_ptr<asio::ssl::context>>;
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (c.insecure_skip_verify) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (c.ca.empty()) {
      SSL_CTX_set_default_verify_paths(native);
    } else {
      auto pem = tls::read_pem_source(c.ca);
      if (!pem) return R(boost::system::in_place_error, Error{"tls.ca: " + pem.error().message});
      BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
      X509_STORE* store = SSL_CTX_get_cert_store(native);
      int added = 0;
      while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        added += X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
      }
      BIO_free(bio);
      ERR_clear_error();
      if (added == 0) {
        return R(boost::system::in_place_error, Error{"tls.ca: no certificate found"});
      }
    }
  }
  if (!c.cert.empty() || !c.key.empty()) {
    if (c.cert.empty() || c.key.empty()) {
      return R(boost::system::in_place_error, Error{"tls.cert and tls.key go together"});
    }
    auto cert = tls::read_pem_source(c.cert);
    if (!cert) return R(boost::system::in_place_error, Error{"tls.cert: " + cert.error().message});
    auto key = tls::read_pem_source(c.key);
    if (!key) return R(boost::system::in_place_error, Error{"tls.key: " + key.error().message});
    auto parsed = tls::Certificate::from_pem(*cert, *key);
    if (!parsed) {
      return R(boost::system::in_place_error, Error{"tls.cert: " + parsed.error().message});
    }
    const auto& pc = **parsed;
    SSL_CTX_use_certificate(native, pc.leaf());
    SSL_CTX_use_PrivateKey(native, pc.key());
    if (STACK_OF(X509)* chain = pc.chain()) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        SSL_CTX_add1_chain_cert(native, sk_X509_value(chain, i));
      }
    }
  }
  return ctx;
}

}  // namespace portier::proxy
