#include "proxy/http/error.h"

#include <string>

namespace portier::http {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portier.http"; }
  std::string message(int ev) const override {
    return std::string(describe(static_cast<Error>(ev)));
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Error e) { return {static_cast<int>(e), error_category()}; }

int status_for(Error e) {
  switch (e) {
    case Error::None:
      return 200;
    case Error::UnsupportedVersion:
      return 505;
    case Error::UnsupportedTransferEncoding:
      return 501;
    case Error::HeadTooLarge:
    case Error::TooManyFields:
    case Error::TrailersTooLarge:
      return 431;
    case Error::TargetTooLong:
      return 414;
    case Error::BadConnectMethod:
      return 405;
    case Error::BadStatusLine:
      return 502;
    default:
      return 400;
  }
}

std::string_view describe(Error e) {
  switch (e) {
    case Error::None:
      return "no error";
    case Error::BadRequestLine:
      return "malformed request line";
    case Error::BadMethod:
      return "malformed method";
    case Error::BadTarget:
      return "malformed request target";
    case Error::BadVersion:
      return "malformed HTTP version";
    case Error::UnsupportedVersion:
      return "unsupported HTTP version";
    case Error::BareLineEnd:
      return "bare CR or LF";
    case Error::ObsFold:
      return "obsolete line folding";
    case Error::BadFieldName:
      return "malformed field name";
    case Error::SpaceBeforeColon:
      return "whitespace before colon";
    case Error::BadFieldValue:
      return "invalid character in field value";
    case Error::MissingHost:
      return "missing Host";
    case Error::DuplicateHost:
      return "more than one Host";
    case Error::BadHost:
      return "malformed Host";
    case Error::BadContentLength:
      return "malformed Content-Length";
    case Error::DuplicateContentLength:
      return "more than one Content-Length";
    case Error::LengthWithChunked:
      return "Content-Length with Transfer-Encoding";
    case Error::BadTransferEncoding:
      return "Transfer-Encoding not ending in chunked";
    case Error::UnsupportedTransferEncoding:
      return "unsupported transfer coding";
    case Error::BadChunk:
      return "malformed chunk";
    case Error::ChunkTooLarge:
      return "chunk size too large";
    case Error::TrailersTooLarge:
      return "trailer section too large";
    case Error::HeadTooLarge:
      return "header section too large";
    case Error::TooManyFields:
      return "too many header fields";
    case Error::TargetTooLong:
      return "request target too long";
    case Error::BadStatusLine:
      return "malformed status line";
    case Error::BadConnectMethod:
      return "CONNECT is not supported";
    case Error::UserinfoInTarget:
      return "userinfo in request target";
    case Error::BadPercentEncoding:
      return "malformed percent-encoding";
    case Error::EncodedCharacter:
      return "forbidden encoded character in path";
    case Error::FragmentInTarget:
      return "fragment in request target";
    case Error::H2cUpgrade:
      return "Upgrade to h2c is not supported";
    case Error::UnderscoreField:
      return "underscore in field name";
  }
  return "unknown error";
}

}  // namespace portier::http
