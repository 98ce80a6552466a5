// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
//
// Feed it bytes as they arrive; it reports the data spans inside them and where the coded body
// ends. It never copies or allocates: data spans point into the bytes given to feed(). Chunk
// extensions are checked and dropped; trailer fields are checked (same grammar as header fields)
// and dropped, their total size limited. One decoder per body; reset() for the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/error.h"

namespace portier::http {

class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(std::size_t max_trailer_bytes = 16 * 1024)
      : max_trailer_bytes_(max_trailer_bytes) {}

  struct Step {
    std::size_t consumed = 0;  // bytes of the input used by this step
    std::string_view data;     // body data found in this step (may be empty)
    bool done = false;         // the last chunk and trailers have been read
    Error error = Error::None;
  };

  // Decodes from the start of `in` until one data span is found, the body ends, an error occurs
  // or the input is used up. Call again with the rest of the input (in.substr(consumed)) until
  // consumed == 0 or done; bytes after the end of the body are left unconsumed.
  Step feed(std::string_view in);

  bool done() const { return state_ == State::Done; }
  void reset() { *this = ChunkedDecoder(max_trailer_bytes_); }
  // Appends the trailer section's field lines ("name: value\r\n", checked as they are read,
  // bounded by max_trailer_bytes) to `out` instead of dropping them; nullptr stops that. The
  // caller keeps `out` alive while feeding.
  void keep_trailers(std::string* out) { trailers_ = out; }

 private:
  enum class State : std::uint8_t {
    Size,          // hex digits of the chunk size
    Ext,           // after ';' until CR
    SizeLf,        // CR seen at the end of the size line
    Data,          // inside chunk data
    DataCr,        // expecting CR after data
    DataLf,        // expecting LF after data
    TrailerStart,  // at the start of a trailer line (or the final CRLF)
    TrailerLine,   // inside a trailer field line
    TrailerLf,     // CR seen at the end of a trailer line
    FinalLf,       // CR seen on the empty line ending the body
    Done,
  };
  State state_ = State::Size;
  std::uint64_t remaining_ = 0;
  int digits_ = 0;
  bool ext_in_quotes_ = false;
  std::size_t trailer_bytes_ = 0;
  std::size_t line_len_ = 0;
  bool line_saw_colon_ = false;
  std::size_t max_trailer_bytes_;
  std::string* trailers_ = nullptr;
};

}  // namespace portier::http
