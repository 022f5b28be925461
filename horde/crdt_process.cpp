#include "horde/crdt_process.hpp"

#include <exception>

#include "cnode/log.hpp"
#include "cnode/node.hpp"

namespace hc::horde {

namespace {
CrdtPartOptions part_options(const CrdtProcessOptions& o) {
  return CrdtPartOptions{o.name, o.sync_interval, o.max_sync_size, o.node_id, o.clock};
}
}  // namespace

CrdtProcess::CrdtProcess(CrdtProcessOptions options) : options_(std::move(options)), part_(part_options(options_)) {}

CrdtProcess::~CrdtProcess() = default;

void CrdtProcess::init() {
  set_trap_exit(true);
  part_.start(*this);
  notify_owner();
}

void CrdtProcess::handle_message(const Term& message) {
  if (auto down = cnode::as_down(message)) {
    part_.handle_down(*this, *down);  // a stale DOWN (demonitored neighbour) is ignored
  } else if (auto ex = cnode::as_exit(message)) {
    // DeltaCrdt has no clause for these and dies with its linked owner.
    if (!ex->reason.is_atom("normal")) exit(ex->reason);
    return;
  } else if (auto call = cnode::as_gen_call(message)) {
    part_.handle_call(*this, call->request, call->from);
  } else {
    part_.handle_message(*this, message);
  }
  notify_owner();
}

void CrdtProcess::put(const Term& key, const Term& value) {
  part_.put(*this, key, value);
  notify_owner();
}
void CrdtProcess::remove(const Term& key) {
  part_.remove(*this, key);
  notify_owner();
}
void CrdtProcess::set_neighbours(std::vector<Term> neighbours) {
  part_.set_neighbours(*this, std::move(neighbours));
  notify_owner();
}

void CrdtProcess::notify_owner() {
  if (!part_.has_changes()) return;
  auto changes = part_.take_changes();
  if (options_.owner) send(*options_.owner, tuple(options_.owner_tag, crdt::changes_to_term(changes)));
}

}  // namespace hc::horde
