#include "proxy/tls_socket.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cstring>
#include <new>

#include "proxy/reactor_hint.h"
#include "proxy/send_now.h"

namespace portier::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Room for one full TLS record (16 KiB of plaintext and its overhead), as ssl::stream's.
constexpr std::size_t kInSize = 17 * 1024;
// Buffers of one write_now up to this size are encrypted as one record.
constexpr std::size_t kCoalesce = 16 * 1024;
// Output room kept between writes: one full record. A larger write's (HTTP/2 batches frames
// up to 64 KiB) is given back when it has been sent.
constexpr std::size_t kKeepOut = 17 * 1024;

}  // namespace

// The BIO between OpenSSL and a TlsSocket: reads take from in_, writes append to out_.
struct BioMethods {
  static TlsSocket* self(BIO* b) { return static_cast<TlsSocket*>(BIO_get_data(b)); }

  static int write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    self(b)->out_.append(data, static_cast<std::size_t>(len));
    return len;
  }
  static int read(BIO* b, char* data, int len) {
    BIO_clear_retry_flags(b);
    TlsSocket* s = self(b);
    const std::size_t avail = s->in_end_ - s->in_pos_;
    if (avail == 0) {
      if (s->peer_ended_) return 0;
      BIO_set_retry_read(b);
      return -1;
    }
    const std::size_t k = std::min(avail, static_cast<std::size_t>(len));
    std::memcpy(data, s->in_.get() + s->in_pos_, k);  // avail > 0: in_ is allocated
    s->in_pos_ += k;
    if (s->in_pos_ == s->in_end_) s->in_pos_ = s->in_end_ = 0;
    return static_cast<int>(k);
  }
  static long ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_EOF: {
        TlsSocket* s = self(b);
        return s->peer_ended_ && s->in_pos_ == s->in_end_ ? 1 : 0;
      }
      default:
        return 0;
    }
  }
  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static BIO_METHOD* get() {
    static BIO_METHOD* const methods = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "portier tls");
      if (m == nullptr) return m;
      BIO_meth_set_write(m, &write);
      BIO_meth_set_read(m, &read);
      BIO_meth_set_ctrl(m, &ctrl);
      BIO_meth_set_create(m, &create);
      return m;
    }();
    return methods;
  }
};

TlsSocket::TlsSocket(asio::ip::tcp::socket& socket, SSL_CTX* ctx) : socket_(socket) {
  BIO_METHOD* methods = BioMethods::get();
  ssl_ = methods ? SSL_new(ctx) : nullptr;
  BIO* bio = ssl_ ? BIO_new(methods) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_set_bio takes the one reference
  SSL_set_accept_state(ssl_);
}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

TlsSocket::Want TlsSocket::attempt(Kind kind, void* data, std::size_t len, std::size_t& n,
                                   error_code& ec) {
  n = 0;
  if ((kind == Kind::Read || kind == Kind::Write) && len == 0) return Want::Done;
  // ssl::stream clears the queue before every call; a queue that is already empty (nearly
  // always) need not be walked.
  if (ERR_peek_error() != 0) ERR_clear_error();
  int r = 0;
  switch (kind) {
    case Kind::Handshake:
      r = SSL_do_handshake(ssl_);
      break;
    case Kind::Read:
      r = SSL_read_ex(ssl_, data, len, &n);
      break;
    case Kind::Write:
      r = SSL_write_ex(ssl_, data, len, &n);
      break;
    case Kind::Shutdown:
      r = SSL_shutdown(ssl_);
      if (r == 0) r = SSL_shutdown(ssl_);  // ours went; now the peer's close_notify
      break;
  }
  if (r == 1) return Want::Done;
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return Want::Input;
  const unsigned long lib = ERR_get_error();
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) {
    ec = asio::error::eof;  // the peer's close_notify
  } else if (peer_ended_ && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) == 0 &&
             in_pos_ == in_end_) {
    ec = asio::ssl::error::stream_truncated;  // the connection ended without close_notify
  } else if (lib != 0) {
    ec = error_code(static_cast<int>(lib), asio::error::get_ssl_category());
  } else {
    ec = asio::error::connection_reset;
  }
  return Want::Failed;
}

asio::mutable_buffer TlsSocket::in_space() {
  if (!in_) {
    in_ = big_blocks::make_bytes(kInSize);  // not zero-filled
    in_cap_ = kInSize;
  }
  if (in_pos_ == in_end_) in_pos_ = in_end_ = 0;
  if (in_end_ == in_cap_ && in_pos_ > 0) {
    std::memmove(in_.get(), in_.get() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
  }
  return asio::buffer(in_.get() + in_end_, in_cap_ - in_end_);
}

void TlsSocket::put_input(asio::const_buffer b) {
  // Bytes read before the handshake: a ClientHello, and whatever the client sent after it
  // (0-RTT data, which is refused, can make it more than a record's room).
  if (b.size() == 0) return;
  const std::size_t want = std::max(kInSize, in_end_ - in_pos_ + b.size());
  if (!in_ || in_cap_ < want) {
    big_blocks::Bytes bigger = big_blocks::make_bytes(want);
    if (in_) std::memcpy(bigger.get(), in_.get() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
    in_ = std::move(bigger);
    in_cap_ = want;
  }
  asio::mutable_buffer room = in_space();
  std::memcpy(room.data(), b.data(), b.size());
  in_end_ += b.size();
}

TlsSocket::Fill TlsSocket::fill_now(error_code& ec) {
  if (peer_ended_) {
    ec = asio::ssl::error::stream_truncated;  // OpenSSL wants more than the peer sent
    return Fill::Failed;
  }
  asio::mutable_buffer room = in_space();
  std::size_t n = 0;
  if (!proxy::read_now(socket_, room, n, ec)) return Fill::Wait;
  if (ec == asio::error::eof) {
    ec.clear();
    peer_ended_ = true;  // OpenSSL sees the end through the BIO (read returns 0)
    return Fill::Filled;
  }
  if (ec) return Fill::Failed;
  in_end_ += n;
  return Fill::Filled;
}

void TlsSocket::filled(error_code& ec, std::size_t n, bool mark) {
  if (ec == asio::error::eof) {
    ec.clear();
    peer_ended_ = true;
    return;
  }
  if (ec) return;
  const std::size_t room = in_cap_ - in_end_;
  in_end_ += n;
  if (mark) proxy::read_done(socket_, n, room);
}

bool TlsSocket::flush_now(error_code& ec) {
  ec.clear();
  if (!out_pending()) return true;
  if (sending_) return true;  // that operation sends this too, in order
  asio::const_buffer rest = asio::buffer(out_.data() + out_pos_, out_.size() - out_pos_);
  const bool done = send_now(&socket_, rest, ec);
  out_pos_ = out_.size() - rest.size();
  if (out_pos_ == out_.size() || ec) out_sent();
  return done;
}

void TlsSocket::out_sent() {
  out_pos_ = 0;
  if (out_.capacity() > kKeepOut) {
    std::string().swap(out_);  // a large write's room is not kept by an idle connection
  } else {
    out_.clear();
  }
}

void TlsSocket::sent(std::size_t n) {
  sending_ = false;
  out_pos_ += n;
  if (out_pos_ >= out_.size()) out_sent();
}

bool TlsSocket::read_now(asio::mutable_buffer buf, std::size_t& n, error_code& ec) {
  ec.clear();
  n = 0;
  if (reading_) return false;  // cannot happen: one read at a time
  for (;;) {
    const Want w = attempt(Kind::Read, buf.data(), buf.size(), n, ec);
    if (w == Want::Done || w == Want::Failed) {
      error_code fec;
      flush_now(fec);  // a read may write (a key update's answer); the rest goes later
      return true;
    }
    switch (fill_now(ec)) {
      case Fill::Filled:
        continue;
      case Fill::Failed:
        return true;
      case Fill::Wait:
        return false;
    }
  }
}

bool TlsSocket::write_now(std::span<asio::const_buffer> bufs, error_code& ec) {
  // A failed write: its alert, if OpenSSL wrote one, goes if the socket takes it now.
  auto failed = [this](error_code& e) {
    if (!e) e = asio::error::operation_not_supported;  // a write that wants input
    error_code ignored;
    flush_now(ignored);
    return true;
  };
  ec.clear();
  std::size_t total = 0;
  std::size_t parts = 0;
  for (const auto& b : bufs) {
    total += b.size();
    parts += b.size() > 0 ? 1 : 0;
  }
  std::size_t n = 0;
  if (parts > 1 && total <= kCoalesce) {
    // One record for a head and a small body: fewer bytes, one encryption's set-up.
    char one[kCoalesce];
    std::size_t at = 0;
    for (const auto& b : bufs) {
      std::memcpy(one + at, b.data(), b.size());
      at += b.size();
    }
    if (attempt(Kind::Write, one, total, n, ec) != Want::Done) return failed(ec);
  } else {
    for (const auto& b : bufs) {
      if (b.size() == 0) continue;
      if (attempt(Kind::Write, const_cast<void*>(b.data()), b.size(), n, ec) != Want::Done) {
        return failed(ec);
      }
    }
  }
  for (auto& b : bufs) b = asio::const_buffer();
  if (!flush_now(ec)) return false;
  return true;
}

}  // namespace portier::proxy
