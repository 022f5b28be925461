%% The BEAM side of bench/term_bench.cpp: times erlang:phash2/2,
%% binary_to_term/1 and term_to_binary/1 over the very bytes the C++ side
%% measured, so the two columns of its table compare like with like.
%%
%%   erl +S 1 +sbwt none -noshell -noinput -pa DIR -run term_bench main FILE ROUNDS REPEAT
%%
%% FILE is term_to_binary([E1, ..., En]) where each Ei is the external
%% encoding (with the 131 version byte) of one benchmark term. Each operation
%% runs over all n terms REPEAT times per round (so that a round is long
%% against the millisecond CPU clock), ROUNDS rounds; the best round counts.
%% Prints lines
%%   result OPERATION TERMS_PER_SECOND CHECKSUM
%% (the checksum lets the C++ side verify that both sides saw the same terms:
%% for phash2 it is the sum of phash2(T, 2^32), for decode the number of terms,
%% for encode the total encoded size), then "done". Exit status 1 on error.
%% Operations: phash2, phash2_hot (the first 1000 terms hashed N div 1000
%% times: the same work without cache misses), decode, encode.
-module(term_bench).
-export([main/1]).

main([File, RoundsText, RepeatText]) ->
    try
        Rounds = list_to_integer(RoundsText),
        Repeat = list_to_integer(RepeatText),
        {ok, Bin} = file:read_file(File),
        Encoded = binary_to_term(Bin),
        Terms = [binary_to_term(E) || E <- Encoded],
        N = length(Terms),
        report(phash2, N * Repeat, best(Rounds, fun() -> hot_loop(Repeat, Terms, 0) end)),
        %% The same work on a cache-resident subset: the first 1000 terms, over
        %% and over (N div 1000 times), i.e. hashing cost without memory stalls.
        HotN = min(N, 1000),
        Hot = lists:sublist(Terms, HotN),
        Reps = Repeat * (N div HotN),
        report(phash2_hot, HotN * Reps, best(Rounds, fun() -> hot_loop(Reps, Hot, 0) end)),
        report(decode, N * Repeat, best(Rounds, fun() -> repeat(Repeat, fun() -> decode_loop(Encoded, 0) end) end)),
        report(encode, N * Repeat, best(Rounds, fun() -> repeat(Repeat, fun() -> encode_loop(Terms, 0) end) end)),
        io:format("done~n"),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "term_bench failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end.

report(Name, N, {Nanos, Checksum}) ->
    io:format("result ~s ~.1f ~w~n", [Name, N * 1.0e9 / max(Nanos, 1), Checksum]).

%% Best (shortest) of Rounds runs, in CPU time of the runtime system (ms
%% resolution; the machine may be shared, so wall time would count other
%% processes' time too). Run with `+S 1 +sbwt none` so that no other scheduler
%% spins. A garbage collection first so that every round starts alike.
best(Rounds, Fun) ->
    lists:min([begin
                   erlang:garbage_collect(),
                   {T0, _} = erlang:statistics(runtime),
                   Checksum = Fun(),
                   {T1, _} = erlang:statistics(runtime),
                   {(T1 - T0) * 1000000, Checksum}
               end || _ <- lists:seq(1, Rounds)]).

phash_loop([T | Ts], Acc) -> phash_loop(Ts, Acc + erlang:phash2(T, 4294967296));
phash_loop([], Acc) -> Acc.

%% Checksums are per pass over the terms (phash2 sums add up over passes).
repeat(1, Fun) -> Fun();
repeat(K, Fun) -> _ = Fun(), repeat(K - 1, Fun).

hot_loop(0, _Terms, Acc) -> Acc;
hot_loop(Reps, Terms, Acc) -> hot_loop(Reps - 1, Terms, phash_loop(Terms, Acc)).

decode_loop([E | Es], Acc) ->
    _ = binary_to_term(E),
    decode_loop(Es, Acc + 1);
decode_loop([], Acc) -> Acc.

encode_loop([T | Ts], Acc) -> encode_loop(Ts, Acc + byte_size(term_to_binary(T, [{minor_version, 2}])));
encode_loop([], Acc) -> Acc.
