// The distribution node against real OTP nodes (label beam).
#include "cnode/node.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "cnode/gen_server.hpp"
#include "cnode/log.hpp"
#include "support/beam_node.hpp"
#include "support/cluster_support.hpp"  // eventually

using namespace hc;
using namespace hc::cnode;
using hc::test::BeamNode;
using hc::test::unique_name;
using namespace std::chrono_literals;

extern char** environ;

namespace {

NodeOptions cpp_options(const std::string& cookie) {
  NodeOptions o;
  o.name = unique_name("cpp") + "@127.0.0.1";
  o.cookie = cookie;
  o.listen_address = "127.0.0.1";
  o.discovery_interval = 1000ms;
  return o;
}

// Poll `f` (on the test thread) until true or timeout.
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = 5s) {
  return hc::test::eventually(std::move(f), timeout);
}

// A C++ gen_server: echoes {echo, X} -> X; 'stop' -> exits with {shutdown, asked}.
class Echo final : public GenServer {
 protected:
  std::optional<Term> handle_call(const Term& req, const Term&) override {
    if (req.is_record("echo", 2)) return *req.element(1);
    if (req.is_atom("whoami")) return Term(self());
    if (req.is_atom("stop")) {
      exit(tuple(Atom("shutdown"), Atom("asked")));
      return Term(Atom("ok"));
    }
    return Term(Atom("unknown"));
  }
  void handle_info(const Term& m) override {
    // {forward, To, Msg} -> To ! Msg ; anything else is echoed to the harness inbox.
    if (m.is_record("forward", 3)) {
      if (auto d = Dest::from_term(*m.element(1))) send(*d, *m.element(2));
    } else if (m.is_record("die", 2)) {
      exit(*m.element(1));
    } else if (m.is_record("link_to", 2)) {
      link(*m.element(1)->as_pid());
    } else if (m.is_record("unlink_from", 2)) {
      unlink(*m.element(1)->as_pid());
    } else if (m.is_record("trap", 2)) {
      set_trap_exit(m.element(1)->is_atom("true"));
    } else if (inbox_) {
      send(*inbox_, tuple(Atom("cpp_got"), m));
    }
  }

 public:
  std::optional<Dest> inbox_;
};

struct Fixture {
  std::string cookie = unique_name("cookie");
  BeamNode beam{{unique_name("beam"), cookie}};
  NodeRunner cpp{cpp_options(cookie)};
  Fixture() {
    BOOST_REQUIRE(!cpp.start());
    std::string name(cpp.node().name().text());
    BOOST_REQUIRE_EQUAL(beam.eval("net_adm:ping('" + name + "')."), "pong");
  }
  std::string cpp_name() { return std::string(cpp.node().name().text()); }
  std::string q(const std::string& s) { return "'" + s + "'"; }
  Pid spawn_echo(std::optional<Atom> name = std::nullopt, bool trap = false) {
    auto inbox = Dest(Atom("hc_inbox"), Atom(beam.node_name()));
    return cpp.run([&] {
      auto p = std::make_unique<Echo>();
      p->inbox_ = inbox;
      return cpp.node().spawn(std::move(p), SpawnOptions{false, name, trap});
    }).get();
  }
  // Pid as an Erlang expression (list_to_pid does not take remote pids, so
  // we go through a registered name lookup on the C++ node instead).
};

// A raw TCP client for hostile input (blocking; test thread only).
struct RawSocket {
  int fd = -1;
  explicit RawSocket(std::uint16_t port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) BOOST_FAIL("connect failed");
  }
  ~RawSocket() {
    if (fd >= 0) close(fd);
  }
  void write_all(const std::vector<std::uint8_t>& b) { BOOST_REQUIRE(::write(fd, b.data(), b.size()) == ssize_t(b.size())); }
  // True when the peer closed the connection within the timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = 3s) {
    timeval tv{static_cast<long>(timeout.count() / 1000), static_cast<long>((timeout.count() % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(node_beam_test)

BOOST_FIXTURE_TEST_CASE(ping_and_visible, Fixture) {
  BOOST_TEST(beam.eval("lists:member(" + q(cpp_name()) + ", nodes()).") == "true");
  BOOST_TEST(eventually([&] { return cpp.run([&] { return cpp.node().is_connected(Atom(beam.node_name())); }).get(); }));
}


BOOST_FIXTURE_TEST_CASE(send_by_pid_and_name_both_ways, Fixture) {
  spawn_echo(Atom("echo"));
  const std::string E = "{echo, " + q(cpp_name()) + "}";
  // BEAM -> C++ by name and by pid (the C++ process reports to hc_inbox).
  beam.eval(E + " ! by_name.");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,{cpp_got,by_name}}");
  beam.eval("P = gen_server:call(" + E + ", whoami, 3000).");
  BOOST_TEST(beam.eval("node(P).") == q(cpp_name()));
  beam.eval("P ! {by_pid, [1, 2.5, <<\"x\">>, #{a => b}]}.");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,{cpp_got,{by_pid,[1,2.5,<<\"x\">>,#{a => b}]}}}");
  // C++ -> BEAM by pid and by {Name, Node}.
  beam.eval("P ! {forward, whereis(hc_inbox), to_pid}.");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,to_pid}");
  beam.eval("P ! {forward, {hc_inbox, node()}, to_name}.");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,to_name}");
}

BOOST_FIXTURE_TEST_CASE(genserver_call_from_beam, Fixture) {
  spawn_echo(Atom("echo"));
  const std::string E = "{echo, " + q(cpp_name()) + "}";
  BOOST_TEST(beam.eval("'Elixir.GenServer':call(" + E + ", {echo, {1, two, \"three\"}}).") == "{1,two,\"three\"}");
  // infinity timeout: plain reference tag instead of [alias | Ref]
  BOOST_TEST(beam.eval("gen_server:call(" + E + ", {echo, 7}, infinity).") == "7");
  // a call to a missing C++ name exits with noproc
  BOOST_TEST(beam.eval("catch gen_server:call({nobody, " + q(cpp_name()) + "}, x, 2000).").find("noproc") !=
             std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(beam_monitors_cpp_process, Fixture) {
  spawn_echo(Atom("m1"));
  spawn_echo(Atom("m2"));
  const std::string N = q(cpp_name());
  // by name: the DOWN carries {Name, Node} and the real reason
  BOOST_TEST(beam.eval("R = erlang:monitor(process, {m1, " + N + "}), {m1, " + N +
                       "} ! {die, {shutdown, boom}}, receive {'DOWN', R, process, I, Why} -> {I, Why} after 5000 -> "
                       "timeout end.") == "{{m1," + N + "},{shutdown,boom}}");
  // by pid
  beam.eval("P2 = gen_server:call({m2, " + N + "}, whoami).");
  BOOST_TEST(beam.eval("R2 = erlang:monitor(process, P2), P2 ! {die, kaput}, receive {'DOWN', R2, process, I2, "
                       "Why2} -> {I2 =:= P2, Why2} after 5000 -> timeout end.") == "{true,kaput}");
  // missing name and dead pid: noproc at once
  BOOST_TEST(beam.eval("R3 = erlang:monitor(process, {nobody, " + N +
                       "}), receive {'DOWN', R3, process, _, W3} -> W3 after 5000 -> timeout end.") == "noproc");
  BOOST_TEST(beam.eval("R4 = erlang:monitor(process, P2), receive {'DOWN', R4, process, _, W4} -> W4 after 5000 -> "
                       "timeout end.") == "noproc");
  // Elixir's Process.monitor is the same BIF; demonitor works too
  spawn_echo(Atom("m3"));
  BOOST_TEST(beam.eval("R5 = 'Elixir.Process':monitor({m3, " + N + "}), 'Elixir.Process':demonitor(R5), {m3, " + N +
                       "} ! {die, x}, receive {'DOWN', R5, _, _, _} -> got after 500 -> none end.") == "none");
}

BOOST_FIXTURE_TEST_CASE(beam_monitor_gets_noconnection_when_cpp_node_dies, Fixture) {
  spawn_echo(Atom("m1"));
  const std::string N = q(cpp_name());
  beam.eval("spawn(fun() -> R = erlang:monitor(process, {m1, " + N +
            "}), hc_inbox ! monitoring, receive D -> hc_inbox ! D end end).");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,monitoring}");
  beam.eval("timer:sleep(100).");
  // The connection drops without any exit signal (as when the C++ node is
  // killed; the CLI test kills a real horde-cnode process).
  cpp.run([&] { cpp.node().disconnect(Atom(beam.node_name())); }).get();
  auto down = beam.eval("node_harness:take(5000).");
  BOOST_TEST(down.find("'DOWN'") != std::string::npos);
  BOOST_TEST(down.find("noconnection") != std::string::npos, down);
}

BOOST_FIXTURE_TEST_CASE(links_both_ways, Fixture) {
  const std::string N = q(cpp_name());
  // BEAM process links to a C++ process; the C++ process dies -> EXIT with its reason.
  spawn_echo(Atom("l1"));
  beam.eval("spawn(fun() -> process_flag(trap_exit, true), P = gen_server:call({l1, " + N +
            "}, whoami), link(P), hc_inbox ! linked, receive E -> hc_inbox ! E end end).");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,linked}");
  beam.eval("timer:sleep(100), {l1, " + N + "} ! {die, bad_thing}.");
  auto exit1 = beam.eval("node_harness:take(3000).");
  BOOST_TEST(exit1.find("'EXIT'") != std::string::npos);
  BOOST_TEST(exit1.find("bad_thing") != std::string::npos);

  // C++ process (not trapping) links to a BEAM process; the BEAM process dies -> the C++ process dies.
  // A BEAM monitor on it witnesses the exit reason it dies with.
  Pid l2 = spawn_echo(Atom("l2"));
  beam.eval("spawn(fun() -> erlang:monitor(process, {l2, " + N +
            "}), hc_inbox ! monitoring2, receive D -> hc_inbox ! D end end).");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,monitoring2}");
  beam.eval("B = spawn(fun() -> receive go -> exit(crashed) end end).");
  // gen_server:call after the link message: the link is in place before B dies.
  beam.eval("{l2, " + N + "} ! {link_to, B}, gen_server:call({l2, " + N + "}, whoami), B ! go.");
  auto down2 = beam.eval("node_harness:take(3000).");
  BOOST_TEST(down2.find("'DOWN'") != std::string::npos, down2);
  BOOST_TEST(down2.find("crashed}}") != std::string::npos, down2);
  BOOST_TEST(!cpp.run([&] { return cpp.node().is_alive(l2); }).get());

  // C++ process trapping exits gets {'EXIT', Pid, Reason} as a message.
  spawn_echo(Atom("l3"), true);
  beam.eval("B3 = spawn(fun() -> receive go -> exit(crashed3) end end).");
  beam.eval("{l3, " + N + "} ! {link_to, B3}, timer:sleep(200), B3 ! go.");
  auto exit3 = beam.eval("node_harness:take(3000).");
  BOOST_TEST(exit3.find("{cpp_got,{'EXIT',") != std::string::npos);
  BOOST_TEST(exit3.find("crashed3") != std::string::npos);

  // BEAM links, then the BEAM process dies: the C++ process (not trapping) dies too.
  Pid l4 = spawn_echo(Atom("l4"));
  beam.eval("spawn(fun() -> P = gen_server:call({l4, " + N + "}, whoami), link(P), timer:sleep(100), exit(boom4) end).");
  BOOST_TEST(eventually([&] { return !cpp.run([&] { return cpp.node().is_alive(l4); }).get(); }));
  // exit(P, normal) from a linked BEAM process does not kill it
  // Witness: the linker is known dead (its DOWN seen), then a call to l5
  // travels the same connection after the exit signal, so l5 has handled
  // the signal by the time it answers.
  Pid l5 = spawn_echo(Atom("l5"));
  BOOST_TEST(beam.eval("{L5, R5} = spawn_monitor(fun() -> P = gen_server:call({l5, " + N +
                       "}, whoami), link(P), exit(normal) end), receive {'DOWN', R5, process, L5, Why5} -> Why5 end.") ==
             "normal");
  BOOST_TEST(beam.eval("is_pid(gen_server:call({l5, " + N + "}, whoami)).") == "true");
  BOOST_TEST(cpp.run([&] { return cpp.node().is_alive(l5); }).get());
}

BOOST_FIXTURE_TEST_CASE(erpc_process_alive, Fixture) {
  spawn_echo(Atom("e1"));
  const std::string N = q(cpp_name());
  beam.eval("P = gen_server:call({e1, " + N + "}, whoami).");
  BOOST_TEST(beam.eval("erpc:call(" + N + ", 'Elixir.Process', 'alive?', [P]).") == "true");
  BOOST_TEST(beam.eval("rpc:call(" + N + ", erlang, is_process_alive, [P]).") == "true");
  beam.eval("P ! {die, normal}, timer:sleep(100).");
  BOOST_TEST(beam.eval("erpc:call(" + N + ", 'Elixir.Process', 'alive?', [P]).") == "false");
  BOOST_TEST(beam.eval("rpc:call(" + N + ", 'Elixir.Process', 'alive?', [P]).") == "false");
  // anything else: an error, quickly
  auto t0 = std::chrono::steady_clock::now();
  auto r = beam.eval("catch erpc:call(" + N + ", lists, reverse, [[1, 2]], 5000).");
  BOOST_TEST(r.find("{erpc,notsup}") != std::string::npos, r);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  auto r2 = beam.eval("rpc:call(" + N + ", lists, reverse, [[1, 2]], 5000).");
  BOOST_TEST(r2.find("badrpc") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(cpp_calls_beam_gen_server, Fixture) {
  Atom beam_node(beam.node_name());
  auto call = [&](Dest d, Term req, std::chrono::milliseconds timeout) {
    auto promise = std::make_shared<std::promise<CallResult>>();
    auto fut = promise->get_future();
    cpp.run([&, promise] {
      cpp.node().spawn_fn([](Process&, const Term&) {}, {}, [=](Process& self) {
        self.call(d, req, timeout, [promise, &self](CallResult r) {
          promise->set_value(std::move(r));
          self.exit(Term(Atom("normal")));
        });
      });
    }).get();
    return fut.get();
  };
  auto r = call(Dest(Atom("net_kernel"), beam_node), tuple(Atom("is_auth"), cpp.node().name()), 3000ms);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r.value() == Term(Atom("yes")));
  // a BEAM gen_server written in Erlang
  beam.eval("{ok, _} = gen_server:start({local, kv}, node_kv, [], []).");
  auto r2 = call(Dest(Atom("kv"), beam_node), tuple(Atom("put"), Atom("k"), 42), 3000ms);
  BOOST_REQUIRE(r2.ok());
  auto r3 = call(Dest(Atom("kv"), beam_node), tuple(Atom("get"), Atom("k")), 3000ms);
  BOOST_REQUIRE(r3.ok());
  BOOST_TEST(r3.value() == Term(42));
  // no such process -> noproc; a server that never answers -> timeout
  auto r4 = call(Dest(Atom("nobody"), beam_node), Term(Atom("x")), 3000ms);
  BOOST_TEST(!r4.ok());
  BOOST_TEST(r4.error() == make_error_code(Errc::noproc));
  auto t0 = std::chrono::steady_clock::now();
  auto r5 = call(Dest(Atom("hc_inbox"), beam_node), Term(Atom("x")), 300ms);
  BOOST_TEST(r5.error() == make_error_code(Errc::timeout));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  // server exits during the call -> the exit reason
  auto r6 = call(Dest(Atom("kv"), beam_node), Term(Atom("crash")), 3000ms);
  BOOST_TEST(!r6.ok());
  BOOST_TEST(r6.reason().is_atom("crashed_on_request"));
}

BOOST_FIXTURE_TEST_CASE(cpp_monitors_beam_processes, Fixture) {
  Atom beam_node(beam.node_name());
  beam.eval("V = spawn(fun() -> register(victim, self()), receive {die, R} -> exit(R) end end), timer:sleep(50).");
  auto downs = std::make_shared<std::promise<Term>>();
  auto fut = downs->get_future();
  auto ready = std::make_shared<std::promise<Pid>>();
  cpp.run([&] {
    return cpp.node().spawn_fn([downs](Process&, const Term& m) { if (m.is_record("DOWN", 5)) downs->set_value(m); }, {},
                               [beam_node, ready](Process& self) {
                                 self.monitor(Dest(Atom("victim"), beam_node));
                                 ready->set_value(self.self());
                               });
  }).get();
  ready->get_future().get();
  beam.eval("timer:sleep(100), V ! {die, {custom, reason}}.");
  BOOST_REQUIRE(fut.wait_for(5s) == std::future_status::ready);
  Term d = fut.get();
  BOOST_TEST(*d.element(3) == tuple(Atom("victim"), beam_node));
  BOOST_TEST(*d.element(4) == tuple(Atom("custom"), Atom("reason")));

  // noproc for a missing name; noconnection when the BEAM node goes away
  auto noproc = std::make_shared<std::promise<Term>>();
  auto nofut = noproc->get_future();
  auto nc = std::make_shared<std::promise<Term>>();
  auto ncfut = nc->get_future();
  beam.eval("W = spawn(fun() -> register(waiter, self()), receive _ -> ok end end), timer:sleep(50).");
  cpp.run([&] {
    cpp.node().spawn_fn([noproc, nc](Process&, const Term& m) {
      if (!m.is_record("DOWN", 5)) return;
      if (m.element(4)->is_atom("noproc")) noproc->set_value(m);
      else nc->set_value(m);
    }, {}, [beam_node](Process& self) {
      self.monitor(Dest(Atom("nobody_here"), beam_node));
      self.monitor(Dest(Atom("waiter"), beam_node));
    });
  }).get();
  BOOST_REQUIRE(nofut.wait_for(5s) == std::future_status::ready);
  beam.eval("timer:sleep(100).");
  beam.kill();
  BOOST_REQUIRE(ncfut.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(ncfut.get().element(4)->is_atom("noconnection"));
}

// global: a visible node that does not answer global blocks :global.sync()
// (horde-wire §7); ours answers, so sync and trans complete.
BOOST_FIXTURE_TEST_CASE(global_sync_completes, Fixture) {
  BOOST_TEST(beam.eval("global:sync().", 10s) == "ok");
  BOOST_TEST(beam.eval("global:trans({hc_lock, self()}, fun() -> done end).", 10s) == "done");
  BOOST_TEST(beam.eval("global:register_name(hc_name, whereis(hc_inbox)).", 10s) == "yes");
  BOOST_TEST(beam.eval("global:sync().", 10s) == "ok");
}

// Without our answer (the behaviour of a plain ei node), sync blocks.
BOOST_AUTO_TEST_CASE(global_sync_blocks_without_the_answer) {
  std::string cookie = unique_name("cookie");
  BeamNode beam{{unique_name("beam"), cookie}};
  auto opts = cpp_options(cookie);
  opts.answer_global = false;
  NodeRunner cpp(opts);
  BOOST_REQUIRE(!cpp.start());
  BOOST_REQUIRE_EQUAL(beam.eval("net_adm:ping('" + opts.name + "')."), "pong");
  BOOST_TEST(beam.eval("Self = self(), spawn(fun() -> Self ! {r, global:sync()} end), "
                       "receive {r, R} -> R after 1500 -> blocked end.") == "blocked");
}

// Hostile input: each bad connection is closed and logged; the real peer keeps working.
BOOST_FIXTURE_TEST_CASE(bad_input_does_not_disturb_real_peers, Fixture) {
  spawn_echo(Atom("echo"));
  const std::string E = "{echo, " + q(cpp_name()) + "}";
  std::uint16_t port = cpp.node().port();
  {  // garbage instead of a handshake
    RawSocket s(port);
    s.write_all({0, 5, 'h', 'e', 'l', 'l', 'o', 0xff, 0xff, 0xff});
    BOOST_TEST(s.closed_by_peer());
  }
  {  // a handshake message far over the handshake size limit
    RawSocket s(port);
    s.write_all({0xff, 0xff, 'N'});
    BOOST_TEST(s.closed_by_peer());
  }
  {  // send_name with a malformed node name
    RawSocket s(port);
    std::vector<std::uint8_t> m = {0, 0, 'N', 0, 0, 0, 0x0d, 0x07, 0xdf, 0x7f, 0xbd, 0, 0, 0, 1, 0, 6};
    for (char c : std::string("noname")) m.push_back(std::uint8_t(c));
    m[1] = std::uint8_t(m.size() - 2);
    s.write_all(m);
    BOOST_TEST(s.closed_by_peer());
  }
  // a BEAM node with the wrong cookie: pang, and no connection
  BeamNode intruder{{unique_name("intruder"), "wrong_cookie"}};
  BOOST_TEST(intruder.eval("net_adm:ping(" + q(cpp_name()) + ").") == "pang");
  BOOST_TEST(!cpp.run([&] { return cpp.node().is_connected(Atom(intruder.node_name())); }).get());
  // the real peer is unaffected
  BOOST_TEST(beam.eval("gen_server:call(" + E + ", {echo, still_here}).") == "still_here");
}

// Issue 11 fault 2: a frame over --max-frame is skipped as it arrives (never
// buffered) and only that message is lost; a 20 000-deep list (the BEAM
// accepts it) is delivered. Neither touches the connection.
BOOST_AUTO_TEST_CASE(oversized_and_deep_messages_keep_the_connection) {
  std::string cookie = unique_name("cookie");
  BeamNode big{{unique_name("big"), cookie}};
  auto opts = cpp_options(cookie);
  opts.max_frame = std::size_t{64} << 20;  // 64 MiB, stated here (the default may change)
  NodeRunner cpp(opts);
  BOOST_REQUIRE(!cpp.start());
  const std::string N = "'" + opts.name + "'";
  auto downs = std::make_shared<std::atomic<int>>(0);
  auto got = std::make_shared<std::vector<Term>>();  // io thread only
  cpp.run([&] {
    cpp.node().monitor_nodes([downs](Atom, bool up) {
      if (!up) ++*downs;
    });
    cpp.node().spawn_fn([got](Process& self, const Term& m) {
      if (auto c = as_gen_call(m)) {
        // depth of the last list received: [[[...]]] nesting, counted iteratively
        std::size_t depth = 0;
        if (!got->empty()) {
          const Term* t = &got->back();
          while (t->is_list() && !t->list_elements().empty()) {
            ++depth;
            t = &t->list_elements()[0];
          }
        }
        self.reply(c->from, tuple(Term(static_cast<std::uint64_t>(got->size())), Term(static_cast<std::uint64_t>(depth))));
        return;
      }
      got->push_back(m);
    }, SpawnOptions{false, Atom("svc"), false});
  }).get();
  BOOST_REQUIRE_EQUAL(big.eval("net_adm:ping(" + N + ")."), "pong");
  // 70 MB: over the limit, dropped; the message behind it arrives.
  big.eval("{svc, " + N + "} ! binary:copy(<<1>>, 70000000), {svc, " + N + "} ! after_big, ok.", 60s);
  BOOST_TEST(eventually([&] { return big.eval("gen_server:call({svc, " + N + "}, count).") == "{1,0}"; }, 30s));
  BOOST_TEST(cpp.run([got] { return got->at(0); }).get() == Term(Atom("after_big")));
  // 20 000 levels of nesting: delivered whole.
  big.eval("{svc, " + N + "} ! lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 20000)), ok.");
  BOOST_TEST(eventually([&] { return big.eval("gen_server:call({svc, " + N + "}, count).") == "{2,20000}"; }));
  BOOST_TEST(cpp.run([&] { return cpp.node().is_connected(Atom(big.node_name())); }).get());
  BOOST_TEST(*downs == 0);  // the connection never dropped
  BOOST_TEST(big.eval("length(nodes()).") == "1");
}

// Discovery: connected to A only, we learn B from A and connect to it.
BOOST_AUTO_TEST_CASE(discovers_the_nodes_peers_know) {
  std::string cookie = unique_name("cookie");
  BeamNode a{{unique_name("disc_a"), cookie}};
  BeamNode b{{unique_name("disc_b"), cookie}};
  BOOST_REQUIRE_EQUAL(a.eval("net_adm:ping('" + b.node_name() + "')."), "pong");
  auto opts = cpp_options(cookie);
  opts.connect = {a.node_name()};
  NodeRunner cpp(opts);
  BOOST_REQUIRE(!cpp.start());
  BOOST_TEST(eventually([&] { return cpp.run([&] { return cpp.node().is_connected(Atom(b.node_name())); }).get(); }));
  BOOST_TEST(b.eval("lists:member('" + opts.name + "', nodes()).") == "true");
}

// A configured peer that restarts is reconnected (with backoff).
BOOST_AUTO_TEST_CASE(reconnects_to_configured_peers) {
  std::string cookie = unique_name("cookie");
  std::string name = unique_name("peer");
  auto opts = cpp_options(cookie);
  opts.connect = {name + "@127.0.0.1"};
  opts.reconnect_max = 500ms;
  NodeRunner cpp(opts);
  BOOST_REQUIRE(!cpp.start());
  Atom peer(name + "@127.0.0.1");
  {
    BeamNode first{{name, cookie}};
    BOOST_TEST(eventually([&] { return cpp.run([&] { return cpp.node().is_connected(peer); }).get(); }, 10s));
  }  // killed
  BOOST_TEST(eventually([&] { return !cpp.run([&] { return cpp.node().is_connected(peer); }).get(); }, 10s));
  BeamNode second{{name, cookie}};
  BOOST_TEST(eventually([&] { return cpp.run([&] { return cpp.node().is_connected(peer); }).get(); }, 10s));
  BOOST_TEST(second.eval("lists:member('" + opts.name + "', nodes()).") == "true");
}

// The horde-cnode program: visible to a BEAM node; SIGTERM exits cleanly;
// kill -9 gives the BEAM's monitors noconnection.
BOOST_AUTO_TEST_CASE(cli_runs_a_node_until_signalled) {
  std::string exe = std::string(HC_BINARY_DIR) + "/app/horde-cnode";
  if (!std::filesystem::exists(exe)) {
    BOOST_TEST_MESSAGE("skipped: " << exe << " not built");
    return;
  }
  std::string cookie = unique_name("cookie");
  BeamNode beam{{unique_name("beam"), cookie}};
  auto run_cli = [&](const std::string& name) {
    std::vector<std::string> args = {exe, "--name", name, "--cookie", cookie, "--listen", "127.0.0.1",
                                     "--connect", beam.node_name(), "--log-level", "warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    BOOST_REQUIRE(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    return pid;
  };
  const std::string n1 = unique_name("cli") + "@127.0.0.1";
  pid_t p1 = run_cli(n1);
  // --connect: the CLI node dials the BEAM node, which sees it as a visible node.
  BOOST_TEST(beam.eval("W = fun W(0) -> false; W(K) -> case lists:member('" + n1 +
                       "', nodes()) of true -> true; false -> timer:sleep(50), W(K - 1) end end, W(100).") == "true");
  BOOST_TEST(beam.eval("net_adm:ping('" + n1 + "').") == "pong");
  beam.eval("spawn(fun() -> R = erlang:monitor(process, {rex, '" + n1 +
            "'}), hc_inbox ! monitoring, receive D -> hc_inbox ! D end end).");
  BOOST_TEST(beam.eval("node_harness:take(3000).") == "{ok,monitoring}");
  beam.eval("timer:sleep(100).");
  kill(p1, SIGKILL);
  int status = 0;
  waitpid(p1, &status, 0);
  auto down = beam.eval("node_harness:take(5000).");
  BOOST_TEST(down.find("noconnection") != std::string::npos, down);

  const std::string n2 = unique_name("cli") + "@127.0.0.1";
  pid_t p2 = run_cli(n2);
  BOOST_TEST(beam.eval("W2 = fun W2(0) -> false; W2(K) -> case lists:member('" + n2 +
                       "', nodes()) of true -> true; false -> timer:sleep(50), W2(K - 1) end end, W2(100).") == "true");
  kill(p2, SIGTERM);
  waitpid(p2, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(beam.eval("W3 = fun W3(0) -> still_there; W3(K) -> case lists:member('" + n2 +
                       "', nodes()) of false -> gone; true -> timer:sleep(50), W3(K - 1) end end, W3(100).") == "gone");
}

// exit/2 from the BEAM (EXIT2) and unlink (UNLINK_ID) from C++.
BOOST_FIXTURE_TEST_CASE(exit_signals_and_unlink, Fixture) {
  const std::string N = q(cpp_name());
  Pid x1 = spawn_echo(Atom("x1"));
  beam.eval("X1 = gen_server:call({x1, " + N + "}, whoami), exit(X1, normal), timer:sleep(200).");
  BOOST_TEST(cpp.run([&] { return cpp.node().is_alive(x1); }).get());  // normal: ignored
  beam.eval("exit(X1, some_reason).");
  BOOST_TEST(eventually([&] { return !cpp.run([&] { return cpp.node().is_alive(x1); }).get(); }));
  Pid x2 = spawn_echo(Atom("x2"), true);
  beam.eval("X2 = gen_server:call({x2, " + N + "}, whoami), exit(X2, kill).");
  BOOST_TEST(eventually([&] { return !cpp.run([&] { return cpp.node().is_alive(x2); }).get(); }));  // untrappable
  spawn_echo(Atom("x3"), true);
  beam.eval("X3 = gen_server:call({x3, " + N + "}, whoami), exit(X3, trapped_reason).");
  auto got = beam.eval("node_harness:take(3000).");
  BOOST_TEST(got.find("{cpp_got,{'EXIT',") != std::string::npos, got);
  BOOST_TEST(got.find("trapped_reason") != std::string::npos, got);
  // link then unlink: the BEAM process's death no longer kills the C++ process
  Pid x4 = spawn_echo(Atom("x4"));
  beam.eval("B4 = spawn(fun() -> receive go -> exit(crash4) end end).");
  beam.eval("{x4, " + N + "} ! {link_to, B4}, timer:sleep(100), {x4, " + N + "} ! {unlink_from, B4}, timer:sleep(100).");
  BOOST_TEST(beam.eval("{links, L} = process_info(B4, links), L.") == "[]");
  beam.eval("B4 ! go, timer:sleep(300).");
  BOOST_TEST(cpp.run([&] { return cpp.node().is_alive(x4); }).get());
}

BOOST_AUTO_TEST_SUITE_END()
