#!/usr/bin/env bash
# Networked encrypted diagnosis (scheme S): `ppml serve diag-ccs` and `ppml serve diag-css`
# on loopback ports, the DSP's `ppml diagnose outsource`, users' `ppml diagnose --css`.
# Checks: the class equals the in-process answer; bad requests get an error reply and the
# servers go on serving; bad inputs give one "ppml: error:" line and a non-zero status.
set -u
# The servers listen on tcp://127.0.0.1:* (a free port chosen by the system, read back from
# their "listening on" line), so parallel tests and builds cannot collide.
ppml=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/data/iris.csv
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0; pass=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $*" >&2; fi; }
T="timeout 60"
# err CMD...: non-zero status and a "ppml: error:" line
err() {
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^ppml: error: ' <<<"$out"; then return 0; fi
  echo "expected an error (rc $rc): $out" >&2; return 1
}

# start NAME LOGFILE ARGS...: starts `ppml serve NAME ARGS --listen tcp://127.0.0.1:*`, waits
# for its "listening on ADDR" line; sets $addr and appends the pid to pids.
start() {
  local name=$1 log=$2; shift 2
  timeout 300 "$ppml" serve "$name" --listen 'tcp://127.0.0.1:*' "$@" 2>"$log" &
  local pid=$! i
  for i in $(seq 600); do
    addr=$(sed -n 's/^ppml serve [a-z-]*: listening on \(tcp:[^ ]*\).*/\1/p' "$log")
    [ -n "$addr" ] && { pids+=("$pid"); return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  cat "$log" >&2; return 1
}

cd "$tmp" || exit 1
ok "$ppml" serve --help >/dev/null
ok $T "$ppml" serve keygen --out ccs
ok $T "$ppml" serve keygen --out css
ok $T "$ppml" serve keygen --out cssc # CSS's client key for its connection to CCS

# diag-ccs allows only CSS's client key
ok start diag-ccs ccs.log --key ccs.sec --bfv-keys ccs.bfv --public ccs.public --test-keys \
   --allow cssc.pub
ccs=$addr
ok test -z "$(grep warning ccs.log)"
ok test "$(stat -c %a ccs.bfv)" = 600
ok $T "$ppml" diagnose outsource --data "$data" --ccs-public ccs.public --out model.bin \
   --scaler scaler.txt --test-keys >/dev/null
# a CSS with another client key, or none, is refused by CCS with an error line
for k in "--client-key css.sec" ""; do
  # shellcheck disable=SC2086
  ok err $T "$ppml" serve diag-css --listen 'tcp://127.0.0.1:*' --key css.sec --ccs "$ccs" \
     --ccs-key ccs.pub --ccs-public ccs.public --model model.bin --test-keys $k
done
ok start diag-css css.log --key css.sec --ccs "$ccs" --ccs-key ccs.pub --ccs-public ccs.public \
   --model model.bin --test-keys --client-key cssc.sec
css=$addr
q() { $T "$ppml" diagnose --css "$css" --css-key css.pub --ccs-public ccs.public --test-keys --timeout 55 "$@"; }
idx() { sed -n 's/^class: .*index \([0-9]*\))\{0,1\}$/\1/p'; }

# the networked class equals the in-process one (same DSP model: same data, split seed)
rows=("5.1,3.5,1.4,0.2" "6.6,2.9,4.6,1.3" "6.4,2.8,5.6,2.1")
if [ -n "${PPML_SANITIZED:-}" ]; then rows=("${rows[@]:1:2}"); fi
for x in "${rows[@]}"; do
  net=$(q --scaler scaler.txt --x "$x" | idx)
  loc=$($T "$ppml" diagnose --data "$data" --x "$x" --test-keys 2>local.err | idx)
  [ -n "$loc" ] || { echo "in-process run failed:" >&2; cat local.err >&2; }
  ok test -n "$net"
  ok test "$net" = "$loc"
done

# malformed requests: error reply, the servers keep serving
ok err q --x 5.1,3.5,1.4            # wrong dimension (no scaler: sent to CSS)
out=$(q --x 5.1,3.5,1.4 2>&1); ok grep -q 'CSS refused the request' <<<"$out"
ok err q --scaler scaler.txt --x "${rows[0]}" --test-truncate-request
again=$(q --scaler scaler.txt --x "${rows[0]}" | idx)
ok test -n "$again"
ok test "$again" = "$(q --scaler scaler.txt --x "${rows[0]}" | idx)"
ok grep -q '1 refused' css.log

# a user leaving in the middle of its session (request sent, answer never read), then two
# users at once (one waits its turn): every later user gets the right answer
ok q --scaler scaler.txt --x "${rows[1]}" --test-disconnect >/dev/null
both=$( (q --scaler scaler.txt --x "${rows[0]}" | idx) & (q --scaler scaler.txt --x "${rows[0]}" | idx); wait)
ok test "$both" = "$again"$'\n'"$again"
ok test "$(q --scaler scaler.txt --x "${rows[0]}" | idx)" = "$again"

# CCS restarts (same keys, same address): CSS connects to it again and sends the request
# once more, so the first user after the restart gets the right class
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
ok start diag-ccs ccs3.log --key ccs.sec --bfv-keys ccs.bfv --public ccs3.public --test-keys \
   --allow cssc.pub --listen "$ccs"
pids[0]=${pids[${#pids[@]}-1]}; unset "pids[${#pids[@]}-1]"
ok cmp -s ccs.public ccs3.public
ok test "$(q --scaler scaler.txt --x "${rows[0]}" | idx)" = "$again"
ok grep -q 'lost CCS at' css.log

# bad inputs
ok q --x 1,2,3,4 >/dev/null                      # no --scaler: --x taken as standardised
ok err q --scaler scaler.txt --x 1,2,3           # wrong count for the scaler
ok err q --scaler scaler.txt --x 1,2,x,4
ok err q --scaler /nonexistent --x 1,2,3,4
ok err q --scaler ccs.pub --x 1,2,3,4
ok err $T "$ppml" diagnose --css "$css" --css-key css.pub --ccs-public ccs.public --x 1,2,3,4  # test keys refused
ok err $T "$ppml" diagnose --css "$css" --css-key /nonexistent --ccs-public ccs.public --x 1,2,3,4
ok err $T "$ppml" diagnose --css "$css" --css-key css.pub --ccs-public model.bin --x 1,2,3,4 --test-keys
ok err $T "$ppml" diagnose --css "$css" --ccs-public ccs.public --x 1,2,3,4
ok err $T "$ppml" diagnose --css "$css" --css-key css.pub --ccs-public ccs.public --x 1,2,3,4 --row 1
ok err $T "$ppml" diagnose --ccs-public ccs.public --data "$data" --row 1
head -c 5000 ccs.public > trunc.public
ok err $T "$ppml" diagnose --css "$css" --css-key css.pub --ccs-public trunc.public --x 1,2,3,4 --test-keys
ok err $T "$ppml" diagnose outsource --data "$data" --ccs-public trunc.public --out m2 --test-keys
ok err $T "$ppml" diagnose outsource --data "$data" --ccs-public ccs.public --out m2
ok err $T "$ppml" diagnose outsource --data /nonexistent.csv --ccs-public ccs.public --out m2 --test-keys
ok err $T "$ppml" diagnose outsource --bogus
ok err $T "$ppml" serve diag-css --listen tcp://127.0.0.1:1 --key css.sec --ccs tcp://127.0.0.1:1 \
   --ccs-key ccs.pub --ccs-public ccs.public --model scaler.txt --test-keys
ok err $T "$ppml" serve diag-css --listen tcp://127.0.0.1:1 --key css.sec
ok err $T "$ppml" serve diag-ccs --listen tcp://127.0.0.1:1 --key ccs.sec --bfv-keys ccs.bfv --public p2
cp ccs.bfv loose.bfv; chmod 644 loose.bfv
ok err $T "$ppml" serve diag-ccs --listen tcp://127.0.0.1:1 --key ccs.sec --bfv-keys loose.bfv --public p2 --test-keys
head -c 100000 ccs.bfv > bad.bfv; chmod 600 bad.bfv
ok err $T "$ppml" serve diag-ccs --listen tcp://127.0.0.1:1 --key ccs.sec --bfv-keys bad.bfv --public p2 --test-keys
ok err $T "$ppml" serve diag-ccs --bogus
# material made without circuit privacy: CSS and the DSP refuse it unless told to accept it
ok start diag-ccs ccs4.log --key ccs.sec --bfv-keys ccs4.bfv --public ccs4.public --test-keys \
   --no-circuit-private
kill "${pids[${#pids[@]}-1]}"; wait "${pids[${#pids[@]}-1]}" 2>/dev/null; unset "pids[${#pids[@]}-1]"
out=$($T "$ppml" serve diag-css --listen tcp://127.0.0.1:1 --key css.sec --ccs tcp://127.0.0.1:1 \
   --ccs-key ccs.pub --ccs-public ccs4.public --model model.bin --test-keys 2>&1)
ok grep -q 'made without circuit privacy' <<<"$out"
ok err $T "$ppml" diagnose outsource --data "$data" --ccs-public ccs4.public --out m4 --test-keys
ok $T "$ppml" diagnose outsource --data "$data" --ccs-public ccs4.public --out m4 --test-keys \
   --no-circuit-private
# keys made with circuit privacy (the default) are not served without it
ok err $T "$ppml" serve diag-ccs --listen tcp://127.0.0.1:1 --key ccs.sec --bfv-keys ccs.bfv \
   --public p2 --test-keys --no-circuit-private

# a restarted CCS loads its keys from --bfv-keys and publishes the same material
# (without --allow: a warning that any client may connect)
ok start diag-ccs ccs2.log --key ccs.sec --bfv-keys ccs.bfv --public ccs2.public --test-keys
ok cmp -s ccs.public ccs2.public
ok grep -q '^ppml serve diag-ccs: warning: no --allow FILE: any client may connect' ccs2.log
ok err $T "$ppml" serve diag-ccs --listen tcp://127.0.0.1:1 --key ccs.sec --bfv-keys ccs.bfv \
   --public p2 --test-keys --allow ccs.sec.missing

# the servers are still up; stop them and check their logs for sanitizer reports
ok kill -0 "${pids[0]}"
ok kill -0 "${pids[1]}"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()
ok test -z "$(grep -l 'Sanitizer\|runtime error' ./*.log)"
[ $fail -eq 0 ] || { echo "--- server logs:" >&2; tail -n 20 ./*.log >&2; }
echo "cli_diag_serve: $pass passed, $fail failed"
[ $fail -eq 0 ]
