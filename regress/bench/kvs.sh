#!/bin/sh
#
# Key-value store lookups: the daemon's CPU per query with and without a
# KeyValueStoreLookupAction into a CDB file of a million keys, at the same
# offered load.
#
# usage: regress/bench/kvs.sh [--quick]
#
#   --quick	a smoke test: 100000 keys, 3 s load, 1 round
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   KVS_KEYS=1000000	keys in the CDB file
#   KVS_QPS=0		offered load (dnsperf -Q), the same for both; 0:
#			as fast as the daemon answers (no -Q)
#   KVS_SECONDS=10	length of each run
#   KVS_ROUNDS=5	pairs of runs, alternating without and with
#
# The CDB file is written by tinycdb's cdb -c: the keys are the names
# hostN.kvs.bench.example. in wire format, N from 1 to KVS_KEYS, each with
# a value of 20-odd bytes.  The queries are 100000 names drawn at random
# from hostN for N up to twice KVS_KEYS, so that about half are found and
# the lookups touch the whole file.  Each run starts the daemon pinned to
# CPU 0 (dnsperf to CPU 1 where there is one), as `make bench` does,
# forwarding to one responder (answering 192.0.2.1), with or without
#     addAction(AllRule(), KeyValueStoreLookupAction(kvs,
#         KeyValueLookupKeyQName(), 'kv'))
# (the store is opened in both, so that both hold the same memory), reads
# its CPU time (utime + stime in /proc/PID/stat) before and after dnsperf
# -Q, and stops it; in the runs with the lookup, benchRule() times a
# million lookups of random names (misses) in the daemon too, without any
# packet I/O around them.  Figures per setup (averages over the rounds): answered
# qps, lost queries, daemon CPU microseconds per answered query, RSS; then
# the ratio of CPU per query with the lookup over without, on average and
# the median of the rounds (each round's two runs are back to back).  Traffic stays on
# 127.0.0.1.  Linux only (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
RESPONDER=$top/regress/responder/responder
keys=${KVS_KEYS:-1000000}
qps=${KVS_QPS:-0}
secs=${KVS_SECONDS:-10}
rounds=${KVS_ROUNDS:-5}
KEY=$(head -c 32 /dev/urandom | base64)

die() {
	echo "$prog: $*" >&2
	exit 1
}

case $# in
0)	;;
1)	[ "$1" = --quick ] || die "usage: $prog [--quick]"
	keys=100000
	secs=3
	rounds=1
	;;
*)	die "usage: $prog [--quick]" ;;
esac
case $qps in
''|*[!0-9]*) die "KVS_QPS must be a number" ;;
esac
qflag=
[ "$qps" -gt 0 ] && qflag="-Q $qps"
for v in "$keys" "$secs" "$rounds"; do
	case $v in
	''|*[!0-9]*|0) die "KVS_* values must be positive integers" ;;
	esac
done
[ "$keys" -le 10000000 ] || die "KVS_KEYS: at most 10000000"
[ "$rounds" -le 20 ] || die "KVS_ROUNDS: at most 20"
[ "$secs" -le 120 ] || die "KVS_SECONDS: at most 120"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
command -v dnsperf >/dev/null || die "dnsperf: not found (make deps)"
command -v cdb >/dev/null || die "cdb: not found (make deps: tinycdb)"
[ -r /proc/self/stat ] || die "/proc is needed"

. "$here/ports.sh"
bench_work kvs
hz=$(getconf CLK_TCK)
pin0= pin1=
if command -v taskset >/dev/null; then
	pin0="taskset -c 0"
	[ "$(getconf _NPROCESSORS_ONLN)" -gt 1 ] && pin1="taskset -c 1"
fi

echo "writing $keys keys with cdb -c ..."
awk -v n="$keys" 'BEGIN {
	for (i = 1; i <= n; i++) {
		h = "host" i
		v = "value of key number " i
		# \4host1\3kvs\5bench\7example\0
		printf "+%d,%d:%c%s%c%s%c%s%c%s%c->%s\n", length(h) + 20,
		    length(v), length(h), h, 3, "kvs", 5, "bench", 7,
		    "example", 0, v
	}
	print ""
}' | cdb -c "$work/db.cdb" || die "cdb -c failed"
ls -l "$work/db.cdb" | awk '{ printf "CDB file: %d bytes\n", $5 }'
awk -v n="$keys" 'BEGIN { srand(1)
	for (i = 0; i < 100000; i++)
		printf "host%d.kvs.bench.example. A\n", 1 + int(rand() * 2 * n) }' \
    >"$work/names"

bport=$(free_port)
port=$(free_port "$bport")
cport=$(free_port "$bport" "$port")
start_responder 1 "$bport"

# conf WITH: the configuration, with the lookup (1) or without (0).
conf() {
	{
		echo "setSecurityPollSuffix('')"
		echo "setKey('$KEY')"
		echo "controlSocket('127.0.0.1:$cport')"
		echo "setACL('127.0.0.0/8')"
		echo "setMaxUDPOutstanding(65535)"
		echo "newServer{address='127.0.0.1:$bport', name='b1'}"
		echo "setLocal('127.0.0.1:$port')"
		echo "kvs = newCDBKVStore('$work/db.cdb', 60)"
		[ "$1" = 1 ] && echo "addAction(AllRule()," \
		    "KeyValueStoreLookupAction(kvs, KeyValueLookupKeyQName()," \
		    "'kv'))"
	} >"$work/d$1.conf"
}

# run WITH ROUND: appends "WITH qps lost us/q rsskib hits" to $work/raw.
run() {
	conf "$1"
	log=$work/d$1.$2.log
	$pin0 "$OURS" --supervised --disable-syslog -C "$work/d$1.conf" \
	    >"$log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	wait_answer "$port" "$log"
	ctl '"ready"' | grep -qx ready || die "no console on port $cport"
	sleep 0.5
	c0=$(ticks "$dpid")
	# shellcheck disable=SC2086
	$pin1 dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" \
	    $qflag -c 16 -q 1000 >"$work/d$1.$2.dnsperf" 2>&1 ||
	    die "dnsperf failed, see $work/d$1.$2.dnsperf"
	c1=$(ticks "$dpid")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status")
	hits=$(ctl "print(kvs:getStats().hits .. '/' .. kvs:getStats().lookups)")
	# The lookup alone, in the daemon: benchRule() on random names (misses).
	[ "$1" = 1 ] && ctl "benchRule(KeyValueStoreLookupRule(kvs, KeyValueLookupKeyQName()), 1000000, 'kvs.bench.example.')" >>"$work/benchrule"
	kill -TERM "$dpid"
	wait "$dpid"
	pids=${pids%" $dpid"}
	awk -v w="$1" -v hz="$hz" -v t="$((c1 - c0))" -v rss="$rss" \
	    -v hits="$hits" '
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { q = $4 }
		END {
			printf "%d %.0f %d %.3f %d %s\n", w, q, lost,
			    (done > 0 ? t / hz * 1e6 / done : 0), rss, hits
		}' "$work/d$1.$2.dnsperf" >>"$work/raw"
	tail -n 1 "$work/raw" | awk '{ printf "  %s round %d: %s qps, " \
	    "%s lost, %s us/q, RSS %s KiB, hits/lookups %s\n",
	    ($1 ? "with lookup   " : "without lookup"), r, $2, $3, $4, $5,
	    $6 }' r="$2"
}

echo "daemon: $OURS${pin0:+ (pinned to CPU 0)}"
echo "load:   dnsperf ${qflag:-(no -Q)} -c 16 -l $secs, $rounds round(s)"
: >"$work/raw"
r=1
while [ "$r" -le "$rounds" ]; do
	run 0 "$r"
	run 1 "$r"
	r=$((r + 1))
done
echo
awk '
	{ n[$1]++; q[$1] += $2; l[$1] += $3; u[$1] += $4; m[$1] += $5
	  if ($1 == 0) last = $4; else rr[++k] = $4 / last }
	END {
		printf "%-16s %10s %10s %10s %10s\n", "", "qps", "lost",
		    "us/q", "RSS KiB"
		for (w = 0; w <= 1; w++)
			printf "%-16s %10.0f %10.0f %10.3f %10.0f\n",
			    (w ? "with lookup" : "without lookup"),
			    q[w] / n[w], l[w] / n[w], u[w] / n[w], m[w] / n[w]
		# The median of the rounds ratios: the machine may be busy.
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && rr[j - 1] > rr[j]; j--) {
				t = rr[j]; rr[j] = rr[j - 1]; rr[j - 1] = t
			}
		med = k % 2 ? rr[(k + 1) / 2] : (rr[k / 2] + rr[k / 2 + 1]) / 2
		r = u[1] / n[1] / (u[0] / n[0])
		printf "us/q with / without: %.3f on average, %.3f median of " \
		    "the rounds (at most 1.1: %s)\n", r, med,
		    (med <= 1.1 ? "yes" : "no")
	}' "$work/raw"
sed 's/^/benchRule, 1000000 lookups: /' "$work/benchrule"
rm -f "$work/db.cdb"
echo "raw figures: $work/raw"
