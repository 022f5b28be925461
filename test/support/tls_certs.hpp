// Test certificates for TLS distribution, made with the `openssl` command in
// a temporary directory that is removed with the object:
// - ca.pem/ca.key: the cluster CA; node.pem/node.key: a node certificate it
//   issued, valid for 127.0.0.1 as IP and DNS SAN (what inet_tls_dist's
//   host checks look at), for server and client use;
// - wrong_host.pem/.key: issued by the same CA for another host only;
// - rogue_ca.pem and rogue.pem/.key: a certificate from a CA nobody trusts.
// optfile(...) writes an -ssl_dist_optfile for BEAM and C++ nodes alike.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace hc::test {

class TlsCerts {
 public:
  TlsCerts() {
    char tmpl[] = "/tmp/hc_tls_XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ext("node.ext", "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1\n");
    ext("other.ext", "subjectAltName=DNS:other.invalid,IP:10.255.255.1\n");
    make_ca("ca", "hc-test-ca");
    make_ca("rogue_ca", "hc-rogue-ca");
    issue("node", "ca", "node.ext");
    issue("wrong_host", "ca", "other.ext");
    issue("rogue", "rogue_ca", "node.ext");
  }
  ~TlsCerts() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TlsCerts(const TlsCerts&) = delete;
  TlsCerts& operator=(const TlsCerts&) = delete;

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  // An option file: `cert` (node, wrong_host, rogue) presented on both sides,
  // `ca` trusted, verify_peer both ways (mutual), fail_if_no_peer_cert.
  std::string optfile(const std::string& name, const std::string& cert = "node", const std::string& ca = "ca",
                      const std::string& extra_client = "") const {
    std::string f = path(name);
    std::ofstream o(f);
    auto side = [&](const char* s, const std::string& extra) {
      o << "{" << s << ", [{certfile, \"" << path(cert + ".pem") << "\"}, {keyfile, \"" << path(cert + ".key")
        << "\"}, {cacertfile, \"" << path(ca + ".pem") << "\"}, {verify, verify_peer}, {secure_renegotiate, true}"
        << extra << "]}";
    };
    o << "[";
    side("server", ", {fail_if_no_peer_cert, true}");
    o << ",\n ";
    side("client", extra_client);
    o << "].\n";
    return f;
  }

 private:
  void run(const std::string& cmd) {
    std::string full = "cd '" + dir_ + "' && " + cmd + " >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0) throw std::runtime_error("openssl failed: " + cmd);
  }
  void ext(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text << "basicConstraints=CA:FALSE\n"
                                         "keyUsage=digitalSignature,keyEncipherment\n"
                                         "extendedKeyUsage=serverAuth,clientAuth\n";
  }
  void make_ca(const std::string& name, const std::string& cn) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + cn +
        " -keyout " + name + ".key -out " + name + ".pem");
  }
  void issue(const std::string& name, const std::string& ca, const std::string& extfile) {
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name + " -keyout " +
        name + ".key -out " + name + ".csr");
    run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -days 2 -out " +
        name + ".pem -extfile " + extfile);
  }
  std::string dir_;
};

}  // namespace hc::test
