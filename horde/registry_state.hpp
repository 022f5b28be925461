// The Horde.Registry role as a pure state machine: it mirrors
// Horde.RegistryImpl (horde 0.10.0, lib/horde/registry_impl.ex) event by
// event, without sockets, clocks or processes.
//
// Events in:  a gen_server call on `N`, a batch of CRDT diffs reported by the
//             local 'N.Crdt', the exit of a linked process.
// Actions out: CRDT operations (bulk adds/removes on the local 'N.Crdt'),
//             neighbour updates, links, exit signals, listener notifications.
//
// The adapter (registry_process) executes the actions in order. As in Horde,
// CRDT operations are synchronous for the caller, but the diffs they cause
// come back to the state machine later as a separate `on_crdt_diffs` event
// (Horde receives them as a `{crdt_update, Diffs}` message).
//
// Data model (horde-wire.md §5):
//   {member, {N, Node}}  => 1
//   {key, Name}          => {{N, Node}, Pid, Value}
//   {registry, MetaKey}  => MetaValue
//
// Local views kept here correspond to Horde's four ETS tables:
//   keys    Name => {Member, Pid, Value}   ('keys_N')
//   pids    Pid  => [Name]                 ('pids_N'; indexed here only for
//                                           pids that are local or that we
//                                           linked: nobody else sends EXIT)
//   members Member                         ('members_N': what lookup checks)
//   meta    MetaKey => MetaValue           ('N')
// plus `members_` (RegistryImpl's State.members, which set_members replaces
// directly while the ETS members table follows the CRDT).
//
// Deviations from RegistryImpl, on purpose:
// - Malformed diffs/calls (where RegistryImpl would crash with a
//   FunctionClauseError and be restarted by its supervisor) are reported as
//   a `Problem` action and otherwise ignored; malformed calls get
//   `{error, {bad_request, Request}}`.
// - The names of an exited process are dropped from the CRDT only while the
//   CRDT still maps them to that process. RegistryImpl drops them
//   unconditionally, which loses both names of a conflict when the loser's
//   EXIT (sent by another node that already resolved the conflict) is
//   handled after the local CRDT has joined the winner's entry but before
//   its diff was processed: the drop's context then covers the winner too.
// - set_initial_members leaves our own CRDT out of the neighbour list
//   (RegistryImpl's `List.delete(members, [self])` never matches, so the BEAM
//   CRDT briefly syncs with itself; harmless there, pointless here).
//
// Thread safety: none; one owner (the registry process strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "crdt/block_arena.hpp"
#include "horde/horde_messages.hpp"
#include "horde/slab.hpp"
#include "interop/term.hpp"

namespace hc::horde {

// ---- actions ---------------------------------------------------------------

// One operation on the local CRDT. `value` is ignored for removes.
// `if_pid`: remove only while the CRDT's current value of the {key, _} still
// names that pid (see on_exit).
struct CrdtOp {
  enum class Kind : std::uint8_t { Add, Remove };
  Kind kind = Kind::Add;
  Term key;
  Term value;
  std::optional<Pid> if_pid;
  bool operator==(const CrdtOp&) const = default;
  // Whether a Remove op takes effect given the key's current CRDT value
  // (nullptr: absent): with if_pid, a name the CRDT already gave to another
  // process is left alone. The CRDT host and the tests' stand-in share it.
  bool removes(const Term* current) const;
};

// DeltaCrdt.put/merge/delete/drop on 'N.Crdt' (one call; several ops are one
// bulk_operation).
struct CrdtOpsAction {
  std::vector<CrdtOp> ops;
  bool operator==(const CrdtOpsAction&) const = default;
};

// send('N.Crdt', {set_neighbours, Names}); Names are {'N.Crdt', Node}.
struct SetNeighboursAction {
  std::vector<Term> neighbours;
  bool operator==(const SetNeighboursAction&) const = default;
};

// Process.link(Pid) from the registry process.
struct LinkAction {
  Pid pid;
  bool operator==(const LinkAction&) const = default;
};

// Process.exit(Pid, Reason) from the registry process (local or remote pid).
struct ExitAction {
  Pid pid;
  Term reason;
  bool operator==(const ExitAction&) const = default;
};

// Listener notification: {register, N, Key, Pid, Value} /
// {unregister, N, Key, Pid}.
struct NotifyAction {
  ListenerEvent event;
  bool operator==(const NotifyAction&) const = default;
};

// Something a peer sent that does not have the shape RegistryImpl accepts;
// the adapter logs it. Nothing else happened.
struct ProblemAction {
  std::string what;
  Term offending;
  bool operator==(const ProblemAction&) const = default;
};

// A membership change worth an operator's attention (a member removed, and
// how many names went with it); the adapter logs it at info. Informational:
// the change itself is in the other actions.
struct MembershipNoteAction {
  std::string what;
  bool operator==(const MembershipNoteAction&) const = default;
};

using RegistryAction = std::variant<CrdtOpsAction, SetNeighboursAction, LinkAction, ExitAction,
                                    NotifyAction, ProblemAction, MembershipNoteAction>;
using RegistryActions = std::vector<RegistryAction>;

// ---- the state machine -----------------------------------------------------

struct PidHash {
  std::size_t operator()(const Pid& p) const noexcept {
    std::size_t h = reinterpret_cast<std::uintptr_t>(p.node.id());
    h ^= (std::size_t{p.id} << 1) * 0x9E3779B97F4A7C15ULL;
    h ^= (std::size_t{p.serial} << 17) ^ (std::size_t{p.creation} << 33);
    return h;
  }
};

// One entry of the keys view.
struct RegistryEntry {
  Pid pid;
  Term value;
  RegistryMember member;
};

class RegistryState {
 public:
  struct Config {
    Atom name;  // N
    Atom node;  // this node
    Pid self;   // pid of the `N` process ({ok, RegistryPid} replies)
  };

  explicit RegistryState(Config config);
  RegistryState(const RegistryState&) = delete;
  RegistryState& operator=(const RegistryState&) = delete;

  // ---- events --------------------------------------------------------------

  // RegistryImpl.init with `members: Members`. Horde.Registry adds the
  // registry itself when absent, so an empty list means "just me".
  RegistryActions init(const std::vector<MemberSpec>& members);

  // handle_call/3. `reply` receives the term to send back to the caller.
  RegistryActions handle_call(const RegistryCall& call, Term& reply);
  // A call whose request did not parse: {error, {bad_request, Request}}.
  RegistryActions handle_bad_call(const Term& request, const Error& error, Term& reply);

  // handle_info({crdt_update, Diffs}).
  RegistryActions on_crdt_diffs(std::span<const CrdtDiff> diffs);

  // handle_info({'EXIT', Pid, _}) for a linked process.
  RegistryActions on_exit(const Pid& pid);

  // ---- queries (what Horde.Registry reads from ETS) -------------------------

  const Config& config() const noexcept { return config_; }
  const RegistryMember& self_member() const noexcept { return self_member_; }
  // The keys-view entry, without the liveness/membership checks of lookup.
  std::optional<RegistryEntry> find(const Term& name) const;
  // Horde.Registry.lookup/2: the entry when its member is in the members
  // table and `alive(pid)` (the adapter asks the node for local pids and
  // looks at connectivity for remote ones).
  template <typename Alive>
  std::optional<RegistryEntry> lookup(const Term& name, Alive&& alive) const {
    thread_local std::string scratch;
    std::uint32_t hash = 0;
    const std::uint32_t idx = find_entry(name, scratch, hash);
    if (idx == kNil) return std::nullopt;
    const Entry& e = entries_[idx];
    if (!interned_in_table_[e.member]) return std::nullopt;
    Pid pid = expand(e.pid);
    if (!alive(pid)) return std::nullopt;
    return RegistryEntry{std::move(pid), value_of(e), interned_[e.member]};
  }
  std::size_t count() const noexcept { return live_; }
  std::optional<Term> meta(const Term& key) const;
  // Keys registered by `pid` (Horde.Registry.keys/2).
  std::vector<Term> keys_of(const Pid& pid) const;
  // RegistryImpl State.members, in term order.
  std::vector<RegistryMember> members() const;
  // Whether `member` is in the members table (what lookup checks).
  bool member_in_cluster(const RegistryMember& member) const;
  std::size_t meta_count() const noexcept { return meta_.size(); }
  // Visit every key: f(const Term& name, const RegistryEntry&). Order unspecified.
  template <typename F>
  void for_each(F&& f) const {
    for (std::uint32_t i = 0; i < entries_.size(); ++i)
      if (const Entry& e = entries_[i]; e.live) f(name_of(e), entry_of(e));
  }
  // Approximate heap bytes of the local views (not the CRDT).
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint32_t kNil = 0xFFFFFFFFu;

  // A pid in 16 bytes: the node atom is interned in nodes_.
  struct CompactPid {
    std::uint32_t node = kNil, id = 0, serial = 0, creation = 0;
    bool operator==(const CompactPid&) const = default;
  };

  // One name of the keys view, 64 bytes. Name and Value are kept packed
  // (crdt/packed_term), side by side: inline when both fit in kInline bytes
  // (a short binary, atom or small-tuple name with an atom or small value),
  // else in a block of spill_. With the key index that is ~70 bytes per
  // name and no allocation of its own for typical names (the budget is a
  // few hundred bytes per name for the whole node, CRDT included).
  static constexpr std::uint32_t kInline = 24;
  struct Entry {
    union {
      char inline_bytes[kInline];
      char* spilled;
    } bytes;
    std::uint32_t size = 0;       // packed Name + packed Value
    std::uint32_t name_size = 0;  // the first name_size bytes are the Name
    CompactPid pid;
    std::uint32_t hash = 0;     // of the packed Name
    std::uint32_t prev = kNil;  // per-pid list (entry indices), so that the
    std::uint32_t next = kNil;  //   keys of an exiting pid need no scan
    std::uint32_t member : 30 = 0;  // index into interned_
    std::uint32_t live : 1 = 0;
    std::uint32_t indexed : 1 = 0;  // linked into the pid's list
    const char* data() const noexcept { return size <= kInline ? bytes.inline_bytes : bytes.spilled; }
    char* data() noexcept { return size <= kInline ? bytes.inline_bytes : bytes.spilled; }
    std::string_view name() const noexcept { return {data(), name_size}; }
    std::string_view value() const noexcept { return {data() + name_size, size - name_size}; }
  };

  // Keys of an indexed pid: head of its intrusive list.
  struct PidRecord {
    CompactPid pid;
    std::uint32_t hash = 0;
    std::uint32_t head = kNil;
    bool live = false;
  };

  // Open addressing (linear probing, backward-shift deletion) over indices
  // into a slab; the slab entries carry their own hashes.
  class Index {
   public:
    template <typename Eq>
    std::uint32_t find(std::uint32_t hash, Eq&& eq) const;
    template <typename HashOf>
    void insert(std::uint32_t hash, std::uint32_t idx, std::size_t size_after, HashOf&& hash_of);
    template <typename HashOf>
    void erase(std::uint32_t hash, std::uint32_t idx, HashOf&& hash_of);
    std::size_t bytes() const noexcept { return slots_.capacity() * sizeof(std::uint32_t); }

   private:
    std::vector<std::uint32_t> slots_;  // 0 empty, else idx + 1
  };

  RegistryEntry entry_of(const Entry& e) const {
    return RegistryEntry{expand(e.pid), value_of(e), interned_[e.member]};
  }
  Term name_of(const Entry& e) const;
  Term value_of(const Entry& e) const;
  // Stores the packed name and value in `e` (inline or spilled).
  void set_bytes(Entry& e, std::string_view name, std::string_view value);
  void clear_bytes(Entry& e) noexcept;
  CompactPid compact(const Pid& pid, bool add);
  std::optional<CompactPid> compact_existing(const Pid& pid) const;
  Pid expand(const CompactPid& p) const { return Pid{nodes_[p.node], p.id, p.serial, p.creation}; }
  static std::uint32_t pid_hash(const CompactPid& p) noexcept;
  // Entry index of `name` (packed into `scratch`), or kNil.
  std::uint32_t find_entry(const Term& name, std::string& scratch, std::uint32_t& hash) const;
  std::uint32_t find_pid(const CompactPid& p) const;

  std::uint32_t intern(const RegistryMember& m);
  void set_neighbours(RegistryActions& out) const;
  void refresh_in_table();
  void process_diff(const CrdtDiff& diff, RegistryActions& out);
  void diff_add_key(const Term& name, const KeyValue& kv, RegistryActions& out);
  void diff_remove_member(const RegistryMember& member, RegistryActions& out);
  // RegistryImpl.unregister_local/2 and /3.
  void unregister_local(const Term& name, RegistryActions& out);
  void unregister_local(const Term& name, const Pid& pid, RegistryActions& out);
  void put_key(const Term& name, const Pid& pid, const Term& value, std::uint32_t member);
  void erase_entry(std::uint32_t idx);
  void index_link(std::uint32_t idx);
  void index_unlink(std::uint32_t idx);
  bool is_indexed(const Pid& pid) const;
  void notify(ListenerEvent event, RegistryActions& out) const;

  Config config_;
  RegistryMember self_member_;
  std::uint32_t self_member_index_ = 0;

  Slab<Entry> entries_;
  std::vector<std::uint32_t> free_entries_;
  crdt::BlockArena spill_;  // Entry bytes over kInline
  Index key_index_;
  std::size_t live_ = 0;
  Slab<PidRecord> pids_;
  std::vector<std::uint32_t> free_pids_;
  Index pid_index_;
  std::size_t live_pids_ = 0;
  std::vector<Atom> nodes_;  // interned nodes of CompactPid

  std::vector<RegistryMember> interned_;               // members seen in {key, _} values
  std::vector<std::uint8_t> interned_in_table_;        // interned_[i] in members_table_
  std::unordered_set<Pid, PidHash> linked_remote_;     // remote pids a register call linked
  std::set<RegistryMember> members_;                   // State.members
  std::set<RegistryMember> members_table_;             // ETS members table
  std::unordered_map<Term, Term, TermHash> meta_;
};

}  // namespace hc::horde
