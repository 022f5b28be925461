%% Random terms with their erlang:phash2 values and exact encodings, for the
%% C++ live test (test/interop/phash2_beam_test.cpp) and the CLI test.
%%
%%   erl -noshell -noinput -pa DIR -run random_terms main OUTDIR SEED COUNT
%%
%% Writes two files into OUTDIR:
%%   terms.etf     term_to_binary([T1, ..., Tn])   (OTP default, minor 1)
%%   expected.etf  term_to_binary([{phash2(T), phash2(T, 2^32), phash2(T, 2^32-1),
%%                                  term_to_binary(T, [{minor_version, 2}]),
%%                                  Flags}])
%% where Flags is a list of atoms telling the C++ side what it cannot
%% byte-compare: hamt (a map with > 32 keys somewhere: its key order on the
%% wire is the BEAM's internal hash order) and fun_term (a fun or export
%% somewhere: hc::Fun keeps the encoding it arrived in, here minor-1 atoms).
%% Exit status 0 on success, 1 (with a message on stderr) on any error.
%%
%% Every term type is covered: small/big integers (both signs, every
%% representation boundary), floats incl. -0.0 and denormals, Latin-1 and
%% UTF-8 atoms, binaries incl. sub-binaries and large ones, odd bitstrings,
%% proper/improper lists and byte strings, tuples, flat and HAMT maps, local
%% and crafted remote pids/ports/references (NEW_PID_EXT, NEW_PORT_EXT,
%% V4_PORT_EXT, NEWER_REFERENCE_EXT with 3..5 words), exports and local funs
%% with free variables, Horde-shaped values and deeply nested terms.
-module(random_terms).
-export([main/1, make_fun/2]).

main([OutDir, SeedText, CountText]) ->
    try
        Seed = list_to_integer(SeedText),
        Count = list_to_integer(CountText),
        _ = rand:seed(exsss, {Seed, Seed bxor 16#5bd1e995, 7}),
        Terms = fixed_terms() ++ [random_term(rand:uniform(4)) || _ <- lists:seq(1, Count)],
        Expected = [expectation(T) || T <- Terms],
        ok = file:write_file(filename:join(OutDir, "terms.etf"), term_to_binary(Terms)),
        ok = file:write_file(filename:join(OutDir, "expected.etf"), term_to_binary(Expected)),
        io:format("random_terms: seed ~p, ~p terms~n", [Seed, length(Terms)]),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format(standard_error, "random_terms failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
            halt(1)
    end;
main(Args) ->
    io:format(standard_error, "usage: random_terms main OUTDIR SEED COUNT (got ~p)~n", [Args]),
    halt(2).

expectation(T) ->
    Flags = [hamt || has_hamt(T)] ++ [fun_term || has_fun(T)],
    {erlang:phash2(T), erlang:phash2(T, 1 bsl 32), erlang:phash2(T, (1 bsl 32) - 1),
     term_to_binary(T, [{minor_version, 2}]), Flags}.

%% ---- edge cases, always present ---------------------------------------------

fixed_terms() ->
    Ints = lists:append([[N, -N, N - 1, -N + 1, N + 1, -N - 1]
                         || E <- [8, 15, 16, 27, 28, 31, 32, 59, 60, 63, 64, 65, 100, 128, 1000],
                            N <- [1 bsl E]]),
    Floats = [0.0, -0.0, 1.0, -1.0, 0.5, 5.0e-324, -5.0e-324, 2.2250738585072014e-308,
              1.7976931348623157e308, -1.7976931348623157e308, 3.141592653589793, 1.0e15, 123456789.0],
    Atoms = ['', a, 'Elixir.LabRegistry', 'Elixir.MapSet', nil, true, false, undefined,
             'héllo', 'ÿ', 'À', '日本語', 'ünïcødé', 'emoji_😀', list_to_atom(lists:duplicate(255, $x)),
             list_to_atom(lists:duplicate(255, 16#3042))],
    Big = crypto_free_bytes(70000),
    <<_:3/binary, Sub:100/binary, _/binary>> = Big,
    Bins = [<<>>, <<0>>, <<"x">>, <<"hello world">>, <<"exactly12byt">>, <<"thirteen byte">>,
            Big, Sub, binary:copy(<<255>>, 65)],
    Bits = [<<1:1>>, <<0:7>>, <<255, 3:2>>, <<"abc", 5:3>>, <<Sub/binary, 1:1>>,
            <<"hello world!", 127:7>>],
    Lists = [[], [[]], "abc", "abcd", "abcde", lists:seq(0, 255), lists:seq(0, 300), [1, a, 2, b, 3],
             [256], [-1], [1 | 2], [a | b], [1, 2, 3 | <<"t">>], [[] | []], [{}, #{}, []],
             "héllo", [300, 1, 2, 3, 4, 5]],
    Tuples = [{}, {a}, {{}}, {1, 2, 3}, {[], [], []}, list_to_tuple(lists:seq(1, 300))],
    Maps = [#{}, #{a => 1}, #{1 => a, 1.0 => b}, #{[] => [], {} => {}, <<>> => <<>>},
            maps:from_list([{I, I * I} || I <- lists:seq(1, 32)]),
            maps:from_list([{I, I * I} || I <- lists:seq(1, 33)]),
            maps:from_list([{{key, I}, [I]} || I <- lists:seq(1, 500)]),
            #{#{a => 1} => #{b => 2}}],
    Pids = [self(), spawn(fun() -> ok end), list_to_pid("<0.0.0>"), list_to_pid("<0.32767.8191>"),
            remote_pid('x@y.z', 1, 0, 1), remote_pid('x@y.z', 32768, 5, 2),
            remote_pid('lab_a@127.0.0.1', 16#ffffffff, 16#ffffffff, 16#ffffffff)],
    Ports = erlang:ports() ++
        [remote_port('x@y.z', 5, 1), remote_port('x@y.z', 16#fffffff, 3),
         remote_v4_port('x@y.z', (1 bsl 40) + 7, 1), remote_v4_port('x@y.z', (1 bsl 64) - 1, 9)],
    Refs = [make_ref(), alias(), remote_ref('x@y.z', 3, [1, 2, 3]), remote_ref('x@y.z', 3, [1, 9, 9]),
            remote_ref('lab_b@127.0.0.1', 7, [16#3ffff, 16#ffffffff, 16#ffffffff]),
            remote_ref('x@y.z', 1, [7, 8, 9, 10]), remote_ref('x@y.z', 1, [7, 8, 9, 10, 11])],
    Funs = [fun lists:map/2, fun erlang:phash2/2, ?MODULE:make_fun(1, <<"free">>),
            ?MODULE:make_fun(-5, #{a => [1, 2.5]})],
    Deep = [lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 2000)),
            lists:foldl(fun(I, A) -> {I, A} end, {}, lists:seq(1, 2000)),
            lists:foldl(fun(I, A) -> #{I => A} end, #{}, lists:seq(1, 500))],
    Ints ++ Floats ++ Atoms ++ Bins ++ Bits ++ Lists ++ Tuples ++ Maps ++ Pids ++ Ports ++ Refs ++
        Funs ++ Deep ++ horde_terms().

%% A local fun with free variables (their values are part of its hash).
make_fun(X, Y) -> fun(Z) -> {X, Y, Z} end.

horde_terms() ->
    Node = 'lab_a@127.0.0.1',
    Pid = remote_pid(Node, 112, 0, 1700000000),
    Dots = #{'__struct__' => 'Elixir.MapSet', map => #{{123456789, 1} => [], {987654321, 4} => []},
             version => 2},
    [{key, <<"alpha">>},
     {{'Elixir.LabRegistry', Node}, Pid, nil},
     #{{{'Elixir.LabRegistry', Node}, Pid, #{role => admin}} => Dots},
     {{'Elixir.LabSup', Node}, 17},
     #{'__struct__' => 'Elixir.Horde.DynamicSupervisor.Member', name => {'Elixir.LabSup', Node},
       status => alive}].

%% ---- random terms ------------------------------------------------------------

random_term(0) -> scalar();
random_term(Depth) ->
    case rand:uniform(10) of
        N when N =< 4 -> scalar();
        5 -> list_to_tuple(children(Depth, 5));
        6 -> children(Depth, 6);
        7 -> improper(Depth);
        8 -> maps:from_list([{random_term(Depth - 1), random_term(Depth - 1)}
                             || _ <- lists:seq(1, rand:uniform(6) - 1)]);
        9 -> big_map(Depth);
        10 -> byte_list()
    end.

children(Depth, Max) -> [random_term(Depth - 1) || _ <- lists:seq(1, rand:uniform(Max + 1) - 1)].

improper(Depth) ->
    Tail = case rand:uniform(3) of
               1 -> scalar();
               2 -> list_to_tuple(children(Depth, 3));
               3 -> bitstring()
           end,
    lists:foldr(fun(E, Acc) -> [E | Acc] end, Tail, children(Depth, 5) ++ [random_term(0)]).

big_map(Depth) ->
    case rand:uniform(4) of
        1 -> maps:from_list([{I, random_term(0)} || I <- lists:seq(1, 32 + rand:uniform(60))]);
        _ -> maps:from_list([{random_term(Depth - 1), random_term(0)} || _ <- lists:seq(1, rand:uniform(32))])
    end.

byte_list() -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(20))].

scalar() ->
    case rand:uniform(14) of
        1 -> rand:uniform(2001) - 1001;
        2 -> rand:uniform(1 bsl 27) * sign();
        3 -> rand:uniform(1 bsl 64) * sign();
        4 -> rand:uniform(1 bsl (rand:uniform(1100))) * sign();
        5 -> float_value();
        6 -> atom_value();
        7 -> binary_value();
        8 -> bitstring();
        9 -> pid_value();
        10 -> ref_value();
        11 -> port_value();
        12 -> fun_value();
        13 -> [];
        14 -> {}
    end.

sign() -> case rand:uniform(2) of 1 -> 1; 2 -> -1 end.

float_value() ->
    case rand:uniform(6) of
        1 -> -0.0;
        2 -> 0.0;
        3 -> rand:uniform() * sign();
        4 -> float(rand:uniform(1000000)) * sign();
        5 -> rand:uniform() * math:pow(10, rand:uniform(600) - 300) * sign();
        6 -> rand:normal() * 1.0e10
    end.

atom_value() ->
    Pool = ['Elixir.LabRegistry', 'Elixir.LabSup', key, member, process, alive, nil, ok, error,
            'lab_a@127.0.0.1', 'héllo', '日本語', 'Elixir.DeltaCrdt.AWLWWMap'],
    case rand:uniform(3) of
        1 -> lists:nth(rand:uniform(length(Pool)), Pool);
        2 -> list_to_atom([$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(30))]);
        3 -> list_to_atom([code_point() || _ <- lists:seq(1, rand:uniform(12))])
    end.

code_point() ->
    case rand:uniform(4) of
        1 -> rand:uniform(95) + 31;
        2 -> rand:uniform(96) + 159;
        3 -> rand:uniform(16#d7ff - 256) + 255;
        4 -> rand:uniform(16#10ffff - 16#10000) + 16#ffff
    end.

binary_value() ->
    Len = case rand:uniform(50) of 50 -> rand:uniform(5000); _ -> rand:uniform(40) - 1 end,
    crypto_free_bytes(Len).

bitstring() ->
    Bits = rand:uniform(7),
    <<(binary_value())/binary, (rand:uniform(1 bsl Bits) - 1):Bits>>.

crypto_free_bytes(N) -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, N) >>.

node_value() ->
    lists:nth(rand:uniform(4), ['x@y.z', 'lab_a@127.0.0.1', 'lab_b@127.0.0.1', 'nóde@host']).

pid_value() ->
    case rand:uniform(3) of
        1 -> self();
        2 -> list_to_pid("<0." ++ integer_to_list(rand:uniform(32768) - 1) ++ "." ++
                             integer_to_list(rand:uniform(8192) - 1) ++ ">");
        3 -> remote_pid(node_value(), rand:uniform(1 bsl 32) - 1, rand:uniform(1 bsl 32) - 1,
                        rand:uniform(1 bsl 32) - 1)
    end.

%% Remote references in random terms have 3 ID words: OTP 25.2 can crash when
%% 4- and 5-word external refs of one node share a HAMT map (fixtures README).
ref_value() ->
    case rand:uniform(3) of
        1 -> make_ref();
        2 -> alias();
        3 -> remote_ref(node_value(), rand:uniform(1 bsl 32) - 1,
                        [rand:uniform(1 bsl 18) - 1, rand:uniform(1 bsl 32) - 1, rand:uniform(1 bsl 32) - 1])
    end.

port_value() ->
    case rand:uniform(3) of
        1 -> hd(erlang:ports());
        2 -> remote_port(node_value(), rand:uniform(1 bsl 28) - 1, rand:uniform(1 bsl 32) - 1);
        3 -> remote_v4_port(node_value(), rand:uniform(1 bsl 64) - 1, rand:uniform(1 bsl 32) - 1)
    end.

fun_value() ->
    case rand:uniform(3) of
        1 -> fun lists:reverse/1;
        2 -> ?MODULE:make_fun(rand:uniform(100), atom_value());
        3 -> ?MODULE:make_fun(binary_value(), float_value())
    end.

%% ---- crafted external identifiers -------------------------------------------

atom_ext(A) ->
    B = atom_to_binary(A, utf8),
    <<119, (byte_size(B)):8, B/binary>>.

remote_pid(Node, Id, Serial, Creation) ->
    binary_to_term(<<131, 88, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>).

remote_port(Node, Id, Creation) ->
    binary_to_term(<<131, 89, (atom_ext(Node))/binary, Id:32, Creation:32>>).

remote_v4_port(Node, Id, Creation) ->
    binary_to_term(<<131, 120, (atom_ext(Node))/binary, Id:64, Creation:32>>).

remote_ref(Node, Creation, Ids) ->
    binary_to_term(<<131, 90, (length(Ids)):16, (atom_ext(Node))/binary, Creation:32,
                     << <<I:32>> || I <- Ids >>/binary>>).

%% ---- flags ---------------------------------------------------------------------

has_hamt(T) when is_map(T) ->
    map_size(T) > 32 orelse lists:any(fun({K, V}) -> has_hamt(K) orelse has_hamt(V) end, maps:to_list(T));
has_hamt(T) when is_tuple(T) -> lists:any(fun has_hamt/1, tuple_to_list(T));
has_hamt([H | T]) -> has_hamt(H) orelse has_hamt(T);
has_hamt(T) when is_function(T) -> lists:any(fun has_hamt/1, fun_env(T));
has_hamt(_) -> false.

has_fun(T) when is_function(T) -> true;
has_fun(T) when is_map(T) -> lists:any(fun({K, V}) -> has_fun(K) orelse has_fun(V) end, maps:to_list(T));
has_fun(T) when is_tuple(T) -> lists:any(fun has_fun/1, tuple_to_list(T));
has_fun([H | T]) -> has_fun(H) orelse has_fun(T);
has_fun(_) -> false.

fun_env(F) ->
    case erlang:fun_info(F, env) of
        {env, Env} -> Env;
        _ -> []
    end.
