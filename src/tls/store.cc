#include "tls/store.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/ascii.h"

namespace portier::tls {
namespace {

bool parse_version(const std::string& v, int& out) {
  static const std::pair<const char*, int> kVersions[] = {{"versiontls10", TLS1_VERSION},
                                                          {"versiontls11", TLS1_1_VERSION},
                                                          {"versiontls12", TLS1_2_VERSION},
                                                          {"versiontls13", TLS1_3_VERSION}};
  std::string l = ascii_lower(v);
  for (const auto& [name, value] : kVersions) {
    if (l == name) {
      out = value;
      return true;
    }
  }
  return false;
}

// Go's curve names (Traefik's) and the usual aliases, to OpenSSL group names.
bool curve_name(const std::string& c, std::string& out) {
  static const std::pair<const char*, const char*> kCurves[] = {
      {"curvep256", "P-256"}, {"secp256r1", "P-256"}, {"p-256", "P-256"},
      {"curvep384", "P-384"}, {"secp384r1", "P-384"}, {"p-384", "P-384"},
      {"curvep521", "P-521"}, {"secp521r1", "P-521"}, {"p-521", "P-521"},
      {"x25519", "X25519"},   {"x448", "X448"}};
  std::string l = ascii_lower(c);
  for (const auto& [name, value] : kCurves) {
    if (l == name) {
      out = value;
      return true;
    }
  }
  return false;
}

// Traefik's clientAuthType names, Go's crypto/tls semantics.
struct ClientAuthType {
  const char* name;
  int mode;
  bool verify;
};
constexpr ClientAuthType kClientAuthTypes[] = {
    {"NoClientCert", SSL_VERIFY_NONE, false},
    {"RequestClientCert", SSL_VERIFY_PEER, false},
    {"RequireAnyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, false},
    {"VerifyClientCertIfGiven", SSL_VERIFY_PEER, true},
    {"RequireAndVerifyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, true},
};

// clientAuth into `c`: the CA store and names from caFiles (each a path or PEM text; every
// certificate in them is a trust anchor, as in Go's CertPool), the verify mode, and the session
// id context. As Traefik: caFiles alone mean RequireAndVerifyClientCert.
Result<bool> compile_client_auth(const std::string& name, const config::ClientAuth& ca,
                                 CompiledOptions& c) {
  std::string digest_input = name;
  const ClientAuthType* type = &kClientAuthTypes[0];
  if (!ca.ca_files.empty()) {
    type = &kClientAuthTypes[4];
    std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
    std::shared_ptr<STACK_OF(X509_NAME)> names(
        sk_X509_NAME_new_null(),
        [](STACK_OF(X509_NAME) * s) { sk_X509_NAME_pop_free(s, X509_NAME_free); });
    if (store == nullptr || names == nullptr) return Error{"clientAuth: out of memory"};
    // Go trusts every certificate of the pool, intermediates included; OpenSSL wants a
    // self-signed root unless told that a partial chain ending at a trusted one is enough.
    X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
    for (const auto& file : ca.ca_files) {
      const bool inline_pem = file.find("-----BEGIN") != std::string::npos;
      auto pem = read_pem_source(file);
      if (!pem) return Error{"clientAuth.caFiles: " + pem.error().message};
      digest_input += '\0' + *pem;
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(
          BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
      int count = 0;
      while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        ++count;
        X509_STORE_add_cert(store.get(), x);  // a duplicate is refused harmlessly
        X509_NAME* subject = X509_NAME_dup(X509_get_subject_name(x));
        if (subject != nullptr && sk_X509_NAME_push(names.get(), subject) <= 0) {
          X509_NAME_free(subject);
        }
        X509_free(x);
      }
      ERR_clear_error();  // the end of the PEM text reads as an error
      if (count == 0) {
        return Error{inline_pem ? "clientAuth.caFiles: invalid certificate(s) content"
                                : "clientAuth.caFiles: invalid certificate(s) in `" + file + "`"};
      }
    }
    c.client_cas = std::move(store);
    c.client_ca_names = std::move(names);
  }
  if (!ca.client_auth_type.empty()) {
    type = nullptr;
    for (const auto& t : kClientAuthTypes) {
      if (ca.client_auth_type == t.name) type = &t;
    }
    if (type == nullptr) {
      return Error{"clientAuth.clientAuthType `" + ca.client_auth_type +
                   "` is unknown (NoClientCert, RequestClientCert, RequireAnyClientCert, "
                   "VerifyClientCertIfGiven, RequireAndVerifyClientCert)"};
    }
    if (type->verify && c.client_cas == nullptr) {
      return Error{"clientAuth.clientAuthType `" + ca.client_auth_type + "` needs caFiles"};
    }
  }
  c.client_verify_mode = type->mode;
  c.client_verify_chain = type->verify;
  if (type->mode != SSL_VERIFY_NONE) {
    digest_input += '\0';
    digest_input += type->name;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(digest_input.data(), digest_input.size(), md, &len, EVP_sha256(), nullptr) !=
            1 ||
        len > SSL_MAX_SID_CTX_LENGTH) {
      return Error{"clientAuth: cannot compute the session id context"};
    }
    c.session_id_context.assign(reinterpret_cast<const char*>(md), len);
  }
  return true;
}

}  // namespace

Result<CompiledOptions> compile_options(const std::string& name, const config::TlsOptions& o) {
  CompiledOptions c;
  c.name = name;
  c.min_version = TLS1_2_VERSION;
  if (!o.min_version.empty() && !parse_version(o.min_version, c.min_version)) {
    return Error{"minVersion `" + o.min_version + "` is not one of VersionTLS10..VersionTLS13"};
  }
  if (!o.max_version.empty() && !parse_version(o.max_version, c.max_version)) {
    return Error{"maxVersion `" + o.max_version + "` is not one of VersionTLS10..VersionTLS13"};
  }
  for (const auto& suite : o.cipher_suites) {
    std::string s = suite;
    // TLS 1.3 suites have the same names in Go and OpenSSL.
    if (s == "TLS_AES_128_GCM_SHA256" || s == "TLS_AES_256_GCM_SHA384" ||
        s == "TLS_CHACHA20_POLY1305_SHA256") {
      c.ciphersuites += (c.ciphersuites.empty() ? "" : ":") + s;
      continue;
    }
    // Go also accepts the ChaCha20 names without their _SHA256 suffix.
    if (s.size() > 17 && s.compare(s.size() - 17, 17, "CHACHA20_POLY1305") == 0) s += "_SHA256";
    const char* ossl = OPENSSL_cipher_name(s.c_str());
    if (ossl == nullptr || std::string_view(ossl) == "(NONE)") {
      return Error{"cipher suite `" + suite + "` is unknown"};
    }
    c.cipher_list += (c.cipher_list.empty() ? "" : ":") + std::string(ossl);
  }
  for (const auto& curve : o.curve_preferences) {
    std::string g;
    if (!curve_name(curve, g)) {
      return Error{"curve `" + curve + "` is unknown (CurveP256, CurveP384, CurveP521, X25519)"};
    }
    c.groups += (c.groups.empty() ? "" : ":") + g;
  }
  std::vector<std::string> alpn = o.alpn_protocols;
  if (alpn.empty()) alpn = {"h2", "http/1.1"};  // Traefik's default (less acme-tls/1)
  for (const auto& p : alpn) {
    if (p.empty() || p.size() > 255) return Error{"ALPN protocol `" + p + "` is invalid"};
    c.alpn_wire_any.push_back(static_cast<char>(p.size()));
    c.alpn_wire_any += p;
    if (p != "http/1.1" && p != "h2") continue;  // only what portier speaks is offered
    c.alpn_wire.push_back(static_cast<char>(p.size()));
    c.alpn_wire += p;
  }
  c.sni_strict = o.sni_strict;
  // OpenSSL itself checks the lists once here, so a handshake never meets a value it refuses.
  {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> probe(SSL_CTX_new(TLS_server_method()),
                                                            SSL_CTX_free);
    const char* bad = nullptr;
    if (probe == nullptr) {
      bad = "OpenSSL";
    } else if (!c.cipher_list.empty() &&
               SSL_CTX_set_cipher_list(probe.get(), c.cipher_list.c_str()) != 1) {
      bad = "cipherSuites";
    } else if (!c.ciphersuites.empty() &&
               SSL_CTX_set_ciphersuites(probe.get(), c.ciphersuites.c_str()) != 1) {
      bad = "cipherSuites (TLS 1.3)";
    } else if (!c.groups.empty() && SSL_CTX_set1_groups_list(probe.get(), c.groups.c_str()) != 1) {
      bad = "curvePreferences";
    }
    if (bad != nullptr) {
      ERR_clear_error();
      return Error{std::string(bad) + " refused by OpenSSL"};
    }
  }
  if (o.client_auth) {
    if (auto r = compile_client_auth(name, *o.client_auth, c); !r) return r.error();
  }
  c.is_default = c.min_version == TLS1_2_VERSION && c.max_version == 0 && c.cipher_list.empty() &&
                 c.ciphersuites.empty() && c.groups.empty() && !c.sni_strict &&
                 c.client_verify_mode == SSL_VERIFY_NONE;
  return c;
}

const Certificate* Store::find(std::string_view sni) const {
  if (sni.empty()) return nullptr;
  if (auto it = exact_.find(sni); it != exact_.end()) return it->second;
  std::size_t dot = sni.find('.');
  if (dot == std::string_view::npos) return nullptr;
  if (auto it = wildcard_.find(sni.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return nullptr;
}

const CompiledOptions& Store::options_for(std::string_view sni) const {
  if (!sni.empty()) {
    if (auto it = by_host_.find(sni); it != by_host_.end()) return *it->second;
  }
  return options_.find("default")->second;
}

const CompiledOptions* Store::options_named(std::string_view name) const {
  auto it = options_.find(name);
  return it == options_.end() ? nullptr : &it->second;
}

std::shared_ptr<const Store> StoreBuilder::build(std::vector<StoreError>& errors) const {
  auto store = std::make_shared<Store>();
  static const config::Tls kEmpty;
  const config::Tls& cfg = tls ? *tls : kEmpty;

  for (const auto& [name, o] : cfg.options) {
    auto c = compile_options(name, o);
    if (!c) {
      errors.push_back({"tls.options." + name, c.error().message});
      continue;
    }
    store->options_.emplace(name, std::move(*c));
  }
  if (!store->options_.count("default")) {
    store->options_.emplace("default", *compile_options("default", {}));
  }
  for (const auto& [host, name] : options_by_host) {
    auto it = store->options_.find(name);
    if (it == store->options_.end()) continue;  // the router reports the unknown name
    store->by_host_.emplace(host, &it->second);
  }

  auto add = [&](const std::shared_ptr<const Certificate>& c) {
    store->certificates_.push_back(c);
    for (const auto& n : c->names()) {
      if (n.size() > 2 && n[0] == '*' && n[1] == '.') {
        store->wildcard_.emplace(n.substr(2), c.get());  // the first one wins
      } else {
        store->exact_.emplace(n, c.get());
      }
    }
  };
  for (std::size_t i = 0; i < cfg.certificates.size(); ++i) {
    const auto& cf = cfg.certificates[i];
    const std::string object = "tls.certificates[" + std::to_string(i) + "]";
    auto cert_pem = read_pem_source(cf.cert_file);
    auto key_pem = read_pem_source(cf.key_file);
    if (!cert_pem || !key_pem) {
      errors.push_back({object, (!cert_pem ? cert_pem.error() : key_pem.error()).message});
      continue;
    }
    auto c = Certificate::from_pem(*cert_pem, *key_pem);
    if (!c) {
      errors.push_back({object, c.error().message});
      continue;
    }
    add(*c);
  }
  for (const auto& c : acme) add(c);

  store->default_ = generated_default;
  if (auto it = cfg.stores.find("default");
      it != cfg.stores.end() && it->second.default_certificate) {
    const auto& dc = *it->second.default_certificate;
    auto cert_pem = read_pem_source(dc.cert_file);
    auto key_pem = read_pem_source(dc.key_file);
    Result<std::shared_ptr<const Certificate>> c =
        cert_pem && key_pem ? Certificate::from_pem(*cert_pem, *key_pem)
                            : Result<std::shared_ptr<const Certificate>>(
                                  Error{(!cert_pem ? cert_pem.error() : key_pem.error()).message});
    if (c) {
      store->default_ = *c;
    } else {
      errors.push_back({"tls.stores.default.defaultCertificate",
                        c.error().message + "; serving the generated certificate instead"});
    }
  }
  if (!store->default_) store->default_ = Certificate::self_signed("PORTIER DEFAULT CERT");
  return store;
}

}  // namespace portier::tls
