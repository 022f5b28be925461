// erpc/rpc from real OTP nodes into C++ functions exported under a module
// name (label beam).
#include "cnode/rpc_exports.hpp"
#include "cnode/node.hpp"

#include <boost/test/unit_test.hpp>

#include "support/beam_node.hpp"
#include "support/cluster_support.hpp"

using namespace hc;
using namespace hc::cnode;
using hc::test::BeamNode;
using hc::test::unique_name;
using namespace std::chrono_literals;

namespace {

const Atom kMath("Elixir.MyCpp.Math");

struct Fixture {
  std::string cookie = unique_name("cookie");
  NodeRunner cpp{test::loopback_node_options(unique_name("cpp_rpc"), cookie)};
  std::vector<RpcReply> never_answered;  // keeps the callers of `hang` waiting
  std::unique_ptr<BeamNode> beam;
  std::string n;

  Fixture() {
    BOOST_REQUIRE(!cpp.start());
    cpp.run([&] {
      Node& node = cpp.node();
      node.export_function(kMath, Atom("add"), 2, [](std::span<const Term> a) -> Term {
        auto x = a[0].as_int(), y = a[1].as_int();
        if (!x || !y) throw RpcException::error(Term(Atom("badarith")));
        return Term(*x + *y);
      });
      node.export_function(kMath, Atom("add"), 3, [](std::span<const Term> a) -> Term {
        return Term(*a[0].as_int() + *a[1].as_int() + *a[2].as_int());
      });
      node.export_function(kMath, Atom("fail"), 1, [](std::span<const Term> a) -> Term {
        if (a[0].is_atom("throw")) throw RpcException::thrown(tuple(Atom("thrown"), 1));
        if (a[0].is_atom("exit")) throw RpcException::exit(Term(Atom("gone")));
        if (a[0].is_atom("cpp")) throw std::runtime_error("std_exception_text");
        throw RpcException::error(tuple(Atom("bad"), a[0]));
      });
      // Answers in a later turn of the io thread.
      node.export_async_function(kMath, Atom("later"), 1, [&node](std::span<const Term> a, RpcReply reply) {
        Term v = a[0];
        node.post([reply, v] { reply(RpcOutcome::returned(tuple(Atom("later"), v))); });
      });
      node.export_async_function(kMath, Atom("hang"), 0, [this](std::span<const Term>, RpcReply reply) {
        never_answered.push_back(std::move(reply));
      });
      // erpc:cast target: reports to the BEAM node's inbox.
      node.export_function(kMath, Atom("notify"), 2, [&node](std::span<const Term> a) -> Term {
        node.send(node.null_pid(), Dest(Atom("hc_inbox"), *a[0].as_atom()), a[1]);
        return Term(Atom("ok"));
      });
    }).get();
    beam = std::make_unique<BeamNode>(test::BeamNodeOptions{.name = unique_name("beam_rpc"), .cookie = cookie});
    n = "'" + std::string(cpp.node().name().text()) + "'";
    BOOST_REQUIRE_EQUAL(beam->eval("net_adm:ping(" + n + ")."), "pong");
  }
  std::string eval(const std::string& e) { return beam->eval(e); }
  // Fresh variable names each time: the harness keeps bindings between evals.
  std::string try_call(const std::string& args) {
    std::string k = std::to_string(++calls);
    std::string r =
        eval("try erpc:call(" + n + ", " + args + ") catch C" + k + ":R" + k + " -> {C" + k + ", R" + k + "} end.");
    // ~tp breaks long terms over lines; compare without the layout.
    std::erase_if(r, [](char c) { return c == ' ' || c == '\n'; });
    return r;
  }
  int calls = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(rpc_beam_test)

BOOST_FIXTURE_TEST_CASE(erpc_and_rpc_return_results, Fixture) {
  BOOST_TEST(eval("erpc:call(" + n + ", 'Elixir.MyCpp.Math', add, [1, 2]).") == "3");
  BOOST_TEST(eval("erpc:call(" + n + ", 'Elixir.MyCpp.Math', add, [1, 2, 3], 5000).") == "6");
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', add, [40, 2]).") == "42");
  BOOST_TEST(eval("erpc:call(" + n + ", 'Elixir.MyCpp.Math', later, [x]).") == "{later,x}");
  // Elixir's :erpc (the same module) with an Elixir alias.
  BOOST_TEST(eval("'Elixir.Kernel':apply(erpc, call, [" + n + ", 'Elixir.MyCpp.Math', add, [2, 2]]).") == "4");
  // multicall fans out through erpc:send_request: same wire shape.
  BOOST_TEST(eval("erpc:multicall([" + n + "], 'Elixir.MyCpp.Math', add, [5, 5]).") == "[{ok,10}]");
  BOOST_TEST(eval("rpc:multicall([" + n + "], 'Elixir.MyCpp.Math', add, [5, 300]).") == "{[305],[]}");
  // The builtin Horde needs still answers.
  BOOST_TEST(eval("erpc:call(" + n + ", erlang, is_process_alive, [self()]).") == "false");
}

BOOST_FIXTURE_TEST_CASE(exceptions_map_as_erpc_does, Fixture) {
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', fail, [throw]") == "{throw,{thrown,1}}");
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', fail, [exit]") == "{exit,{exception,gone}}");
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', fail, [oops]") ==
             "{error,{exception,{bad,oops},[{'Elixir.MyCpp.Math',fail,1,[]}]}}");
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', fail, [cpp]") ==
             "{error,{exception,{cpp_exception,<<\"std_exception_text\">>},[{'Elixir.MyCpp.Math',fail,1,[]}]}}");
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', add, [a, 1]") ==
             "{error,{exception,badarith,[{'Elixir.MyCpp.Math',add,2,[]}]}}");
  // rpc:call folds them into its own shapes.
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', fail, [throw]).") == "{thrown,1}");
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', fail, [exit]).") == "{badrpc,{'EXIT',gone}}");
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', fail, [oops]).") ==
             "{badrpc,{'EXIT',{{bad,oops},[{'Elixir.MyCpp.Math',fail,1,[]}]}}}");
}

BOOST_FIXTURE_TEST_CASE(unknown_functions_are_undef_and_unknown_modules_refused, Fixture) {
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', nope, [1]") ==
             "{error,{exception,undef,[{'Elixir.MyCpp.Math',nope,[1],[]}]}}");
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', add, [1]") ==
             "{error,{exception,undef,[{'Elixir.MyCpp.Math',add,[1],[]}]}}");
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', nope, []).") ==
             "{badrpc,{'EXIT',{undef,[{'Elixir.MyCpp.Math',nope,[],[]}]}}}");
  BOOST_TEST(try_call("lists, reverse, [[1]]") == "{error,{erpc,notsup}}");
  // Unexporting makes the module unknown again.
  cpp.run([&] {
    for (auto [f, a] : {std::pair{"add", 2u}, {"add", 3u}, {"fail", 1u}, {"later", 1u}, {"hang", 0u}, {"notify", 2u}})
      BOOST_TEST(cpp.node().unexport_function(kMath, Atom(f), a));
  }).get();
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', add, [1, 2]") == "{error,{erpc,notsup}}");
}

BOOST_FIXTURE_TEST_CASE(timeouts_are_the_callers_and_casts_run, Fixture) {
  BOOST_TEST(try_call("'Elixir.MyCpp.Math', hang, [], 300") == "{error,{erpc,timeout}}");
  BOOST_TEST(eval("rpc:call(" + n + ", 'Elixir.MyCpp.Math', hang, [], 300).") == "{badrpc,timeout}");
  BOOST_TEST(eval("erpc:cast(" + n + ", 'Elixir.MyCpp.Math', notify, [node(), cast_arrived]).") == "ok");
  BOOST_TEST(eval("node_harness:take(5000).") == "{ok,cast_arrived}");
  BOOST_TEST(eval("rpc:cast(" + n + ", 'Elixir.MyCpp.Math', notify, [node(), rpc_cast_arrived]).") == "true");
  BOOST_TEST(eval("node_harness:take(5000).") == "{ok,rpc_cast_arrived}");
  // The node still serves calls after all of that.
  BOOST_TEST(eval("erpc:call(" + n + ", 'Elixir.MyCpp.Math', add, [1, 1]).") == "2");
}

BOOST_AUTO_TEST_SUITE_END()
