# Helpers for the benchmark scripts, which source this file after defining
# die(): a work directory and the processes to stop, and free loopback
# ports.  Linux only (/proc/net).

# bench_work NAME: makes $work, a new directory, and arranges for the
# processes in $pids to be killed (cleanup, also on exit and signals).
bench_work() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-$1.XXXXXX") ||
	    die "cannot make a work directory"
	pids=
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM HUP
}

# bench_tls: for the encrypted benchmarks, pin_d and pin_l (taskset
# prefixes putting the daemon on CPU 0 and the load on CPU 1, when there
# are two), a throwaway certificate for dns.test ($work/c.pem and k.pem)
# and 500 names to ask ($work/q.txt).
bench_tls() {
	pin_d= pin_l=
	if command -v taskset >/dev/null 2>&1 &&
	    [ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ]; then
		pin_d="taskset -c 0"
		pin_l="taskset -c 1"
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj /CN=dns.test -addext subjectAltName=DNS:dns.test \
	    -keyout "$work/k.pem" -out "$work/c.pem" >/dev/null 2>&1 ||
	    die "openssl req failed"
	awk 'BEGIN { for (i = 0; i < 500; i++)
	    printf "n%d.bench.example. A\n", i }' >"$work/q.txt"
}

cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=
}

# wait_answer PORT LOG: until the daemon on 127.0.0.1:PORT answers a query
# (10 s at most; else die, pointing at LOG).
wait_answer() {
	_i=0
	# dig prints its errors on stdout too: look for an address line.
	until dig @127.0.0.1 -p "$1" +tries=1 +time=1 +short \
	    ready.bench.example. A 2>/dev/null |
	    grep -qE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || die "nothing answers on port $1, see $2"
		sleep 0.1
	done
}

# Is a port in use on any local address, UDP or TCP?
port_used() {
	hex=$(printf ':%04X' "$1")
	cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 \
	    2>/dev/null | awk -v h="$hex" '
		substr($2, length($2) - 4) == h { f = 1 }
		END { exit !f }'
}

# A free port in 20000-59999, none of the ports given as arguments (ports
# chosen before but not bound yet).
free_port() {
	i=0
	while [ $i -lt 100 ]; do
		p=$(od -An -N2 -tu2 /dev/urandom | awk '{ print 20000 + $1 % 40000 }')
		case " $* " in
		*" $p "*)	;;
		*)		port_used "$p" || { echo "$p"; return 0; } ;;
		esac
		i=$((i + 1))
	done
	die "no free port found"
}

# start_responder N PORT: the test responder as backend N on PORT (UDP
# and TCP, answering 192.0.2.N), with $RESPONDER; sets rN to its pid and
# returns once it is ready.
start_responder() {
	rm -f "$work/r$1.ready"
	"$RESPONDER" -T -l "127.0.0.1:$2" -A "192.0.2.$1" \
	    -r "$work/r$1.ready" 2>>"$work/r$1.log" &
	eval "r$1=$!"
	pids="$pids $!"
	_i=0
	while [ ! -f "$work/r$1.ready" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ -f "$work/r$1.ready" ] || die "responder $1 not ready, see $work/r$1.log"
}

# ticks PID: the CPU time of a process (utime + stime), in CLK_TCK ticks.
ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# ctl CMD: one console command through our console client, bounded
# ($OURS, the key $KEY, the control socket on 127.0.0.1:$cport).
ctl() {
	timeout 10 "$OURS" -C /dev/null -k "$KEY" -c "127.0.0.1:$cport" -e "$1"
}
