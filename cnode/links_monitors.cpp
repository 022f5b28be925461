#include "cnode/links_monitors.hpp"

namespace hc::cnode {

Term make_down(const Reference& ref, const Term& item, const Term& reason) {
  static const Atom kDown("DOWN"), kProcess("process");
  return tuple(kDown, ref, kProcess, item, reason);
}

Term make_exit_message(const Pid& from, const Term& reason) {
  static const Atom kExit("EXIT");
  return tuple(kExit, from, reason);
}

}  // namespace hc::cnode
