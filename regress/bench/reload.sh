#!/bin/sh
#
# Reloads under load: UDP queries at a steady rate through a packet cache
# to two backends, with a dynamic block, while the configuration file is
# reloaded (reloadConfig() through the console client) a few times, once
# with a broken file.  PowerDNS dnsdist has no reload, so there is nothing
# to run it against; the run stands on its own.
#
# usage: regress/bench/reload.sh
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   RL_QPS=10000	UDP queries a second
#   RL_SECONDS=20	seconds of load
#   RL_NAMES=5000	distinct names queried (all cacheable, TTL 60)
#   RL_RELOADS=1	0: the same run without reloads, to compare
#   RL_FRESHCACHE=0	1: the reloaded file makes its cache with other
#			parameters, so that it starts empty (what the hit
#			ratio after a reload looks like without the kept
#			cache)
#
# Prints the queries sent and lost (dnsperf), the cache hit ratio in the
# second before the first reload and in the second after it (counters
# sampled every 0.25 s through the console client), how long each reload
# took as the console saw it, whether the broken file left the
# configuration generation as it was, and whether the dynamic block still
# answers REFUSED at the end.  Traffic stays on 127.0.0.1.  Linux only
# (/proc for ports).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
RESPONDER=$top/regress/responder/responder
qps=${RL_QPS:-10000}
secs=${RL_SECONDS:-20}
nnames=${RL_NAMES:-5000}
reloads=${RL_RELOADS:-1}
fresh=${RL_FRESHCACHE:-0}
csize=20000
KEY=$(head -c 32 /dev/urandom | base64)

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$qps" "$secs" "$nnames"; do
	case $v in
	''|*[!0-9]*|0) die "RL_* values must be positive integers" ;;
	esac
done
[ "$qps" -le 100000 ] || die "RL_QPS: at most 100000"
[ "$secs" -ge 10 ] && [ "$secs" -le 120 ] || die "RL_SECONDS: 10 to 120"
[ "$nnames" -le 20000 ] || die "RL_NAMES: at most 20000"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$RESPONDER" ] || die "$RESPONDER: not found (make)"
command -v dnsperf >/dev/null || die "dnsperf: not found (make deps)"

. "$here/ports.sh"
bench_work reload

p1=$(free_port)
p2=$(free_port "$p1")
port=$(free_port "$p1" "$p2")
cport=$(free_port "$p1" "$p2" "$port")
start_responder 1 "$p1"
start_responder 2 "$p2"
i=0
while [ $i -lt "$nnames" ]; do
	i=$((i + 1))
	echo "n$i.bench.example. A"
done >"$work/names"

# conf [EXTRA]: the configuration file, with one more line.
conf() {
	cat >"$work/d.conf" <<CONF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
setKey('$KEY')
controlSocket('127.0.0.1:$cport')
newServer{address='127.0.0.1:$p1', name='r1'}
newServer{address='127.0.0.1:$p2', name='r2'}
setServerPolicy(roundrobin)
getPool(''):setCache(newPacketCache($csize))
addAction('spoof.bench.example.', SpoofAction('10.0.0.1'))
${1:-}
CONF
}


conf
"$OURS" --supervised --disable-syslog -C "$work/d.conf" \
    >"$work/dnsdist.log" 2>&1 &
dpid=$!
pids="$pids $dpid"
wait_answer "$port" "$work/dnsdist.log"
ctl '"ready"' | grep -qx ready || die "no console on port $cport"
ctl "addDynBlockSMT({'blocked.bench.example.'}, 'bench', 3600, DNSAction.Refused)" \
    >/dev/null

gen() {
	ctl 'showConfigGeneration()' | tail -1
}

# A sample: time (ms since the start), queries, cache hits.
t0=$(date +%s%3N)
sample() {
	ctl "local c = getStatisticsCounters() print(c['queries'], c['cache-hits'])" |
	    awk -v t="$(($(date +%s%3N) - t0))" 'NF == 2 { print t, $1, $2 }'
}

# The kernel's count of UDP datagrams dropped for a full receive buffer.
rcvbuf_errors() {
	awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp
}
e0=$(rcvbuf_errors)
dnsperf -s 127.0.0.1 -p "$port" -d "$work/names" -l "$secs" -Q "$qps" \
    -c 2 -q 20000 >"$work/udp.dnsperf" 2>&1 &
dp=$!
pids="$pids $dp"

# Samples all along; reloads at 40 %, 60 % (broken file) and 80 % of the
# run.  The reload times are written to reloads.
: >"$work/samples"
: >"$work/reloads"
: >"$work/reload.out"
r1=$((secs * 400)) r2=$((secs * 600)) r3=$((secs * 800))
step=0 g0= gbroken=
[ "$reloads" = 0 ] && step=3
while kill -0 "$dp" 2>/dev/null; do
	sample >>"$work/samples"
	now=$(($(date +%s%3N) - t0))
	if { [ $step -eq 0 ] && [ "$now" -ge $r1 ]; } ||
	    { [ $step -eq 2 ] && [ "$now" -ge $r3 ]; }; then
		[ "$fresh" = 1 ] && csize=$((csize + step + 1)) && conf
		a=$(date +%s%3N)
		ctl 'reloadConfig()' >>"$work/reload.out"
		echo "$((a - t0)) $(($(date +%s%3N) - a))" >>"$work/reloads"
		step=$((step + 1))
	elif [ $step -eq 1 ] && [ "$now" -ge $r2 ]; then
		g0=$(gen)
		conf "addAction('x.example.', SpoofAction('10.0.0.2')"
		ctl 'reloadConfig()' >>"$work/reload.out"
		gbroken=$(gen)
		conf
		step=2
	fi
	sleep 0.25
done
wait "$dp"
e1=$(rcvbuf_errors)
kill -0 "$dpid" 2>/dev/null || die "the daemon died, see $work/dnsdist.log"

sent=$(awk '/Queries sent:/ { print $3 }' "$work/udp.dnsperf")
lost=$(awk '/Queries lost:/ { print $3 }' "$work/udp.dnsperf")
rate=$(awk '/Queries per second:/ { print $4 }' "$work/udp.dnsperf")
first=$(awk 'NR == 1 { print $1 }' "$work/reloads")
# ratio FROM TO: hits / queries between the samples nearest FROM and TO.
ratio() {
	awk -v a="$1" -v b="$2" '
		$1 <= a { qa = $2; ha = $3 }
		$1 <= b { qb = $2; hb = $3 }
		END {
			if (qb > qa) printf "%.3f", (hb - ha) / (qb - qa)
			else printf "-"
		}' "$work/samples"
}
dyn=$(dig +tries=1 +time=1 @127.0.0.1 -p "$port" blocked.bench.example. |
    awk '/status:/ { sub(",", "", $6); print $6 }')
spoof=$(dig +short +tries=1 +time=1 @127.0.0.1 -p "$port" \
    spoof.bench.example.)
echo "reload.sh: $qps qps for $secs s, $nnames names; load" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'queries sent %s, lost %s, %s qps; UDP receive buffer drops on' \
    "${sent:-?}" "${lost:-?}" "${rate:-?}"
printf ' this host meanwhile (kernel): %s\n' "$((e1 - e0))"
if [ "$reloads" != 0 ]; then
	printf 'cache hit ratio: 1 s before the first reload %s, 1 s after %s\n' \
	    "$(ratio $((first - 1000)) "$first")" \
	    "$(ratio "$first" $((first + 1000)))"
	awk '{ printf "reload at %.1f s took %d ms\n", $1 / 1000, $2 }' \
	    "$work/reloads"
	printf 'broken file: generation %s before, %s after (%s)\n' "${g0:-?}" \
	    "${gbroken:-?}" "$([ "$g0" = "$gbroken" ] && echo kept || echo CHANGED)"
fi
printf 'dynamic block at the end: %s; rule: %s\n' "${dyn:-?}" "${spoof:-?}"
printf 'daemon: %s\n' "$(ctl "local c = getStatisticsCounters()
    print('queries ' .. c['queries'] .. ', responses ' .. c['responses'] ..
    ', downstream-timeouts ' .. c['downstream-timeouts'])")"
printf 'errors at the console: %s\n' \
    "$(grep -c '^Error' "$work/reload.out")"
