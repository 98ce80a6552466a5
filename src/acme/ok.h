// Result<T> for a T that is itself convertible from anything (nlohmann::json, std::string):
// boost::system::result cannot pick a constructor for those, so say "value" explicitly.
#pragma once

#include <utility>

#include "common/result.h"

namespace portier::acme {

template <typename T>
Result<T> ok(T value) {
  return Result<T>(boost::system::in_place_value, std::move(value));
}

}  // namespace portier::acme
