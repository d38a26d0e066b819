#!/bin/sh
#
# Benchmark: our dnsdist against the PowerDNS one, same config, same load.
#
# usage: regress/bench/run.sh [--quick]
#
#   --quick	a smoke test: 2 s load, 1 s latency probe, 1 round
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   THEIRS=path		the reference daemon (default: /usr/bin/dnsdist)
#   RESPONDER=path	the backend (default: regress/responder/responder;
#			built into the work directory with cc if missing)
#   BENCH_SECONDS=10	length of the saturation run
#   BENCH_ROUNDS=2	pairs of runs, alternating ours, theirs, ours, ...
#   BENCH_CLIENTS=4	dnsperf -c
#   BENCH_OUTSTANDING=180	dnsperf -q
#   BENCH_NAMES=500	distinct names in the query file (A queries)
#   BENCH_PROBE_QPS=20000	rate of the latency probe (dnsperf -Q)
#   BENCH_PROBE_SECONDS=3	length of the latency probe
#   BENCH_RULES=0	query rules that never match (QNameRule + DropAction)
#			added to the configuration: BENCH_RULES=50 shows
#			the cost of a rule chain per query
#   BENCH_CACHE=0	1: a packet cache on the pool, warmed with one query
#			per name before the measured run, so that every
#			measured query is a cache hit (what a hit costs)
#   BENCH_TCP=0		1: DNS over TCP end to end: dnsperf -m tcp, each
#			of its connections keeping its -q queries in flight,
#			and the responder answering over TCP; the defaults
#			become BENCH_CLIENTS=20 and BENCH_OUTSTANDING=100
#
# What it does: it starts one responder (normal mode) on a free loopback
# port, then each daemon in turn with `--supervised --disable-syslog -C conf`
# listening on another free port of 127.0.0.1 and forwarding to the
# responder.  It waits for the daemon to answer (dig, at most 100 tries) and
# to settle (thread count and RSS steady for 0.5 s), reads its idle RSS
# (VmRSS) and CPU time (utime and stime in /proc/PID/stat, CLK_TCK ticks),
# runs dnsperf at saturation for BENCH_SECONDS, reads the CPU time again and
# the peak RSS (VmHWM), then runs the latency probe and stops the daemon.
# Traffic stays on 127.0.0.1.
#
# Pinning: when taskset(1) exists and there are two CPUs or more, the daemon
# runs on CPU 0, dnsperf and the responder share CPU 1, so that the daemon
# has a core to itself and runs are comparable.
#
# Figures per daemon (averages over the rounds), then the ratio ours/theirs:
#   qps		answered queries per second at saturation
#   lost	queries dnsperf gave up on (5 s timeout) at saturation
#   avg, max	latency at saturation, ms (dnsperf's summary)
#   p99		99th percentile latency, ms, of the probe: BENCH_PROBE_QPS
#		queries per second, far below saturation.  dnsperf 2.10 has
#		no percentiles, only -v (one line per query), which costs it a
#		third of its throughput, so it is not used at saturation; there
#		the load is a closed loop and latency is mostly the queue that
#		-q builds (Little's law), which says little about the daemon.
#   user, sys	daemon CPU seconds over the saturation run
#   us/q, usr/q	daemon CPU microseconds per answered query, user+sys and user
#   idleRSS, peakRSS	KiB, after readiness and after the saturation run
#
# Why -q 180 and not more: the daemon's UDP socket holds about 190 queries
# with the default receive buffer; a larger first burst is dropped and each
# dropped query holds a dnsperf slot until its 5 s timeout, so more
# outstanding queries only add losses.  The machine is shared and noisy
# (runs vary by 10-20%): compare ratios over several rounds, not single runs.
#
# The raw per-run figures go to a file in the work directory, whose path is
# printed at the end, with dnsperf's and the daemons' output.  Linux only
# (/proc).

set -u

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-2}
tcp=${BENCH_TCP:-0}
if [ "$tcp" = 1 ]; then
	clients=${BENCH_CLIENTS:-20}
	outstanding=${BENCH_OUTSTANDING:-100}
	mode="-m tcp"
	rflags=-T
else
	clients=${BENCH_CLIENTS:-4}
	outstanding=${BENCH_OUTSTANDING:-180}
	mode=
	rflags=
fi
nnames=${BENCH_NAMES:-500}
pqps=${BENCH_PROBE_QPS:-20000}
psecs=${BENCH_PROBE_SECONDS:-3}
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}

usage() {
	echo "usage: $prog [--quick]" >&2
	exit 1
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

case $# in
0)	;;
1)	[ "$1" = --quick ] || usage
	secs=2
	psecs=1
	rounds=1
	;;
*)	usage ;;
esac

for v in "$secs" "$rounds" "$clients" "$outstanding" "$nnames" "$pqps" \
    "$psecs"; do
	case $v in
	''|*[!0-9]*|0) die "BENCH_* values must be positive integers" ;;
	esac
done
[ "$rounds" -le 100 ] || die "BENCH_ROUNDS: at most 100"
[ -x "$OURS" ] || die "$OURS: not found; build it with make or set OURS=path"
[ -x "$THEIRS" ] || die "$THEIRS: not found; install the dnsdist package" \
    "or set THEIRS=path"
for t in dnsperf dig getconf awk sort; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -r /proc/self/stat ] || die "/proc is needed"

work=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-bench.XXXXXX") ||
    die "cannot make a work directory"
hz=$(getconf CLK_TCK)
raw=$work/raw.tsv

pin_daemon=
pin_load=
if command -v taskset >/dev/null 2>&1 &&
    [ "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" -ge 2 ]; then
	pin_daemon="taskset -c 0"
	pin_load="taskset -c 1"
fi

# free_port; its cleanup() is replaced by ours, defined below.
. "$here/ports.sh"

rpid=
dpid=
ppid=

# True while the process exists and is not a zombie.
alive() {
	_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$_state" ] && [ "$_state" != Z ]
}

# Send SIGTERM, wait up to 5 s, then SIGKILL; reap.
stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	_n=0
	while [ $_n -lt 50 ] && alive "$1"; do
		sleep 0.1
		_n=$((_n + 1))
	done
	alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	stop "$ppid"
	stop "$dpid"
	stop "$rpid"
	ppid='' dpid='' rpid=''
	rm -f "$work/dnsperf.out"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP

# utime+stime and utime of a process, in ticks.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13, $12 }'
}

proc_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# dnsdist answers while it is still starting threads: wait (at most 5 s)
# until its thread count and RSS have not changed for 0.5 s.
settle() {
	_prev=
	_same=0
	_n=0
	while [ $_n -lt 50 ] && [ $_same -lt 5 ]; do
		_cur="$(proc_kib "$1" Threads) $(proc_kib "$1" VmRSS)"
		if [ "$_cur" = "$_prev" ]; then
			_same=$((_same + 1))
		else
			_same=0
		fi
		_prev=$_cur
		sleep 0.1
		_n=$((_n + 1))
	done
}

if [ ! -x "$RESPONDER" ]; then
	command -v cc >/dev/null 2>&1 || die "$RESPONDER: not found (make)"
	cc -std=c11 -D_GNU_SOURCE -O2 -pthread -o "$work/responder" \
	    "$top/regress/responder/responder.c" || die "cannot build responder"
	RESPONDER=$work/responder
fi

awk -v n="$nnames" 'BEGIN { for (i = 1; i <= n; i++)
    printf "host%d.bench.example. A\n", i }' >"$work/queries.txt"

bport=$(free_port) || exit 1
# shellcheck disable=SC2086
$pin_load "$RESPONDER" -l "127.0.0.1:$bport" -r "$work/responder.ready" \
    $rflags 2>"$work/responder.log" &
rpid=$!
i=0
while [ $i -lt 100 ] && [ ! -f "$work/responder.ready" ]; do
	alive "$rpid" || die "responder failed: $(cat "$work/responder.log")"
	sleep 0.05
	i=$((i + 1))
done
[ -f "$work/responder.ready" ] || die "responder not ready"

port=$(free_port "$bport") || exit 1
cat >"$work/dnsdist.conf" <<EOF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
newServer{address='127.0.0.1:$bport', name='b1'}
setACL('127.0.0.0/8')
setMaxUDPOutstanding(65535)
EOF
# BENCH_RULES=N: N query rules that never match, before the forwarding, to
# show what the rule chain costs per query.
i=0
while [ $i -lt "${BENCH_RULES:-0}" ]; do
	echo "addAction(QNameRule('nomatch$i.invalid.'), DropAction())" \
	    >>"$work/dnsdist.conf"
	i=$((i + 1))
done

# BENCH_CACHE=1: every measured query is answered from the cache.
if [ "${BENCH_CACHE:-0}" = 1 ]; then
	echo "getPool(''):setCache(newPacketCache(100000))" \
	    >>"$work/dnsdist.conf"
fi

printf 'daemon\tround\tqps\tcompleted\tlost\tavg_ms\tp99_ms\tmax_ms' >"$raw"
printf '\tuser_s\tsys_s\tus_per_q\tus_user_per_q\tidle_rss_kib' >>"$raw"
printf '\tpeak_rss_kib\n' >>"$raw"

# run_one label binary round: start one daemon, load it, probe its latency,
# stop it, and append one line to the raw file.
run_one() {
	label=$1
	bin=$2
	round=$3
	log=$work/$label.$round.log
	$pin_daemon "$bin" --supervised --disable-syslog -C "$work/dnsdist.conf" \
	    >"$log" 2>&1 &
	dpid=$!
	i=0
	while :; do
		alive "$dpid" || die "$label ($bin) exited, see $log"
		dig @127.0.0.1 -p "$port" +tries=1 +time=1 +short \
		    ready.bench.example. A 2>/dev/null | grep -q . && break
		i=$((i + 1))
		[ $i -lt 100 ] || die "$label ($bin) not answering, see $log"
		sleep 0.1
	done
	settle "$dpid"
	if [ "${BENCH_CACHE:-0}" = 1 ]; then
		$pin_load dnsperf -s 127.0.0.1 -p "$port" \
		    -d "$work/queries.txt" -n 1 >"$work/$label.$round.warm" \
		    2>&1 || die "dnsperf failed, see $work/$label.$round.warm"
	fi
	idle=$(proc_kib "$dpid" VmRSS)
	cpu=$(cpu_ticks "$dpid")
	tot0=${cpu% *} usr0=${cpu#* }

	# shellcheck disable=SC2086
	$pin_load dnsperf $mode -s 127.0.0.1 -p "$port" -d "$work/queries.txt" \
	    -l "$secs" -c "$clients" -q "$outstanding" \
	    >"$work/$label.$round.dnsperf" 2>&1 &
	ppid=$!
	wait "$ppid"
	pst=$?
	ppid=''
	cpu=$(cpu_ticks "$dpid")
	tot1=${cpu% *} usr1=${cpu#* }
	peak=$(proc_kib "$dpid" VmHWM)
	[ $pst -eq 0 ] || die "dnsperf failed, see $work/$label.$round.dnsperf"

	# shellcheck disable=SC2086
	$pin_load dnsperf $mode -s 127.0.0.1 -p "$port" -d "$work/queries.txt" \
	    -l "$psecs" -c "$clients" -q "$outstanding" -Q "$pqps" -v \
	    >"$work/dnsperf.out" 2>&1 &
	ppid=$!
	wait "$ppid"
	pst=$?
	ppid=''
	stop "$dpid"
	dpid=''
	grep -v '^>' "$work/dnsperf.out" >"$work/$label.$round.probe"
	[ $pst -eq 0 ] || die "dnsperf failed, see $work/$label.$round.probe"
	p99=$(awk '$1 == ">" && $2 != "T" && NF >= 5 { print $NF }' \
	    "$work/dnsperf.out" | LC_ALL=C sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print 0; exit }
			i = int(NR * 0.99); if (i < NR * 0.99) i++
			printf "%.3f\n", v[i] * 1000
		}')
	rm -f "$work/dnsperf.out"

	awk -v label="$label" -v round="$round" -v p99="$p99" -v hz="$hz" \
	    -v tot="$((tot1 - tot0))" -v usr="$((usr1 - usr0))" \
	    -v idle="$idle" -v peak="$peak" '
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency/ { gsub(/[(),]/, ""); avg = $4; max = $8 }
		END {
			sys = (tot - usr) / hz
			upq = done > 0 ? tot / hz * 1e6 / done : 0
			uupq = done > 0 ? usr / hz * 1e6 / done : 0
			printf "%s\t%s\t%.0f\t%d\t%d\t%.3f\t%s\t%.3f", label,
			    round, qps, done, lost, avg * 1000, p99, max * 1000
			printf "\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\n", usr / hz,
			    sys, upq, uupq, idle, peak
		}' "$work/$label.$round.dnsperf" >>"$raw"
	tail -n 1 "$raw" | awk -F '\t' '{ printf "  %s round %s: %s qps, " \
	    "%s lost, p99 %s ms, %s us/q\n", $1, $2, $3, $5, $7, $11 }'
}

echo "ours:   $OURS"
echo "theirs: $THEIRS"
echo "load:   dnsperf ${mode:+$mode }-c $clients -q $outstanding -l $secs, $nnames names," \
    "$rounds round(s); p99 probe at $pqps qps for $psecs s"
echo "ports:  responder 127.0.0.1:$bport, daemon 127.0.0.1:$port"
if [ -n "$pin_daemon" ]; then
	echo "pinning: daemon on CPU 0, dnsperf and responder on CPU 1"
else
	echo "pinning: none (no taskset or a single CPU)"
fi

r=1
while [ $r -le "$rounds" ]; do
	run_one ours "$OURS" $r
	run_one theirs "$THEIRS" $r
	r=$((r + 1))
done

echo
awk -F '\t' '
	NR == 1 { next }
	{
		n[$1]++
		for (c = 3; c <= 14; c++)
			s[$1, c] += $c
	}
	END {
		split("qps completed lost avg_ms p99_ms max_ms user_s sys_s " \
		    "us/q usr/q idleRSS peakRSS", h, " ")
		h[5] = "p99@" int(pqps / 1000) "k"
		# columns shown: raw column numbers, and their formats
		split("3 5 6 7 8 9 10 11 12 13 14", col, " ")
		split("%.0f %.0f %.3f %.3f %.3f %.2f %.2f %.2f %.2f %.0f %.0f",
		    fmt, " ")
		printf "%-7s", "daemon"
		for (k = 1; k <= 11; k++)
			printf " %10s", h[col[k] - 2]
		printf "\n"
		split("ours theirs", who, " ")
		for (w = 1; w <= 2; w++) {
			d = who[w]
			printf "%-7s", d
			for (k = 1; k <= 11; k++) {
				a[d, k] = n[d] ? s[d, col[k]] / n[d] : 0
				printf " %10s", sprintf(fmt[k], a[d, k])
			}
			printf "\n"
		}
		printf "%-7s", "ratio"
		for (k = 1; k <= 11; k++) {
			if (a["theirs", k] != 0)
				printf " %10.3f", a["ours", k] / a["theirs", k]
			else
				printf " %10s", "-"
		}
		printf "\n"
	}' pqps="$pqps" "$raw"
echo
echo "raw figures: $raw"
