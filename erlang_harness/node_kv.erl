%% A tiny Erlang gen_server the C++ node calls in tests (test/cnode/node_beam_test.cpp).
-module(node_kv).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).

init([]) -> {ok, #{}}.
handle_call({put, K, V}, _From, S) -> {reply, ok, S#{K => V}};
handle_call({get, K}, _From, S) -> {reply, maps:get(K, S, undefined), S};
handle_call(crash, _From, S) -> {stop, crashed_on_request, S}.
handle_cast(_, S) -> {noreply, S}.
