// Field serialization shared by the forwarder and the HTTP/1 writers (h1_serialize.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/pipeline/stream.h"

namespace portier::proxy {

// "Name: value\r\n".
void append_field(std::string& out, std::string_view name, std::string_view value);
// The edits' fields: sets (the last of each name) and appends; removals write nothing; Host is
// never written here (a request's Host is written first, once).
void append_edits(std::string& out, const std::vector<HeaderEdit>& edits);

}  // namespace portier::proxy
