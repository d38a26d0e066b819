#!/bin/sh
#
# Web server under attack: the latency of a legitimate /metrics request
# while a local client floods the web server with bad hashed credentials,
# our daemon against the PowerDNS one, same config, same load.
#
# usage: regress/bench/webattack.sh
#
# Environment:
#   OURS=path		our daemon (default: dnsdist/dnsdist of this tree)
#   THEIRS=path		the reference daemon (default: /usr/bin/dnsdist)
#   WEB_SAMPLES=10	legitimate requests measured, without and with the
#			attack
#   WEB_CONNS=20	attacking connections
#   WEB_PIPELINE=100	requests pipelined on each attacking connection
#   WEB_SECONDS=20	the longest the attack lasts
#
# Each daemon runs with `--supervised --disable-syslog`, no backend, and
# its web server on a free port of 127.0.0.1 with a password and an API
# key hashed by hashPassword() (scrypt, dnsdist's default work factor) and
# the ACL 127.0.0.0/8.  Once /metrics answers, the probe (webq.py probe)
# sends WEB_SAMPLES requests for /metrics with the right key from
# 127.0.0.2, one connection each, 0.2 s apart: the time until each whole
# answer is in.  Then the attack starts from 127.0.0.1 (webq.py flood):
# WEB_CONNS connections, each writing WEB_PIPELINE requests at once with a
# wrong key and a wrong password, and opened again once answered or
# closed; once it has started, the probe runs again, then the attack
# stops (after WEB_SECONDS at the latest).  Prints the median and the
# largest time of each set of samples, in ms, and what the attacker was
# answered: how many answers of each status.  Traffic stays on
# 127.0.0.0/8.  Linux only (/proc for the free ports).

set -u
prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
OURS=${OURS:-$top/dnsdist/dnsdist}
THEIRS=${THEIRS:-/usr/bin/dnsdist}
WEBQ="python3 $top/regress/dnsdist/webq.py"
samples=${WEB_SAMPLES:-10}
nconns=${WEB_CONNS:-20}
pipeline=${WEB_PIPELINE:-100}
secs=${WEB_SECONDS:-20}

die() {
	echo "$prog: $*" >&2
	exit 1
}

for v in "$samples" "$nconns" "$pipeline" "$secs"; do
	case $v in
	''|*[!0-9]*|0) die "WEB_* values must be positive integers" ;;
	esac
done
[ "$samples" -le 100 ] || die "WEB_SAMPLES: at most 100"
[ "$nconns" -le 90 ] || die "WEB_CONNS: at most 90 (maxConcurrentConnections)"
[ "$pipeline" -le 1000 ] || die "WEB_PIPELINE: at most 1000"
[ "$secs" -le 120 ] || die "WEB_SECONDS: at most 120"
[ -x "$OURS" ] || die "$OURS: not found (make)"
[ -x "$THEIRS" ] || die "$THEIRS: not found (apt-get install dnsdist)"
command -v python3 >/dev/null 2>&1 || die "python3: not found"

. "$here/ports.sh"
bench_work webattack

# stats FILE: "median max" of the numbers in FILE, one a line.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", m, v[NR] }'
}

# run_one LABEL BINARY: writes "median max median max attack-tally" into
# $work/LABEL.result.
run_one() {
	port=$(free_port)
	web=$(free_port "$port")
	cat >"$work/$1.conf" <<CONF
setSecurityPollSuffix('')
setLocal('127.0.0.1:$port')
webserver('127.0.0.1:$web')
setWebserverConfig({password=hashPassword('secret'), apiKey=hashPassword('key'), acl='127.0.0.0/8'})
CONF
	"$2" --supervised --disable-syslog -C "$work/$1.conf" \
	    >"$work/$1.log" 2>&1 &
	dpid=$!
	pids=$dpid
	i=0
	until $WEBQ -k key probe "$web" /metrics 1 0 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "$1 not answering, see $work/$1.log"
		sleep 0.1
	done
	$WEBQ -b 127.0.0.2 -k key probe "$web" /metrics "$samples" 0.2 \
	    >"$work/$1.quiet" || die "$1: probe failed, see $work/$1.quiet"
	$WEBQ -t "$secs" -u wrong -k bad flood "$web" /metrics "$nconns" \
	    "$pipeline" 100000 >"$work/$1.flood" 2>&1 &
	f=$!
	pids="$pids $f"
	i=0
	until grep -qx started "$work/$1.flood"; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "$1: the attack did not start"
		sleep 0.1
	done
	$WEBQ -b 127.0.0.2 -t "$secs" -k key probe "$web" /metrics \
	    "$samples" 0.2 >"$work/$1.attack" 2>&1 ||
	    die "$1: probe under attack failed, see $work/$1.attack"
	kill -TERM "$f" 2>/dev/null
	wait "$f" 2>/dev/null
	cleanup
	echo "$(stats "$work/$1.quiet") $(stats "$work/$1.attack")" \
	    "$(grep -v started "$work/$1.flood" | paste -sd, | tr ' ' :)" \
	    >"$work/$1.result"
}

echo "/metrics latency, ms, $samples samples each; attack: $nconns" \
    "connections x $pipeline pipelined requests, bad key and password"
printf '%-8s %8s %8s %10s %8s   %s\n' "" "median" "max" "attacked" "max" \
    "attacker's answers (status:count)"
for d in ours theirs; do
	if [ $d = ours ]; then bin=$OURS; else bin=$THEIRS; fi
	run_one $d "$bin"
	set -- $(cat "$work/$d.result")
	printf '%-8s %8s %8s %10s %8s   %s\n' "$d" "$1" "$2" "$3" "$4" "${5:-}"
done
echo "(work directory: $work)"
