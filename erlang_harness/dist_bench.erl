%% BEAM side of bench/dist_bench.cpp.
%%
%% server(): runs on node B: a gen_server `bench_echo` ({echo, X} -> X) and a
%%   process `bench_sink` (see sink/0), then waits forever.
%% client([CppNode, BNode, N]): runs on node A and prints the measurements:
%%   - gen_server:call round trips A -> {cpp_echo, CppNode} and A -> {bench_echo, BNode}
%%   - one-way throughput A -> C++ sink and A -> B sink (N messages, then a count ack)
%%   - one-way throughput C++ -> A and B -> A (the sink blasts N messages to us)
-module(dist_bench).
-behaviour(gen_server).
-export([server/0, client/1, init/1, handle_call/3, handle_cast/2]).

server() ->
    {ok, _} = gen_server:start({local, bench_echo}, ?MODULE, [], []),
    register(bench_sink, spawn(fun() -> sink(idle) end)),
    io:format("server ready~n"),
    receive stop -> ok end.

init([]) -> {ok, nostate}.
handle_call({echo, X}, _From, S) -> {reply, X, S}.
handle_cast(_, S) -> {noreply, S}.

%% {count, From, N}: count the next N messages, then From ! {counted, N}.
%% {blast, To, N}: send N messages {msg, I} to To.
sink(idle) ->
    receive
        {count, From, N} -> sink({counting, From, N, 0});
        {blast, To, N} -> blast(To, N), sink(idle);
        {big_to, To, Size} -> To ! {big, binary:copy(<<7>>, Size)}, sink(idle);
        _ -> sink(idle)
    end;
sink({counting, From, N, N}) ->
    From ! {counted, N},
    sink(idle);
sink({counting, From, N, K}) ->
    receive _ -> sink({counting, From, N, K + 1}) end.

blast(_To, 0) -> ok;
blast(To, N) -> To ! {msg, N}, blast(To, N - 1).

client([CppNodeS, BNodeS, NS]) ->
    CppNode = list_to_atom(CppNodeS), BNode = list_to_atom(BNodeS), N = list_to_integer(NS),
    pong = net_adm:ping(CppNode),
    pong = net_adm:ping(BNode),
    timer:sleep(500),
    Cpp = {cpp_echo, CppNode}, Beam = {bench_echo, BNode},
    _ = latencies(Cpp, 2000), _ = latencies(Beam, 2000),   % warm up
    report_latency("GenServer.call A -> C++ process", latencies(Cpp, N)),
    report_latency("GenServer.call A -> BEAM process on B", latencies(Beam, N)),
    M = N * 10,
    report_rate("one-way A -> C++ (send, count ack)", M, send_rate({cpp_sink, CppNode}, M)),
    report_rate("one-way A -> B   (send, count ack)", M, send_rate({bench_sink, BNode}, M)),
    report_rate("one-way C++ -> A (blast)", M, receive_rate({cpp_sink, CppNode}, M)),
    report_rate("one-way B -> A   (blast)", M, receive_rate({bench_sink, BNode}, M)),
    %% Head-of-line blocking: small calls right behind a 50 MB message. The
    %% BEAM fragments large messages only towards peers with FRAGMENTS (B);
    %% towards the C++ node the message goes out as one frame.
    report_big("50 MB message, then calls A -> C++", Cpp, {cpp_sink, CppNode}),
    report_big("50 MB message, then calls A -> B", Beam, {bench_sink, BNode}),
    %% The other direction: the sink on C++ / B sends us 50 MB, then we call
    %% the echo server on the same node; its small replies share the
    %% connection with the big message (fragmented by the sender, or not).
    report_big_out("50 MB message C++ -> A, calls A -> C++", Cpp, {cpp_sink, CppNode}),
    report_big_out("50 MB message B -> A, calls A -> B", Beam, {bench_sink, BNode}),
    erlang:halt(0).

report_big(What, Target, Sink) ->
    Bin = binary:copy(<<7>>, 50 * 1024 * 1024),
    _ = latencies(Target, 100),
    T0 = erlang:monotonic_time(microsecond),
    Sink ! {big, Bin},
    Ls = [begin
              T1 = erlang:monotonic_time(nanosecond),
              ping = gen_server:call(Target, {echo, ping}, 60000),
              erlang:monotonic_time(nanosecond) - T1
          end || _ <- lists:seq(1, 20)],
    Total = erlang:monotonic_time(microsecond) - T0,
    io:format("~-40s first call ~8.1f ms, max ~8.1f ms, last ~6.1f us (20 calls in ~.1f ms)~n",
              [What, hd(Ls) / 1.0e6, lists:max(Ls) / 1.0e6, lists:last(Ls) / 1000, Total / 1000]).

report_big_out(What, Target, Source) ->
    Size = 50 * 1024 * 1024,
    _ = latencies(Target, 100),
    T0 = erlang:monotonic_time(microsecond),
    Source ! {big_to, self(), Size},
    timer:sleep(20), % the source has started sending
    Ls = [begin
              T1 = erlang:monotonic_time(nanosecond),
              ping = gen_server:call(Target, {echo, ping}, 60000),
              erlang:monotonic_time(nanosecond) - T1
          end || _ <- lists:seq(1, 20)],
    TCalls = erlang:monotonic_time(microsecond) - T0,
    receive {big, B} when byte_size(B) =:= Size -> ok after 60000 -> error(no_big) end,
    TBig = erlang:monotonic_time(microsecond) - T0,
    io:format("~-40s first call ~8.1f ms, max ~8.1f ms (20 calls done at ~.1f ms, 50 MB in at ~.1f ms)~n",
              [What, hd(Ls) / 1.0e6, lists:max(Ls) / 1.0e6, TCalls / 1000, TBig / 1000]).

latencies(Target, N) ->
    lists:sort([begin
                    T0 = erlang:monotonic_time(nanosecond),
                    ping = gen_server:call(Target, {echo, ping}, 5000),
                    erlang:monotonic_time(nanosecond) - T0
                end || _ <- lists:seq(1, N)]).

report_latency(What, Sorted) ->
    Len = length(Sorted),
    P = fun(Q) -> lists:nth(max(1, round(Q * Len)), Sorted) / 1000 end,
    io:format("~-40s median ~8.1f us   p90 ~8.1f us   p99 ~8.1f us   (~b calls)~n",
              [What, P(0.5), P(0.9), P(0.99), Len]).

send_rate(Sink, M) ->
    Sink ! {count, self(), M},
    T0 = erlang:monotonic_time(microsecond),
    send_n(Sink, M),
    receive {counted, M} -> ok after 60000 -> error(timeout) end,
    erlang:monotonic_time(microsecond) - T0.

send_n(_Sink, 0) -> ok;
send_n(Sink, K) -> Sink ! {msg, K}, send_n(Sink, K - 1).

receive_rate(Source, M) ->
    T0 = erlang:monotonic_time(microsecond),
    Source ! {blast, self(), M},
    recv_n(M),
    erlang:monotonic_time(microsecond) - T0.

recv_n(0) -> ok;
recv_n(K) -> receive {msg, _} -> recv_n(K - 1) after 60000 -> error(timeout) end.

report_rate(What, M, Us) ->
    io:format("~-40s ~12.1f msg/s   (~b messages in ~.1f ms)~n", [What, M * 1.0e6 / max(1, Us), M, Us / 1000]).
