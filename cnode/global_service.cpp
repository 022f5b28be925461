// global_name_server stand-in. See system_services.hpp.
#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::cnode {
namespace {

class GlobalNameServer final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& request, const Term&) override {
    HC_LOG(debug) << "global_name_server call " << request;
    if (request.is_record("set_lock", 2)) return Term(Atom("true"));
    if (request.is_record("del_lock", 2)) return Term(Atom("true"));
    return Term(Atom("ok"));
  }
  void handle_cast(const Term& request) override { HC_LOG(debug) << "global_name_server cast " << request; }
  void handle_info(const Term& m) override { HC_LOG(debug) << "global_name_server info " << m; }
};

}  // namespace

std::unique_ptr<Process> make_global_name_server() { return std::make_unique<GlobalNameServer>(); }

}  // namespace hc::cnode
