// global_name_server stand-in (see system_services.hpp).
//
// OTP's `global` runs a connection protocol with every visible node
// (kernel/src/global.erl, protocol vsn 8 in OTP 25): on nodeup both sides cast
// {init_connect, {Vsn, Tag}, Node, {locker, _, Known, TheLocker}}, lock their
// partitions, exchange their name tables and finally mark each other
// "synced". :global.sync() waits until every visible node is synced, so a
// node that never answers blocks it (horde-wire.md §7).
//
// We register no global names and take no global locks, so we skip the lock
// and exchange phases and tell the peer at once that we are in sync: the cast
// {in_sync, OurNode, true} makes its global_name_server put us in `synced`,
// notify its pending syncers ({synced, [OurNode]}) and cancel its locker
// session for us (handle_cast({in_sync, Node, IsKnown}, S) in global.erl).
// We never appear in the peer's `known` partition, so its global name
// registrations and locks (trans/2) never wait for us either; lock requests
// that still reach us are granted.
#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::cnode {
namespace {

class GlobalNameServer final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term&) override {
    HC_LOG(debug) << "global_name_server call " << request;
    if (request.is_record("set_lock", 2) || request.is_record("del_lock", 2)) return Term(Atom("true"));
    if (request.is_record("register", 4) || request.is_record("register_ext", 5)) return Term(Atom("yes"));
    if (request.is_atom("get_known") || request.is_atom("get_synced")) return Term::nil();
    if (request.is_atom("get_protocol_version")) return Term(8);
    return Term(Atom("ok"));
  }
  void handle_cast(const Term& request) override {
    HC_LOG(debug) << "global_name_server cast " << request;
    // {init_connect, {Vsn, Tag}, Node, InitMsg}
    if (request.is_record("init_connect", 4) && request.element(2)->is_atom()) {
      Atom peer = *request.element(2)->as_atom();
      send(Dest(Atom("global_name_server"), peer),
           tuple(Atom("$gen_cast"), tuple(Atom("in_sync"), node().name(), Atom("true"))));
    }
  }
  void handle_info(const Term& m) override { HC_LOG(debug) << "global_name_server info " << m; }
};

}  // namespace

std::unique_ptr<Process> make_global_name_server() { return std::make_unique<GlobalNameServer>(); }

}  // namespace hc::cnode
