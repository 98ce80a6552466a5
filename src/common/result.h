// Result<T> for the control plane: a value or an Error with a human-readable message.
// (The data plane uses std::error_code; exceptions are for startup and programming errors.)
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>

namespace portier {

struct Error {
  std::string message;  // complete sentence(s), e.g. "a.yml:3:5: unknown key `adress`"
};

// Called by Result::value() on an error; Result users should test before calling value().
[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

template <typename T>
using Result = boost::system::result<T, Error>;

}  // namespace portier
