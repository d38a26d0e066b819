#!/bin/sh
#
# UDP loops: one listener (one loop) against two addLocal() of one address
# with reusePort=true (two loops), at the same offered load, for one load
# or several.
#
# usage: regress/bench/loops.sh [--quick]
#
#   --quick	a smoke test: 3 s load, 1 round, the first load only
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   LOOPS_QPS=30000	offered load (dnsperf -Q), the same for both; a list
#			("10000 20000 40000") measures each in turn
#   LOOPS_SECONDS=10	length of each run
#   LOOPS_ROUNDS=2	pairs of runs, alternating one loop, two loops, ...
#   LOOPS_CLIENTS=128	dnsperf -c: source ports, which the kernel hashes
#			over the loops' sockets
#   THEIRS=/usr/bin/dnsdist	PowerDNS dnsdist, run the same way in the same
#			rounds (one addLocal and two, its listener threads);
#			THEIRS= (empty) to leave it out
#
# Each run starts the daemon (--supervised, a console on a control socket)
# forwarding to one responder, waits until it answers and settles, reads
# its CPU time (utime + stime in /proc/PID/stat), runs dnsperf -Q at the
# offered load, reads the CPU time again and the UDP query counts of
# showBinds() (one row per listener, that is per loop), and stops it.
#
# Figures per setup (averages over the rounds):
#   qps		answered queries per second
#   lost	queries dnsperf gave up on
#   us/q	daemon CPU microseconds (user + sys) per answered query
#   wake/q	the daemon's voluntary context switches (each a sleep in
#		poll or on a lock, and the wakeup after it), all threads,
#		per answered query: below saturation each of two loops
#		wakes for half the packets, and this is what they add
#   min share	the smallest share of the queries one loop carried
# and the ratio of us/q, two loops over one, for each daemon, and ours over
# dnsdist's for each setup; with several loads, a last table has a line
# for each.  The daemon and the load are not pinned: the
# loops may take both cores.  Traffic stays on 127.0.0.1.  Linux only
# (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS-/usr/bin/dnsdist}
RESPONDER=$top/regress/responder/responder
loads=${LOOPS_QPS:-30000}
secs=${LOOPS_SECONDS:-10}
rounds=${LOOPS_ROUNDS:-2}
clients=${LOOPS_CLIENTS:-128}
KEY=$(head -c 32 /dev/urandom | base64)

die() {
	echo "$prog: $*" >&2
	exit 1
}

case $# in
0)	;;
1)	[ "$1" = --quick ] || die "usage: $prog [--quick]"
	secs=3
	rounds=1
	loads=${loads%% *}
	;;
*)	die "usage: $prog [--quick]" ;;
esac
for v in $loads "$secs" "$rounds" "$clients"; do
	case $v in
	''|*[!0-9]*|0) die "LOOPS_* values must be positive integers" ;;
	esac
done
[ "$rounds" -le 20 ] || die "LOOPS_ROUNDS: at most 20"
[ "$secs" -le 120 ] || die "LOOPS_SECONDS: at most 120"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -z "$THEIRS" ] || [ -x "$THEIRS" ] ||
    die "$THEIRS: not found (apt-get install dnsdist, or THEIRS=)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
command -v dnsperf >/dev/null || die "dnsperf: not found (make deps)"
[ -r /proc/self/stat ] || die "/proc is needed"

. "$here/ports.sh"
bench_work loops
hz=$(getconf CLK_TCK)

bport=$(free_port)
port=$(free_port "$bport")
cport=$(free_port "$bport" "$port")
"$RESPONDER" -l "127.0.0.1:$bport" -r "$work/r.ready" >"$work/r.log" 2>&1 &
pids="$pids $!"
i=0
while [ ! -f "$work/r.ready" ] && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
[ -f "$work/r.ready" ] || die "responder not ready"
awk 'BEGIN { for (i = 1; i <= 500; i++)
    printf "host%d.bench.example. A\n", i }' >"$work/names"

# conf N: the configuration with N listeners of one address.
conf() {
	{
		echo "setSecurityPollSuffix('')"
		echo "setKey('$KEY')"
		echo "controlSocket('127.0.0.1:$cport')"
		echo "setACL('127.0.0.0/8')"
		echo "setMaxUDPOutstanding(65535)"
		echo "newServer{address='127.0.0.1:$bport', name='b1'}"
		if [ "$1" = 1 ]; then
			echo "setLocal('127.0.0.1:$port')"
		else
			echo "setLocal('127.0.0.1:$port', {reusePort=true})"
			n=1
			while [ $n -lt "$1" ]; do
				echo "addLocal('127.0.0.1:$port', {reusePort=true})"
				n=$((n + 1))
			done
		fi
	} >"$work/d$1.conf"
}

# switches PID: voluntary context switches of all its threads.
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
	    awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# run N ROUND [DAEMON]: one run with N loops of DAEMON (ours by default)
# at $qps; appends "QPS N qps lost us/q wake/q minshare shares..." to
# $work/raw (ours) or $work/raw.theirs.
run() {
	daemon=${3:-$OURS}
	raw=$work/raw
	[ "$daemon" = "$OURS" ] || raw=$work/raw.theirs
	conf "$1"
	log=$work/d$1.$2.log
	"$daemon" --supervised --disable-syslog -C "$work/d$1.conf" \
	    >"$log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	wait_answer "$port" "$log"
	ctl '"ready"' | grep -qx ready || die "no console on port $cport"
	sleep 0.5
	c0=$(ticks "$dpid")
	s0=$(switches "$dpid")
	b0=$(ctl 'showBinds()' | awk '$3 == "UDP" { printf "%s ", $4 }')
	dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" \
	    -Q "$qps" -c "$clients" -q 1000 >"$work/d$1.$2.dnsperf" 2>&1 ||
	    die "dnsperf failed, see $work/d$1.$2.dnsperf"
	c1=$(ticks "$dpid")
	s1=$(switches "$dpid")
	b1=$(ctl 'showBinds()' | awk '$3 == "UDP" { printf "%s ", $4 }')
	kill -TERM "$dpid"
	wait "$dpid" 2>/dev/null
	pids=${pids%" $dpid"}
	awk -v load="$qps" -v n="$1" -v hz="$hz" -v t="$((c1 - c0))" \
	    -v sw="$((s1 - s0))" -v b0="$b0" -v b1="$b1" '
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { q = $4 }
		END {
			k = split(b0, x, " "); split(b1, y, " ")
			for (i = 1; i <= k; i++) { d[i] = y[i] - x[i]; all += d[i] }
			min = 1
			for (i = 1; i <= k; i++) {
				s = all > 0 ? d[i] / all : 0
				if (s < min) min = s
				sh = sh sprintf(" %.3f", s)
			}
			printf "%d %d %.0f %d %.3f %.3f %.3f%s\n", load, n, q,
			    lost, (done > 0 ? t / hz * 1e6 / done : 0),
			    (done > 0 ? sw / done : 0), min, sh
		}' "$work/d$1.$2.dnsperf" >>"$raw"
	tail -n 1 "$raw" | awk '{ printf "  %s %d loop(s) round %d: %s qps, " \
	    "%s lost, %s us/q, %s wake/q, shares", w, $2, r, $3, $4, $5, $6
	    for (i = 8; i <= NF; i++) printf " %s", $i; printf "\n" }' r="$2" \
	    w="$([ "$raw" = "$work/raw" ] && echo ours || echo dnsdist)"
}

# summary FILE LOAD WHAT: the averages of one daemon at one load.
summary() {
	awk -v load="$2" -v what="$3" '
		$1 != load { next }
		{ n[$2]++; q[$2] += $3; l[$2] += $4; u[$2] += $5; w[$2] += $6
		  if (!($2 in m) || $7 < m[$2]) m[$2] = $7 }
		END {
			printf "%-7s %10s %10s %10s %10s %10s\n", what, "qps",
			    "lost", "us/q", "wake/q", "min share"
			for (k = 1; k <= 2; k++)
				printf "%-7d %10.0f %10.0f %10.3f %10.3f %10.3f\n",
				    k, q[k] / n[k], l[k] / n[k], u[k] / n[k],
				    w[k] / n[k], m[k]
		}' "$1"
}

echo "daemon: $OURS${THEIRS:+, and $THEIRS}"
echo "load:   dnsperf -Q ($loads) -c $clients -l $secs, $rounds round(s)"
: >"$work/raw"
: >"$work/raw.theirs"
for qps in $loads; do
	echo
	echo "offered load $qps qps:"
	r=1
	while [ "$r" -le "$rounds" ]; do
		run 1 "$r"
		run 2 "$r"
		if [ -n "$THEIRS" ]; then
			run 1 "$r" "$THEIRS"
			run 2 "$r" "$THEIRS"
		fi
		r=$((r + 1))
	done
	summary "$work/raw" "$qps" loops
	awk -v load="$qps" '
		$1 != load { next }
		{ n[$2]++; u[$2] += $5; if (!($2 in m) || $7 < m[$2]) m[$2] = $7 }
		END {
			r = u[2] / n[2] / (u[1] / n[1])
			printf "us/q two loops / one: %.3f (at most 1.1: %s)\n",
			    r, (r <= 1.1 ? "yes" : "no")
			printf "smallest share of a loop: %.3f (at least 0.35: " \
			    "%s)\n", m[2], (m[2] >= 0.35 ? "yes" : "no")
		}' "$work/raw"
	if [ -n "$THEIRS" ]; then
		echo "dnsdist, the same rounds:"
		summary "$work/raw.theirs" "$qps" threads
		awk -v load="$qps" '
			$1 != load { next }
			FNR == NR { u[$2] += $5; n[$2]++; next }
			{ t[$2] += $5; m[$2]++ }
			END {
				printf "us/q two threads / one: %.3f\n",
				    t[2] / m[2] / (t[1] / m[1])
				for (k = 1; k <= 2; k++)
					printf "us/q ours / dnsdist, %d " \
					    "loop(s): %.3f\n", k,
					    (u[k] / n[k]) / (t[k] / m[k])
			}' "$work/raw" "$work/raw.theirs"
	fi
done
if [ "$(echo $loads | wc -w)" -gt 1 ]; then
	echo
	echo "by load (ours; us/q and wake/q for one loop, two loops):"
	awk '
		{ if (!($1 in seen)) { seen[$1] = 1; order[++nl] = $1 }
		  k = $1 " " $2; n[k]++; u[k] += $5; w[k] += $6; q[k] += $3
		  if (!(k in m) || $7 < m[k]) m[k] = $7 }
		END {
			printf "%8s %14s %16s %16s %7s %9s\n", "offered",
			    "qps 1 / 2", "us/q 1 / 2", "wake/q 1 / 2",
			    "ratio", "min share"
			for (i = 1; i <= nl; i++) {
				a = order[i] " 1"; b = order[i] " 2"
				printf "%8d %6.0f/%6.0f %7.2f/%7.2f " \
				    "%7.3f/%7.3f %7.3f %9.3f\n", order[i],
				    q[a] / n[a], q[b] / n[b], u[a] / n[a],
				    u[b] / n[b], w[a] / n[a], w[b] / n[b],
				    (u[b] / n[b]) / (u[a] / n[a]), m[b]
			}
		}' "$work/raw"
fi
echo "raw figures: $work/raw"
