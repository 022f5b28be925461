%% Test-side control loop for a BEAM node started by test/support/beam_node.cpp.
%%
%% Reads Erlang expression sequences from stdin, one per line (each ending in
%% '.'), evaluates them with erl_eval keeping the variable bindings between
%% lines, and answers on stdout with exactly one line:
%%   @@HC@@ ok <result printed with ~tp on one line>
%%   @@HC@@ error <Class:Reason printed on one line>
%% Other stdout lines (logger output...) are ignored by the C++ side.
%% Each evaluation runs in a fresh process (so a crash or a receive does not
%% take the loop down); its mailbox is kept by the loop process's helper
%% `hc_inbox` registered process: messages sent to the registered name
%% `hc_inbox` can be read back with node_harness:take(Timeout).
-module(node_harness).
-export([start/0, take/1, take_match/2]).

start() ->
    Inbox = spawn(fun() -> inbox([]) end),
    register(hc_inbox, Inbox),
    loop(erl_eval:new_bindings()).

loop(Bindings) ->
    case io:get_line('') of
        eof -> erlang:halt(0);
        {error, _} -> erlang:halt(0);
        Line ->
            {Reply, NewBindings} = eval(Line, Bindings),
            io:put_chars([<<"@@HC@@ ">>, Reply, $\n]),
            loop(NewBindings)
    end.

eval(Line, Bindings) ->
    Parent = self(),
    {Pid, Ref} = spawn_monitor(fun() ->
        R = try
                {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Line)),
                {ok, Exprs} = erl_parse:parse_exprs(Tokens),
                {value, V, B} = erl_eval:exprs(Exprs, Bindings),
                {ok, V, B}
            catch C:E:S -> {error, {C, E, lists:sublist(S, 3)}}
            end,
        Parent ! {self(), R}
    end),
    receive
        {Pid, {ok, V, B}} ->
            erlang:demonitor(Ref, [flush]),
            {["ok ", one_line(V)], B};
        {Pid, {error, E}} ->
            erlang:demonitor(Ref, [flush]),
            {["error ", one_line(E)], Bindings};
        {'DOWN', Ref, process, Pid, Reason} ->
            {["error ", one_line({exit, Reason})], Bindings}
    end.

one_line(T) ->
    S = lists:flatten(io_lib:format("~tp", [T])),
    unicode:characters_to_binary([case C of $\n -> $\s; _ -> C end || C <- S]).

%% A registered mailbox for messages the C++ side sends to {hc_inbox, Node}.
inbox(Msgs) ->
    receive
        {'$take', From, Ref, Timeout} when Msgs =:= [] ->
            receive
                M when not (is_tuple(M) andalso element(1, M) =:= '$take') -> From ! {Ref, {ok, M}}, inbox([])
            after Timeout -> From ! {Ref, timeout}, inbox([])
            end;
        {'$take', From, Ref, _} ->
            [M | Rest] = Msgs,
            From ! {Ref, {ok, M}},
            inbox(Rest);
        M ->
            inbox(Msgs ++ [M])
    end.

%% Oldest message received by hc_inbox, waiting up to Timeout ms.
take(Timeout) ->
    Ref = make_ref(),
    hc_inbox ! {'$take', self(), Ref, Timeout},
    receive {Ref, R} -> R after Timeout + 1000 -> timeout end.

%% First message for which Pred returns true (others are dropped).
take_match(Pred, Timeout) ->
    Deadline = erlang:monotonic_time(millisecond) + Timeout,
    take_match_loop(Pred, Deadline).
take_match_loop(Pred, Deadline) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    case take(Left) of
        {ok, M} -> case Pred(M) of true -> {ok, M}; false -> take_match_loop(Pred, Deadline) end;
        timeout -> timeout
    end.
