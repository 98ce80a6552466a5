// Server-side TLS on a client connection, driven by portier rather than by Asio's ssl::stream.
//
// OpenSSL reads and writes through a BIO of ours: records come from `in_`, ciphertext the
// socket delivered, and go to `out_`, which is sent with one sendmsg when the call returns.
// What that buys over ssl::stream, per connection and per request:
// - reads and writes that can be done at once are (read_now, write_now: no trip through the
//   worker's queue, which Asio 1.81 takes for every operation that completes at once, and no
//   recv on a socket the last read emptied; see reactor_hint.h and send_now.h);
// - one copy each way (ssl::stream copies through a BIO pair and its own buffers), and no
//   zero-filled buffers (ssl::stream value-initialises two of 17 KiB for every connection);
// - a response head and a small body go out as one record, not one per buffer;
// - OpenSSL's error queue is cleared only when it holds something (ERR_clear_error, which
//   ssl::stream calls before every operation, walks all of its slots).
//
// The asynchronous operations have ssl::stream's signatures (async_handshake, async_read_some,
// async_write_some, async_shutdown), so ClientStream, the forwarder's copy loops, the HTTP/2
// connection and TCP routers' TLS termination use either. Errors are ssl::stream's too: eof
// after the peer's close_notify, ssl::error::stream_truncated when the connection ends without
// one, an error of Asio's SSL category for a failed record or handshake.
//
// A read and a write may be pending at once (HTTP/2 reads while it writes); two reads or two
// writes may not. Output is sent in order: while one operation waits to send, the others add
// to `out_` behind it and that operation sends everything before it completes.
//
// Threading: the socket's worker, like the socket.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "common/big_blocks.h"

namespace portier::proxy {

class TlsSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  // A server-side SSL for `socket` from `ctx`. Throws std::bad_alloc when OpenSSL cannot make it.
  TlsSocket(boost::asio::ip::tcp::socket& socket, SSL_CTX* ctx);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  SSL* native_handle() { return ssl_; }
  // Nothing is pending either way and no ciphertext is buffered: waiting for the socket to be
  // readable (no read operation, no buffer) is then the same as a read's wait.
  bool quiet() const { return !reading_ && !sending_ && !out_pending() && in_pos_ == in_end_; }
  // quiet() but for one pending read: cancelling that read leaves nothing half done.
  bool quiet_but_reading() const { return !sending_ && !out_pending() && in_pos_ == in_end_; }
  // Gives the input and output room back while quiet() (an idle connection), and OpenSSL's own
  // record buffers (kept between reads of a connection that cleared SSL_MODE_RELEASE_BUFFERS);
  // the next read and write make them again.
  void release_buffers() {
    if (!quiet()) return;
    in_.reset();
    in_cap_ = in_pos_ = in_end_ = 0;
    std::string().swap(out_);
    out_pos_ = 0;
    SSL_free_buffers(ssl_);  // refuses (0) while OpenSSL holds unread bytes: kept then
  }
  // Memory held for ciphertext between operations (input room and output room): at most
  // about two records' worth once a write is sent, whatever its size.
  std::size_t held_bytes() const { return in_cap_ + out_.capacity(); }
  executor_type get_executor() { return socket_.get_executor(); }

  // Reads decrypted bytes into `buf` without waiting. Returns true when the read is over (`n`
  // bytes, or `ec`), false when more must come from the peer: the caller then starts
  // async_read_some at once.
  bool read_now(boost::asio::mutable_buffer buf, std::size_t& n, boost::system::error_code& ec);
  // Encrypts all of `bufs` (emptying them) and sends what the socket takes. Returns true when
  // all is sent or `ec` says why not; false when ciphertext is left: the caller then calls
  // async_write with `bufs` (now empty), whose one async_write_some sends the rest.
  bool write_now(std::span<boost::asio::const_buffer> bufs, boost::system::error_code& ec);

  // The handshake, over `initial` (bytes of the ClientHello already read) and what follows.
  // Completes with the number of `initial`'s bytes used (all of them; 0 when it fails).
  template <typename Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type,
                       boost::asio::const_buffer initial, Token&& token) {
    put_input(initial);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        Op<true>{this, Kind::Handshake, {}, {}, initial.size()}, token, socket_);
  }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    boost::asio::mutable_buffer b = first(buffers);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        Op<true>{this, Kind::Read, b, {}, 0}, token, socket_);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    boost::asio::const_buffer b = first(buffers);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        Op<true>{this, Kind::Write, {}, b, 0}, token, socket_);
  }

  // Sends close_notify and waits for the peer's (or the end of the connection).
  template <typename Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        Op<false>{this, Kind::Shutdown, {}, {}, 0}, token, socket_);
  }

 private:
  enum class Kind { Handshake, Read, Write, Shutdown };
  enum class Want { Done, Input, Failed };
  enum class Fill { Filled, Wait, Failed };

  // One OpenSSL call with the input at hand; its output is left in out_.
  Want attempt(Kind kind, void* data, std::size_t len, std::size_t& n,
               boost::system::error_code& ec);
  // More ciphertext into in_ without waiting (reactor_hint.h's read_now).
  Fill fill_now(boost::system::error_code& ec);
  // After async_read_some into in_space() read `n` bytes (or ended with `ec`, which is
  // cleared for the end of the stream: OpenSSL is told through the BIO). `mark`: nothing was
  // written while it waited, so a short read may mark the socket drained (read_done).
  void filled(boost::system::error_code& ec, std::size_t n, bool mark);
  boost::asio::mutable_buffer in_space();
  void put_input(boost::asio::const_buffer b);
  // Sends out_ without waiting; true when nothing is left (or another operation is sending it).
  bool flush_now(boost::system::error_code& ec);
  // An asynchronous send of out_ took `n` bytes.
  void sent(std::size_t n);
  // out_ is all sent: empties it, and gives its memory back if a large write grew it.
  void out_sent();
  bool out_pending() const { return out_pos_ < out_.size(); }

  template <typename Buffers>
  static auto first(const Buffers& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (; it != end; ++it) {
      if (it->size() != 0) return *it;
    }
    using B = std::decay_t<decltype(*it)>;
    return B();
  }

  // The state machine of every operation: send pending output, make the OpenSSL call, read
  // more input when it wants some, send its output, complete. An operation that completes
  // without waiting posts its completion (never completes inside its initiation).
  // `Count`: the completion has a byte count (all but async_shutdown's).
  template <bool Count>
  struct Op {
    enum class At { Start, Sending, Reading, Posted };
    TlsSocket* s;
    Kind kind;
    boost::asio::mutable_buffer rbuf;
    boost::asio::const_buffer wbuf;
    std::size_t used = 0;  // the handshake's: initial bytes consumed
    At at = At::Start;
    bool waited = false;     // went through an asynchronous step
    bool called = false;     // the OpenSSL call is done
    bool may_mark = false;   // reading: no send was pending when the read started
    unsigned sends_before = 0;
    boost::system::error_code result;
    std::size_t n = 0;

    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t bytes = 0) {
      switch (at) {
        case At::Start:
          break;
        case At::Sending:
          s->sent(bytes);
          if (ec) return finish(self, called && result ? result : ec, 0);
          break;
        case At::Reading:
          s->reading_ = false;
          s->filled(ec, bytes, may_mark && s->async_sends_ == sends_before && !s->sending_);
          if (ec) return finish(self, ec, 0);
          break;
        case At::Posted:
          return complete(self, result, n);
      }
      for (;;) {
        // Output first: what an earlier call wrote, then what this one wrote (the peer may
        // wait for it before it sends what this call wants). Another operation that is
        // sending sends it all.
        if (s->out_pending() && !s->sending_) {
          boost::system::error_code fec;
          if (!s->flush_now(fec)) return send(self);
          if (fec) return finish(self, called && result ? result : fec, 0);
        }
        if (called) return finish(self, result, n);
        const Want w = call(ec);
        if (w == Want::Failed) {
          // An alert OpenSSL wrote (a refused client certificate, say) goes out before the
          // operation fails, as ssl::stream sends it: the peer learns why.
          result = ec;
          n = 0;
          called = true;
          continue;
        }
        if (w == Want::Done) {
          called = true;
          continue;
        }
        if (s->reading_) {  // a write that wants input while a read waits: not with TLS 1.3
          return finish(self, boost::asio::error::operation_not_supported, 0);
        }
        if (s->out_pending() && !s->sending_) continue;  // send before reading
        boost::system::error_code rec;
        switch (s->fill_now(rec)) {
          case Fill::Filled:
            continue;
          case Fill::Failed:
            return finish(self, rec, 0);
          case Fill::Wait:
            return read(self);
        }
      }
    }

    Want call(boost::system::error_code& ec) {
      switch (kind) {
        case Kind::Read:
          return s->attempt(kind, rbuf.data(), rbuf.size(), n, ec);
        case Kind::Write:
          return s->attempt(kind, const_cast<void*>(wbuf.data()), wbuf.size(), n, ec);
        case Kind::Handshake:
        case Kind::Shutdown:
          break;
      }
      std::size_t ignored = 0;
      const Want w = s->attempt(kind, nullptr, 0, ignored, ec);
      n = used;
      return w;
    }
    template <typename Self>
    void send(Self& self) {
      at = At::Sending;
      waited = true;
      s->sending_ = true;
      ++s->async_sends_;
      boost::asio::async_write(
          s->socket_,
          boost::asio::buffer(s->out_.data() + s->out_pos_, s->out_.size() - s->out_pos_),
          std::move(self));
    }
    template <typename Self>
    void read(Self& self) {
      at = At::Reading;
      waited = true;
      s->reading_ = true;
      may_mark = !s->sending_;
      sends_before = s->async_sends_;
      s->socket_.async_read_some(s->in_space(), std::move(self));
    }
    template <typename Self>
    void finish(Self& self, const boost::system::error_code& ec, std::size_t k) {
      if (waited) return complete(self, ec, k);
      at = At::Posted;
      result = ec;
      n = k;
      boost::asio::post(std::move(self));
    }
    template <typename Self>
    static void complete(Self& self, const boost::system::error_code& ec, std::size_t k) {
      if constexpr (Count) {
        self.complete(ec, k);
      } else {
        self.complete(ec);
      }
    }
  };

  friend struct BioMethods;

  boost::asio::ip::tcp::socket& socket_;
  SSL* ssl_ = nullptr;
  big_blocks::Bytes in_;  // ciphertext from the peer, made when first needed
  std::size_t in_cap_ = 0, in_pos_ = 0, in_end_ = 0;
  bool peer_ended_ = false;  // the socket reported end of file
  std::string out_;          // ciphertext for the peer
  std::size_t out_pos_ = 0;
  bool sending_ = false;     // an operation waits for the socket to take out_
  bool reading_ = false;     // an operation waits for input
  unsigned async_sends_ = 0;  // sends that waited, for Op's use of read_done
};

}  // namespace portier::proxy
