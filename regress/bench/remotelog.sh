#!/bin/sh
#
# Benchmark: what logging every query and answer to a protobuf collector
# (newRemoteLogger, RemoteLogAction, RemoteLogResponseAction) costs in CPU
# per query, ours against Debian's dnsdist, at one offered load.
#
# usage: regress/bench/remotelog.sh
#
# Environment:
#   OURS, THEIRS, RESPONDER	as for run.sh
#   RL_QPS=20000	offered load (dnsperf -Q), below both daemons' saturation
#   RL_SECONDS=8	length of a measured run
#   RL_ROUNDS=3		rounds; each runs both daemons without and with
#			logging, in turn
#
# The collector is a Python loop that reads the connection in large chunks
# and throws them away.  The daemon runs on CPU 0 and everything else on
# CPU 1 (taskset), so the daemon's CPU time (utime+stime of all its
# threads, the logger's included) is its own.  Printed per daemon: CPU us
# per answered query without and with logging, their ratio, and the cost
# of logging; then ours' cost over theirs.  Traffic stays on 127.0.0.1.

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}
qps=${RL_QPS:-20000}
secs=${RL_SECONDS:-8}
rounds=${RL_ROUNDS:-3}

die() {
	echo "$prog: $*" >&2
	exit 1
}

. "$here/ports.sh"
for t in dnsperf dig taskset python3; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -x "$OURS" ] && [ -x "$THEIRS" ] && [ -x "$RESPONDER" ] ||
    die "need $OURS, $THEIRS and $RESPONDER"
bench_work remotelog
hz=$(getconf CLK_TCK)

rport=$(free_port)
cport=$(free_port "$rport")
dport=$(free_port "$rport" "$cport")
taskset -c 1 "$RESPONDER" -l "127.0.0.1:$rport" -A 192.0.2.1 \
    -r "$work/r.ready" 2>"$work/r.log" &
pids="$pids $!"
taskset -c 1 python3 -c '
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
def drain(c):
    while c.recv(1 << 20):
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
' "$cport" 2>"$work/c.log" &
pids="$pids $!"
awk 'BEGIN { for (i = 0; i < 500; i++) printf "n%d.bench.example. A\n", i }' \
    >"$work/names"

# conf LOG: the configuration, logging or not.
conf() {
	echo "setSecurityPollSuffix('')"
	echo "setLocal('127.0.0.1:$dport')"
	echo "newServer{address='127.0.0.1:$rport'}"
	if [ "$1" = 1 ]; then
		echo "rl = newRemoteLogger('127.0.0.1:$cport')"
		echo "addAction(AllRule(), RemoteLogAction(rl, nil, {serverID='bench'}))"
		echo "addResponseAction(AllRule(), RemoteLogResponseAction(rl, nil, false, {serverID='bench'}))"
	fi
}

# run BIN LOG: one measured run; prints CPU us per answered query.
run() {
	conf "$2" >"$work/d.conf"
	taskset -c 0 "$1" --supervised --disable-syslog -C "$work/d.conf" \
	    >"$work/d.log" 2>&1 &
	d=$!
	wait_answer "$dport" "$work/d.log"
	# Warm up, then measure.
	taskset -c 1 dnsperf -s 127.0.0.1 -p "$dport" -d "$work/names" -l 1 \
	    -Q "$qps" >/dev/null 2>&1
	t0=$(sed 's/.*) //' "/proc/$d/stat" | awk '{ print $12 + $13 }')
	taskset -c 1 dnsperf -s 127.0.0.1 -p "$dport" -d "$work/names" \
	    -l "$secs" -Q "$qps" >"$work/perf.out" 2>&1
	t1=$(sed 's/.*) //' "/proc/$d/stat" | awk '{ print $12 + $13 }')
	kill "$d"
	wait "$d" 2>/dev/null
	n=$(awk '/Queries completed:/ { print $3 }' "$work/perf.out")
	awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$n" \
	    'BEGIN { printf "%.2f\n", t / hz * 1e6 / n }'
}

: >"$work/raw"
r=1
while [ "$r" -le "$rounds" ]; do
	for who in ours theirs; do
		[ $who = ours ] && bin=$OURS || bin=$THEIRS
		for log in 0 1; do
			echo "$who $log $(run "$bin" $log)" | tee -a "$work/raw"
		done
	done
	r=$((r + 1))
done
# Means over the rounds, and the median of each round's own cost (its
# logged run less the plain run just before it), which a noisy round
# moves less.
awk '{ s[$1 " " $2] += $3; c[$1 " " $2]++
	if ($2 == 0) p[$1] = $3; else d[$1, n[$1]++] = $3 - p[$1] }
function median(w,	i, j, t, k) {
	k = n[w]
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++)
			if (d[w, j] < d[w, i]) {
				t = d[w, i]; d[w, i] = d[w, j]; d[w, j] = t
			}
	return k % 2 ? d[w, (k - 1) / 2] : (d[w, k / 2 - 1] + d[w, k / 2]) / 2
}
END {
	printf "%-8s %12s %12s %8s %10s %12s\n", "", "us/q plain",
	    "us/q logged", "ratio", "cost us/q", "median cost"
	for (i = 0; i < 2; i++) {
		w = i ? "theirs" : "ours"
		pl = s[w " 0"] / c[w " 0"]; l = s[w " 1"] / c[w " 1"]
		cost[w] = l - pl
		med[w] = median(w)
		printf "%-8s %12.2f %12.2f %8.3f %10.2f %12.2f\n", w, pl, l,
		    l / pl, l - pl, med[w]
	}
	printf "cost ours / theirs: %.3f (means), %.3f (medians)\n",
	    cost["ours"] / cost["theirs"], med["ours"] / med["theirs"]
}' "$work/raw"
echo "raw figures: $work/raw"
