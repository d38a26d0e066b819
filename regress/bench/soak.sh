#!/bin/sh
#
# Soak: our daemon under a steady mixed load for a long while, with a
# backend that goes away and comes back and console commands all along:
# does its memory grow, and is every lost query accounted for?
#
# usage: regress/bench/soak.sh
#
# Environment:
#   SOAK_MINUTES=20	length of the run
#   SOAK_UDP_QPS=3000	UDP load (dnsperf -Q, 2 sockets)
#   SOAK_TCP_QPS=300	TCP load (dnsperf -m tcp -Q, 4 connections)
#   SOAK_PERIOD=60	seconds between two outages of the first backend
#   SOAK_DOWN=15	length of each outage, seconds
#   OURS=path		the daemon (default: dnsdist/dnsdist of this tree)
#   RESPONDER=path	the backends (default: regress/responder/responder)
#
# Three responders (UDP and TCP) on free ports of 127.0.0.1 behind the
# daemon (`--supervised --disable-syslog`, leastOutstanding, dnsdist's
# default health checks, a packet cache of 10000 entries on the default
# pool, its console on another port with a key).  dnsperf sends 20000
# distinct names over UDP and over TCP at fixed rates for SOAK_MINUTES.
# The first backend goes away every SOAK_PERIOD seconds for SOAK_DOWN
# seconds, in turn stopped (SIGSTOP, then SIGCONT: it neither answers nor
# refuses) and killed (SIGKILL, then started again on the same port: the
# kernel refuses).  Every 3 s the console client (`dnsdist -c -k KEY`)
# runs one of getPool(''):getCache():expunge(0), showServers(),
# dumpStats(), getPool(''):getCache():printStats().  Every 10 s the
# daemon's VmRSS is read from /proc.
#
# At the end: the RSS samples (minute, KiB), the least-squares slope of
# RSS over the second half of the run in KiB per minute, queries sent and
# lost per dnsperf, the outage windows, and the daemon's counters that
# account for lost queries: downstream-timeouts and downstream-send-errors
# (dumpStats()) and per backend its drops, send errors and TCP connections
# that died reading a response (the JSON API of its web server).  A UDP
# query sent to a backend that is stopped is dropped by the daemon after
# its 2 s timeout (a downstream timeout) and lost for dnsperf; so the
# losses should come from the first backend's drops, in its outages: the
# downstream-timeouts counter is read at the start of each outage and 3 s
# after its end (the timeout, and a second for the sweep), and the
# timeouts that fell in those windows are printed.  A TCP query held by a
# stopped backend waits for it (tcpRecvTimeout, 30 s) and is answered after
# SIGCONT, too late for dnsperf, and counts nowhere in the daemon; one to a
# killed backend ends its connection (TCP died reading).
#
# Loopback only; stops by itself and kills what it started.  Linux only
# (/proc).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
RESPONDER=${RESPONDER:-$top/regress/responder/responder}
minutes=${SOAK_MINUTES:-20}
uqps=${SOAK_UDP_QPS:-3000}
tqps=${SOAK_TCP_QPS:-300}
period=${SOAK_PERIOD:-60}
down=${SOAK_DOWN:-15}
KEY=MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$minutes" "$uqps" "$tqps" "$period" "$down"; do
	case $v in
	''|*[!0-9]*|0) die "SOAK_* values must be positive integers" ;;
	esac
done
[ "$minutes" -le 1440 ] || die "SOAK_MINUTES: at most 1440"
[ "$uqps" -le 50000 ] && [ "$tqps" -le 50000 ] || die "SOAK_*_QPS: at most 50000"
[ "$down" -lt "$period" ] || die "SOAK_DOWN must be less than SOAK_PERIOD"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
for t in dnsperf dig timeout; do
	command -v $t >/dev/null 2>&1 || die "$t: not found (make deps)"
done
[ -r /proc/self/status ] || die "/proc is needed"

. "$here/ports.sh"
bench_work soak

awk 'BEGIN { for (i = 1; i <= 20000; i++)
    printf "host%d.soak.example. A\n", i }' >"$work/queries.txt"

p1=$(free_port)
p2=$(free_port "$p1")
p3=$(free_port "$p1" "$p2")
port=$(free_port "$p1" "$p2" "$p3")
cport=$(free_port "$p1" "$p2" "$p3" "$port")
wport=$(free_port "$p1" "$p2" "$p3" "$port" "$cport")
start_responder 1 "$p1"
start_responder 2 "$p2"
start_responder 3 "$p3"
cat >"$work/soak.conf" <<CONF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
setACL('127.0.0.0/8')
setKey('$KEY')
controlSocket('127.0.0.1:$cport')
webserver('127.0.0.1:$wport')
setWebserverConfig{apiKey='$KEY', acl='127.0.0.0/8'}
newServer{address='127.0.0.1:$p1', name='r1'}
newServer{address='127.0.0.1:$p2', name='r2'}
newServer{address='127.0.0.1:$p3', name='r3'}
pc = newPacketCache(10000)
getPool(''):setCache(pc)
CONF
"$OURS" --supervised --disable-syslog -C "$work/soak.conf" \
    >"$work/dnsdist.log" 2>&1 &
dpid=$!
pids="$pids $dpid"
wait_answer "$port" "$work/dnsdist.log"
ctl '"ready"' | grep -qx ready || die "no console on port $cport"

# The downstream-timeouts counter, or empty.
tmo() {
	ctl "getStatisticsCounters()['downstream-timeouts']" 2>/dev/null |
	    grep -E '^[0-9]+$'
}

rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$dpid/status"
}

secs=$((minutes * 60))
echo "soak: $minutes min, UDP $uqps qps, TCP $tqps qps, backend r1 down" \
    "$down s every $period s; load $(cut -d' ' -f1-3 /proc/loadavg)"
dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$secs" \
    -Q "$uqps" -c 2 -q 20000 >"$work/udp.dnsperf" 2>&1 &
up=$!
dnsperf -m tcp -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$secs" \
    -Q "$tqps" -c 4 -q 1000 >"$work/tcp.dnsperf" 2>&1 &
tp=$!
pids="$pids $up $tp"

# The main loop, once a second: RSS every 10 s, a console command every
# 3 s, the outages.  Times are seconds since the start; a step that comes
# due while the previous one is still running runs at the next turn.
start=$(date +%s)
: >"$work/rss.tsv"
: >"$work/outages"
: >"$work/console.out"
nctl=0 ctlfail=0 state=up outage=0 t=0 badexit= dend=
nrss=0 nctlt=0 nout=$((period / 2))
while [ $t -lt "$secs" ]; do
	if ! kill -0 "$dpid" 2>/dev/null; then
		badexit=1
		break
	fi
	if [ $t -ge $nrss ]; then
		echo "$t $(rss)" >>"$work/rss.tsv"
		nrss=$((t / 10 * 10 + 10))
	fi
	if [ $t -ge $nctlt ]; then
		nctlt=$((t / 3 * 3 + 3))
		case $((nctl % 4)) in
		0) c="getPool(''):getCache():expunge(0)" ;;
		1) c="showServers()" ;;
		2) c="dumpStats()" ;;
		3) c="getPool(''):getCache():printStats()" ;;
		esac
		nctl=$((nctl + 1))
		{ echo "== $t $c"; ctl "$c" 2>&1; } >>"$work/console.out" ||
		    ctlfail=$((ctlfail + 1))
	fi
	# An outage from period/2 on in each period, not at the very end.
	if [ $state = up ] && [ -z "$dend" ] && [ $t -ge $nout ] &&
	    [ $((t + down)) -lt "$secs" ]; then
		nout=$((nout + period))
		outage=$((outage + 1))
		if [ $((outage % 2)) -eq 1 ]; then
			how=stop
			kill -STOP "$r1"
		else
			how=kill
			kill -KILL "$r1"
			wait "$r1" 2>/dev/null
		fi
		state=down
		dstart=$t
		t0=$(tmo)
	elif [ $state = down ] && [ $((t - dstart)) -ge "$down" ]; then
		if [ $how = stop ]; then
			kill -CONT "$r1"
		else
			start_responder 1 "$p1"
		fi
		state=up
		dend=$t
	elif [ $state = up ] && [ -n "$dend" ] && [ $t -ge $((dend + 3)) ]; then
		echo "$how $dstart $dend $((t0 + 0)) $(($(tmo) + 0))" \
		    >>"$work/outages"
		dend=
	fi
	# On to the next whole second since the start.
	while [ $(($(date +%s) - start)) -le $t ]; do
		sleep 0.2
	done
	t=$(($(date +%s) - start))
done
[ -n "$badexit" ] && die "the daemon exited at $t s, see $work/dnsdist.log"
wait "$up" || die "UDP dnsperf failed, see $work/udp.dnsperf"
wait "$tp" || die "TCP dnsperf failed, see $work/tcp.dnsperf"
echo "$(($(date +%s) - start)) $(rss)" >>"$work/rss.tsv"
ctl 'showServers()' >"$work/servers.end"
ctl 'dumpStats()' >"$work/stats.end"
ctl "getPool(''):getCache():printStats()" >"$work/cache.end"
python3 "$top/regress/dnsdist/webq.py" -k "$KEY" json "$wport" \
    /api/v1/servers/localhost '"\n".join("%s %d %d %d %d %d" % (s["name"],
    s["queries"], s["drops"], s["sendErrors"], s["tcpQueries"],
    s["tcpDiedReadingResponse"]) for s in d["servers"])' >"$work/servers.json"

echo "RSS (minute KiB):"
awk '{ printf "  %5.1f %d\n", $1 / 60, $2 }' "$work/rss.tsv" |
    awk '{ printf "%s%s", $0, NR % 4 ? "" : "\n" } END { if (NR % 4) print "" }'
awk -v h=$((secs / 2)) '
	{ n++; if (n == 1) first = $2; last = $2
	  if (max < $2) max = $2 }
	$1 >= h { x = $1 / 60; k++; sx += x; sy += $2; sxx += x * x; sxy += x * $2 }
	END {
		s = k > 1 ? (k * sxy - sx * sy) / (k * sxx - sx * sx) : 0
		printf "RSS: start %d KiB, end %d KiB, max %d KiB; second half " \
		    "slope %.1f KiB/min (%d samples)\n", first, last, max, s, k
	}' "$work/rss.tsv"
for f in udp tcp; do
	awk -v f=$f '/Queries sent:/ { s = $3 } /Queries lost:/ { l = $3 }
	    END { printf "%s: sent %d, lost %d\n", f, s, l }' "$work/$f.dnsperf"
done
awk '{ printf "outage (%s): %d-%d s, downstream-timeouts from its " \
	"start to 3 s after its end: %d\n", $1, $2, $3, $5 - $4; n += $5 - $4 }
    END { printf "downstream-timeouts in outages: %d\n", n }' "$work/outages"
awk '{ for (i = 1; i < NF; i++)
	if ($i ~ /^(downstream-timeouts|downstream-send-errors|queries|responses|cache-hits|cache-misses)$/)
		printf "%s %s\n", $i, $(i + 1) }' "$work/stats.end" |
    sort -u | awk '{ printf "  %s %s\n", $1, $2 }'
awk '{ printf "  %s: queries %d, drops %d, send errors %d, TCP queries " \
	"%d, TCP died reading %d\n", $1, $2, $3, $4, $5, $6 }' \
    "$work/servers.json"
echo "console commands: $nctl, failed: $ctlfail;" \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(work directory: $work)"
