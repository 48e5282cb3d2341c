#!/usr/bin/env bash
# ppml dmlp end to end: the MPI engine (mpirun -n 6, N = 5 workers) gives the model of the
# local engine on the same seeded synthetic data; bad input ends with "ppml: error:" and a
# non-zero status; a rank dying mid-run ends the job instead of hanging.
set -u
PPML=${1:?usage: cli_dmlp.sh path/to/ppml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect_error DESCRIPTION CMD...: non-zero exit and a one-line "ppml: error:" on stderr
expect_error() {
  local what=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then bad "$what: succeeded"; return; fi
  grep -q '^ppml: error: ' "$tmp/err" && ok || { bad "$what: no 'ppml: error:' line"; cat "$tmp/err" >&2; }
}

# The local-vs-MPI comparison uses the plain-simulated encoding: with --seed both engines
# draw the same noise only if they consume the test stream in the same order, and the BFV
# path's worker-side randomness (in another process under MPI) changes that order. The BFV
# path is compared with centralised training at eps = inf instead (exact decryption).
common=(--synthetic 300 24 --eps 1 --iters 6 --lr 0.5 --seed 42 --quiet --encoding plain)

"$PPML" dmlp --local --nodes 5 "${common[@]}" --model "$tmp/local.model" --json "$tmp/local.json" 2>/dev/null \
  && ok || bad "local run"
grep -q '"encoding":"plain-simulated"' "$tmp/local.json" && ok || bad "report names the encoding"
grep -q '"same_model":true' "$tmp/local.json" && ok || bad "one node on the union gives the same model"
grep -q '"record_eps":24' "$tmp/local.json" && ok || bad "record-level eps stated"
"$PPML" dmlp --local --nodes 3 --synthetic 100 24 --eps inf --iters 3 --lr 0.5 --quiet --json "$tmp/bfv.json" \
  && grep -q '"encoding":"bfv"' "$tmp/bfv.json" && grep -q '"same_model_as_centralised":true' "$tmp/bfv.json" \
  && ok || bad "local BFV run at eps=inf is not centralised training"
# CSV data (bundled): two classes, or two named classes of three
if [[ -f data/breast_cancer.csv ]]; then
  "$PPML" dmlp --local --nodes 3 --data data/breast_cancer.csv --eps inf --lr 0.5 --encoding plain --json - \
    >"$tmp/csv.json" 2>/dev/null && grep -q '"same_model_as_centralised":true' "$tmp/csv.json" && ok || bad "CSV run"
  "$PPML" dmlp --local --nodes 3 --data data/wine.csv --classes class_0,class_2 --encoding plain --quiet \
    && ok || bad "CSV with named classes"
  expect_error "CSV with three classes and no --classes" "$PPML" dmlp --local --nodes 3 --data data/wine.csv
  expect_error "CSV unknown class" "$PPML" dmlp --local --nodes 3 --data data/wine.csv --classes class_0,nope
fi
expect_error "bad encoding" "$PPML" dmlp --local --nodes 3 --synthetic 50 4 --encoding rot13

expect_error "eps 0" "$PPML" dmlp --local --nodes 3 --synthetic 50 4 --eps 0
expect_error "eps negative" "$PPML" dmlp --local --nodes 3 --synthetic 50 4 --eps -1
expect_error "eps nan" "$PPML" dmlp --local --nodes 3 --synthetic 50 4 --eps nan
expect_error "N < 2" "$PPML" dmlp --local --nodes 1 --synthetic 50 4
expect_error "N > m" "$PPML" dmlp --local --nodes 60 --synthetic 50 4
expect_error "missing data" "$PPML" dmlp --local --nodes 3 --data "$tmp/nothing-here"
printf 'not an idx file' >"$tmp/train-images-idx3-ubyte"
printf '\0\0\10\1\0\0\0\2\1\0' >"$tmp/train-labels-idx1-ubyte"
expect_error "unreadable IDX" "$PPML" dmlp --local --nodes 3 --data "$tmp"
expect_error "unknown option" "$PPML" dmlp --local --nodes 3 --synthetic 50 4 --bogus
"$PPML" dmlp --help >/dev/null && ok || bad "--help"

# bench suite, quick: the five ops per (N, eps) and the baseline line
"$PPML" bench dmlp --quick --json --encoding plain >"$tmp/bench.json" 2>/dev/null && ok || bad "bench dmlp --quick"
for op in encode comm comp total_wall total_critical_path; do
  [[ $(grep -c "\"op\":\"$op\"" "$tmp/bench.json") -eq 4 ]] && ok || bad "bench op $op"
done
grep -q '"accuracy_nonprivate"' "$tmp/bench.json" && grep -q '"params":{"N":10,"eps":"inf"' "$tmp/bench.json" \
  && ok || bad "bench fields"

# MPI: skipped only when this build or machine has none.
if ! command -v mpirun >/dev/null; then
  echo "cli_dmlp: mpirun not installed, MPI part skipped"
elif "$PPML" dmlp --mpi --synthetic 10 2 2>&1 | grep -q 'no MPI'; then
  echo "cli_dmlp: ppml built without MPI, MPI part skipped"
else
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  # OpenMPI's own allocations are not ours to leak-check under ASan.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  mpi=(mpirun -n 6 --oversubscribe -x ASAN_OPTIONS -x UBSAN_OPTIONS)
  if timeout 300 "${mpi[@]}" "$PPML" dmlp --mpi "${common[@]}" --model "$tmp/mpi.model" --json "$tmp/mpi.json" \
       >"$tmp/mpi.out" 2>"$tmp/mpi.err"; then
    ok
    cmp -s "$tmp/local.model" "$tmp/mpi.model" && ok || bad "MPI model differs from the local model"
    h1=$(grep -o '"model_hash":"[0-9a-f]*"' "$tmp/local.json")
    h2=$(grep -o '"model_hash":"[0-9a-f]*"' "$tmp/mpi.json")
    [[ -n "$h1" && "$h1" == "$h2" ]] && ok || bad "model hashes differ"
    grep -q '"engine":"mpi"' "$tmp/mpi.json" && grep -q '"nodes":5' "$tmp/mpi.json" && ok || bad "MPI report"
  else
    bad "mpirun run failed"; cat "$tmp/mpi.err" >&2
  fi
  # eps = inf over MPI through BFV (workers decrypt with s_DA and the CS's shares) equals
  # plain centralised training
  timeout 300 "${mpi[@]}" "$PPML" dmlp --mpi --synthetic 300 24 --eps inf --iters 4 --lr 0.5 --quiet \
    --encoding bfv --json "$tmp/inf.json" 2>/dev/null && grep -q '"same_model_as_centralised":true' "$tmp/inf.json" \
    && grep -q '"encoding":"bfv"' "$tmp/inf.json" && ok || bad "MPI BFV eps=inf model is not the centralised one"
  timeout 300 "${mpi[@]}" "$PPML" dmlp --mpi --synthetic 300 24 --eps 2 --iters 4 --lr 0.5 --quiet \
    --encoding bfv-direct --json "$tmp/direct.json" 2>/dev/null && grep -q '"encoding":"bfv-direct"' "$tmp/direct.json" \
    && ok || bad "MPI bfv-direct run"
  # too few ranks: clear error
  if timeout 120 mpirun -n 2 -x ASAN_OPTIONS "$PPML" dmlp --mpi --synthetic 50 4 >"$tmp/out" 2>"$tmp/err"; then
    bad "2 ranks accepted"
  else
    grep -q 'ppml: error: .*at least 3 ranks' "$tmp/err" && ok || { bad "2 ranks: no clear error"; cat "$tmp/err" >&2; }
  fi
  # bad data over MPI: rank 0 aborts the whole job with a message
  start=$(date +%s)
  if timeout 120 "${mpi[@]}" "$PPML" dmlp --mpi --data "$tmp/nothing-here" >"$tmp/out" 2>"$tmp/err"; then
    bad "MPI run on missing data succeeded"
  else
    rc=$?
    [[ $rc -ne 124 ]] && grep -q 'ppml: error:' "$tmp/err" && ok || { bad "MPI missing data: rc $rc"; cat "$tmp/err" >&2; }
  fi
  # a worker dying in round 2: the job ends (no hang) with a non-zero status
  if timeout 120 "${mpi[@]}" "$PPML" dmlp --mpi "${common[@]}" --test-fail-rank 3 --test-fail-round 2 \
       >"$tmp/out" 2>"$tmp/err"; then
    bad "run with a dead rank succeeded"
  else
    rc=$?
    [[ $rc -ne 124 ]] && ok || bad "run with a dead rank hung (timeout)"
  fi
  echo "cli_dmlp: MPI part took $(( $(date +%s) - start )) s after the model check"
fi

echo "cli_dmlp: $pass passed, $fails failed"
[[ $fails -eq 0 ]]
