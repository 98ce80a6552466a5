#include "proxy/http/chunked.h"

#include <algorithm>

#include "common/ascii.h"
#include "proxy/http/parser.h"

namespace portier::http {

ChunkedDecoder::Step ChunkedDecoder::feed(std::string_view in) {
  Step s;
  std::size_t i = 0;
  auto fail = [&](Error e) {
    s.error = e;
    s.consumed = i;
    return s;
  };
  while (i < in.size()) {
    char c = in[i];
    switch (state_) {
      case State::Size: {
        int h = hex_value(c);
        if (h >= 0) {
          // 15 hex digits keep the size below 2^60; more is no real body.
          if (++digits_ > 15) return fail(Error::ChunkTooLarge);
          remaining_ = remaining_ * 16 + static_cast<unsigned>(h);
          ++i;
        } else if (digits_ == 0) {
          return fail(Error::BadChunk);
        } else if (c == ';') {
          state_ = State::Ext;
          ++i;
        } else if (c == '\r') {
          state_ = State::SizeLf;
          ++i;
        } else {
          // Whitespace after the size (BWS before ';') is refused: nothing legitimate sends it
          // and parsers that disagree about it are a smuggling vector.
          return fail(Error::BadChunk);
        }
        break;
      }
      case State::Ext: {
        // chunk-ext: *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ).
        // Checked loosely: no CTLs (but HTAB), no bare LF; quoted strings may hold ';'.
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '"') {
          ext_in_quotes_ = !ext_in_quotes_;
        } else if (c == '\r' && !ext_in_quotes_) {
          state_ = State::SizeLf;
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return fail(Error::BadChunk);
        }
        if (++line_len_ > 4096) return fail(Error::BadChunk);
        ++i;
        break;
      }
      case State::SizeLf: {
        if (c != '\n') return fail(Error::BadChunk);
        ++i;
        line_len_ = 0;
        digits_ = 0;
        ext_in_quotes_ = false;
        state_ = remaining_ == 0 ? State::TrailerStart : State::Data;
        break;
      }
      case State::Data: {
        std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        s.data = in.substr(i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::DataCr;
        s.consumed = i;
        return s;  // one data span per step
      }
      case State::DataCr:
        if (c != '\r') return fail(Error::BadChunk);
        state_ = State::DataLf;
        ++i;
        break;
      case State::DataLf:
        if (c != '\n') return fail(Error::BadChunk);
        state_ = State::Size;
        ++i;
        break;
      case State::TrailerStart:
        if (c == '\r') {
          state_ = State::FinalLf;
        } else if (is_token_char(static_cast<unsigned char>(c))) {
          state_ = State::TrailerLine;
          line_saw_colon_ = false;
          if (trailers_ != nullptr) trailers_->push_back(c);
        } else {
          return fail(Error::BadChunk);
        }
        if (++trailer_bytes_ > max_trailer_bytes_) return fail(Error::TrailersTooLarge);
        ++i;
        break;
      case State::TrailerLine: {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\r') {
          if (!line_saw_colon_) return fail(Error::BadChunk);
          state_ = State::TrailerLf;
        } else if (!line_saw_colon_) {
          if (c == ':') {
            line_saw_colon_ = true;
          } else if (!is_token_char(u)) {
            return fail(Error::BadChunk);
          }
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return fail(Error::BadChunk);
        }
        if (++trailer_bytes_ > max_trailer_bytes_) return fail(Error::TrailersTooLarge);
        if (trailers_ != nullptr) trailers_->push_back(c);
        ++i;
        break;
      }
      case State::TrailerLf:
        if (c != '\n') return fail(Error::BadChunk);
        state_ = State::TrailerStart;
        if (trailers_ != nullptr) trailers_->push_back(c);
        ++i;
        break;
      case State::FinalLf:
        if (c != '\n') return fail(Error::BadChunk);
        state_ = State::Done;
        ++i;
        s.done = true;
        s.consumed = i;
        return s;
      case State::Done:
        s.done = true;
        s.consumed = i;
        return s;
    }
  }
  s.consumed = i;
  s.done = state_ == State::Done;
  return s;
}

}  // namespace portier::http
