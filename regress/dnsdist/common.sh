# Helpers shared by the end-to-end tests; sourced by every test program.
#
# Everything a test starts lives in its ATF work directory: configs, logs and
# one file per process under pids/ that the cleanup kills.  Packets only go
# to loopback, or to addresses inside a network namespace the test creates.
#
# The daemon under test is the Kyua/ATF configuration variable "dnsdist" when
# set (kyua -v test_suites.dnsdist.dnsdist=/usr/bin/dnsdist test), else the
# one built in this tree.  The responder can be overridden the same way with
# the variable "responder".

# Runs a command inside the test's network namespace, if it made one.
NSX=

# dd_setup: resolves the programs; call first in every body.
dd_setup()
{
	if atf_config_has dnsdist; then
		DNSDIST=$(atf_config_get dnsdist)
	else
		DNSDIST=$(atf_get_srcdir)/../../dnsdist/dnsdist
	fi
	if atf_config_has responder; then
		RESPONDER=$(atf_config_get responder)
	else
		RESPONDER=$(atf_get_srcdir)/../responder/responder
	fi
	[ -x "$DNSDIST" ] || atf_fail "no dnsdist binary at $DNSDIST"
	if [ -x /usr/bin/python3 ]; then
		PYTHON=/usr/bin/python3
	else
		PYTHON=python3
	fi
	mkdir -p pids
	if [ -f netns.name ]; then
		NSX="ip netns exec $(cat netns.name)"
	fi
	_dd_clients
	# A dead console reader must not kill the test shell with SIGPIPE.
	trap '' PIPE
}

# dd_need_responder: skips the test when the responder is not built.
# dd_need_tls: skips the test when the daemon is built without DNS over
# TLS (make TLS=no).  After dd_setup.
dd_need_tls()
{
	"$DNSDIST" --version | grep -q 'dns-over-tls(' ||
	    atf_skip "built without DNS over TLS (TLS=no)"
}

dd_need_responder()
{
	[ -x "$RESPONDER" ] || atf_skip "responder not built: $RESPONDER"
}

# dd_netns: moves the rest of the test into a new network namespace that
# has only lo (up); skips the test when namespaces are not permitted.
dd_netns()
{
	_ns=ddtest$$
	echo "$_ns" >netns.name		# first, so that the cleanup finds it
	ip netns add "$_ns" >/dev/null 2>&1 || {
		rm -f netns.name
		atf_skip "cannot create a network namespace (ip netns add)"
	}
	ip netns exec "$_ns" ip link set lo up ||
	    atf_fail "cannot bring lo up in namespace $_ns"
	NSX="ip netns exec $_ns"
	_dd_clients
}

# The clients, for atf_check (which cannot run shell functions): one try
# of one second each.
_dd_clients()
{
	DIG="$NSX dig +tries=1 +time=1"
	KDIG="$NSX kdig +retry=0 +time=1"
	DNSQ="$NSX $PYTHON $(atf_get_srcdir)/dnsq.py"
}

# dd_ipv6: true when ::1 can be bound (in the namespace if there is one).
dd_ipv6()
{
	$NSX "$PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0))' >/dev/null 2>&1
}

# dd_port: prints a port in 20000-32767 (below Linux's ephemeral ports) on
# which nothing listens (UDP or TCP) and that this test did not hand out
# before.
dd_port()
{
	_i=0
	while [ $_i -lt 200 ]; do
		_i=$((_i + 1))
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_p=$((20000 + (_r + $$) % 12768))
		grep -qx "$_p" ports.used 2>/dev/null && continue
		[ -n "$($NSX ss -Hlnu "sport = :$_p" 2>/dev/null)" ] && continue
		[ -n "$($NSX ss -Hlnt "sport = :$_p" 2>/dev/null)" ] && continue
		echo "$_p" >>ports.used
		echo "$_p"
		return 0
	done
	atf_fail "no free port found"
}

# dd_track NAME PID: the cleanup will stop PID.
dd_track()
{
	echo "$2" >"pids/$1"
}

# dd_pid NAME: prints the pid of a process started by the test.
dd_pid()
{
	cat "pids/$1"
}

# _dd_running PID: true while PID runs; an exited process that nobody has
# reaped yet (a zombie, as orphans may stay for a while) does not count.
_dd_running()
{
	kill -0 "$1" 2>/dev/null || return 1
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	Z*|'') return 1 ;;
	esac
	return 0
}

# dd_alive NAME: true while that process runs.
dd_alive()
{
	[ -f "pids/$1" ] && _dd_running "$(cat "pids/$1")"
}

# dd_kill NAME: stops one process and waits (bounded) until it is gone.
dd_kill()
{
	[ -f "pids/$1" ] || return 0
	_pid=$(cat "pids/$1")
	kill -TERM "$_pid" 2>/dev/null
	_i=0
	while _dd_running "$_pid" && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -KILL "$_pid" 2>/dev/null
	rm -f "pids/$1"
	return 0
}

# dd_netns_add NAME: creates the network namespace NAME with lo up; skips
# the test when namespaces are not permitted.  The cleanup deletes it.
dd_netns_add()
{
	echo "$1" >>netns.list		# first, so that the cleanup finds it
	ip netns add "$1" >/dev/null 2>&1 ||
	    atf_skip "cannot create a network namespace (ip netns add)"
	ip netns exec "$1" ip link set lo up ||
	    atf_fail "cannot bring lo up in namespace $1"
}

# dd_stop_clean NAME LOG: stops the daemon NAME, a child of the test shell
# (dd_start, dd_start_console), with SIGTERM and fails unless it exits 0
# within 10 seconds with no sanitizer report in LOG: in the DEBUG=1 build,
# LeakSanitizer looks for leaks at exit and makes the status 23.
dd_stop_clean()
{
	_pid=$(dd_pid "$1")
	kill -TERM "$_pid"
	_i=0
	while _dd_running "$_pid" && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	_dd_running "$_pid" && atf_fail "$1 still runs 10 s after SIGTERM"
	wait "$_pid"
	_rc=$?
	rm -f "pids/$1"
	if grep -q 'Sanitizer' "$2"; then
		cat "$2"
		atf_fail "$1: a sanitizer report in $2"
	fi
	[ $_rc -eq 0 ] || atf_fail "$1 exited $_rc"
}

# dd_stop_all: the cleanup; stops every process the test started and
# removes its network namespaces.
dd_stop_all()
{
	exec 3>&-
	for _f in pids/*; do
		[ -f "$_f" ] || continue
		kill -TERM "$(cat "$_f")" 2>/dev/null
	done
	for _f in pids/*; do
		[ -f "$_f" ] || continue
		dd_kill "${_f#pids/}"
	done
	if [ -f netns.name ]; then
		ip netns delete "$(cat netns.name)" 2>/dev/null
		rm -f netns.name
	fi
	if [ -f netns.list ]; then
		while read -r _ns; do
			ip netns delete "$_ns" 2>/dev/null
		done <netns.list
		rm -f netns.list
	fi
	return 0
}

# dd_dig ARGS: one dig query, one try of one second.
dd_dig()
{
	$NSX dig +tries=1 +time=1 "$@"
}

# dd_wait_answer SERVER PORT NAME [DIGOPTS]: waits (at most 100 tries and 20
# seconds) until SERVER answers NAME with some A record; fails the test
# otherwise.
dd_wait_answer()
{
	_s=$1 _p=$2 _n=$3
	shift 3
	_i=0
	_end=$(($(date +%s) + 20))
	while [ $_i -lt 100 ] && [ "$(date +%s)" -le $_end ]; do
		# dig prints its errors on stdout too: look for an address line.
		dd_dig +short "$@" @"$_s" -p "$_p" "$_n" A 2>/dev/null |
		    grep -qE '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	atf_fail "no answer for $_n from $_s port $_p"
}

# dd_wait_listen PORT: waits (bounded) until a UDP socket listens on PORT.
dd_wait_listen()
{
	_i=0
	while [ $_i -lt 100 ]; do
		[ -n "$($NSX ss -Hlnu "sport = :$1" 2>/dev/null)" ] && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	atf_fail "nothing listens on port $1"
}

# dd_zone FILE WWWADDR: writes the example. zone.  Besides www it has mail,
# ns, a wildcard (any other name answers 192.0.2.99) and big., whose sixty
# A records do not fit in 512 bytes.
dd_zone()
{
	{
		echo '$ORIGIN example.'
		echo '$TTL 300'
		echo '@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300'
		echo '  IN NS ns.example.'
		echo 'ns IN A 192.0.2.53'
		echo "www IN A $2"
		echo 'mail IN A 192.0.2.25'
		echo '* IN A 192.0.2.99'
		_i=101
		while [ $_i -le 160 ]; do
			echo "big IN A 192.0.2.$_i"
			_i=$((_i + 1))
		done
	} >"$1"
}

# dd_start_nsd NAME PORT [WWWADDR]: starts NSD on 127.0.0.1:PORT serving
# example. with www.example. A WWWADDR (default 192.0.2.80); waits until it
# answers.
dd_start_nsd()
{
	_name=$1 _port=$2 _www=${3:-192.0.2.80}
	_dir=$(pwd)/$_name
	mkdir -p "$_dir"
	dd_zone "$_dir/example.zone" "$_www"
	cat >"$_dir/nsd.conf" <<EOF
server:
	port: $_port
	ip-address: 127.0.0.1
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$_dir"
	pidfile: "$_dir/nsd.pid"
	database: ""
	xfrdfile: "$_dir/xfrd.state"
	zonelistfile: "$_dir/zone.list"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
zone:
	name: "example."
	zonefile: "example.zone"
EOF
	$NSX nsd -d -c "$_dir/nsd.conf" >"$_dir/nsd.log" 2>&1 &
	dd_track "$_name" $!
	dd_wait_answer 127.0.0.1 "$_port" www.example.
}

# dd_start_responder NAME PORT [ARGS]: starts the responder on
# 127.0.0.1:PORT with ARGS; waits for its ready file.
dd_start_responder()
{
	_name=$1 _port=$2
	shift 2
	rm -f "$_name.ready"
	$NSX "$RESPONDER" -l "127.0.0.1:$_port" -r "$(pwd)/$_name.ready" \
	    "$@" >"$_name.log" 2>&1 &
	dd_track "$_name" $!
	_i=0
	while [ ! -f "$_name.ready" ] && [ $_i -lt 100 ]; do
		dd_alive "$_name" || break
		_i=$((_i + 1))
		sleep 0.1
	done
	[ -f "$_name.ready" ] || {
		cat "$_name.log"
		atf_fail "responder $_name did not become ready"
	}
}

# dd_conf FILE LINES...: writes a config that never polls anything outside.
dd_conf()
{
	_f=$1
	shift
	echo "setSecurityPollSuffix('')" >"$_f"
	for _l in "$@"; do
		echo "$_l" >>"$_f"
	done
}

# dd_start NAME CONF [ARGS]: starts the daemon supervised (no console) with
# CONF (or without -C when CONF is empty); its output goes to NAME.log.
# dd_tcpext NAME: the TcpExt counter NAME of the test's network namespace.
dd_tcpext()
{
	$NSX cat /proc/net/netstat | awk -v c="$1" '
		$1 == "TcpExt:" && !n { for (i = 2; i <= NF; i++) f[$i] = i; n = 1; next }
		$1 == "TcpExt:" { print $f[c] }'
}

dd_start()
{
	_name=$1 _conf=$2
	shift 2
	if [ -n "$_conf" ]; then
		set -- -C "$_conf" "$@"
	fi
	$NSX "$DNSDIST" --supervised --disable-syslog "$@" \
	    >"$_name.log" 2>&1 </dev/null &
	dd_track "$_name" $!
}

# dd_start_console CONF [ARGS]: starts the daemon with its console on stdin,
# fed from a FIFO that fd 3 of the test shell holds open; its output goes to
# console.out.  Returns once the console has run a first command, that is
# once the configuration has been loaded.  One per test.
dd_start_console()
{
	_conf=$1
	shift
	rm -f console.fifo console.seq
	mkfifo console.fifo || atf_fail "mkfifo failed"
	# --foreground: a console on a pipe, which would otherwise detach.
	$NSX "$DNSDIST" --foreground --disable-syslog -C "$_conf" "$@" \
	    <console.fifo >console.out 2>&1 &
	dd_track dnsdist $!
	exec 3>console.fifo
	echo 0 >console.seq
	printf 'print("--mark 0--")\n' >&3
	_dd_wait_mark 0
}

_dd_wait_mark()
{
	_i=0
	while [ $_i -lt 100 ]; do
		grep -qx -- "--mark $1--" console.out 2>/dev/null && return 0
		dd_alive dnsdist || {
			cat console.out
			atf_fail "dnsdist exited"
		}
		_i=$((_i + 1))
		sleep 0.1
	done
	cat console.out
	atf_fail "console did not answer (mark $1)"
}

# console CMD: runs one console line and prints what it printed.  A marker
# printed after CMD tells when it is done; the output is what lies between
# the previous marker and this one (log lines may be mixed in).
console()
{
	_n=$(($(cat console.seq) + 1))
	echo $_n >console.seq
	dd_alive dnsdist || {
		cat console.out
		atf_fail "dnsdist exited before: $1"
	}
	printf '%s\nprint("--mark %d--")\n' "$1" $_n >&3
	_dd_wait_mark $_n
	awk -v a="--mark $((_n - 1))--" -v b="--mark $_n--" '
		$0 == b { exit }
		on { print }
		$0 == a { on = 1 }' console.out
}

# dd_ip4 ADDRESS: an IPv4 address in hex.
dd_ip4()
{
	# shellcheck disable=SC2046
	printf '%02x' $(echo "$1" | tr . ' ')
}

# dd_pp PROTO SRC SPORT DST DPORT [T:VALUE ...]: a PROXY protocol v2 header
# in hex (for hostile.py), PROTO 11 (TCP over IPv4) or 12 (UDP over IPv4),
# with a TLV of type T per argument.
dd_pp()
{
	_proto=$1 _src=$2 _sp=$3 _dst=$4 _dp=$5
	shift 5
	_tlv= _n=12
	for _t in "$@"; do
		_v=${_t#*:}
		_tlv="$_tlv $(printf %02x "${_t%%:*}") $(printf %04x ${#_v})"
		_tlv="$_tlv $(printf %s "$_v" | od -An -tx1 | tr -d ' \n')"
		_n=$((_n + 3 + ${#_v}))
	done
	echo "0d0a0d0a000d0a515549540a 21 $_proto $(printf %04x $_n)" \
	    "$(dd_ip4 "$_src") $(dd_ip4 "$_dst") $(printf %04x "$_sp")" \
	    "$(printf %04x "$_dp")$_tlv"
}

# dd_stat NAME: prints the counter NAME, as an integer.
dd_stat()
{
	console "print('stat=' .. getStatisticsCounters()['$1'])" |
	    sed -n 's/^stat=\([0-9]*\).*/\1/p' | tail -1
}

# dd_dumpstat NAME: the same counter, read from dumpStats(), whose output
# has "name value" pairs in one or two columns.
dd_dumpstat()
{
	console 'dumpStats()' | awk -v n="$1" '
		{ for (i = 1; i < NF; i++) if ($i == n) { v = $(i + 1) } }
		END { sub(/\..*/, "", v); print v }'
}

# dd_tcp_all COLUMN: the "All" line of showTCPStats() (Clients, Backends
# or Accepted).
dd_tcp_all()
{
	console 'showTCPStats()' | awk -v c="$1" '
		$1 == "Thread" { for (i = 1; i <= NF; i++) if ($i == c) col = i }
		col && $1 == "All" { print $col; exit }'
}

# dd_wait_state N true|false: waits (bounded) until getServer(N):isUp()
# says so.
dd_wait_state()
{
	_i=0
	while [ $_i -lt 100 ]; do
		_s=$(console "print('up=' .. tostring(getServer($1):isUp()))" |
		    sed -n 's/^up=//p' | tail -1)
		[ "$_s" = "$2" ] && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	console 'showServers()'
	atf_fail "server $1 is not isUp()=$2"
}

# dd_server_field N COLUMN: the value in showServers()'s COLUMN (a header
# word such as Queries, State or Outstanding) for server number N (a
# server without a name has an empty Name).
dd_server_field()
{
	console 'showServers()' | awk -v n="$1" -v c="$2" '
		$1 == "#" { for (i = 1; i <= NF; i++) if ($i == c) col = i }
		col && $1 == n {
			off = $3 ~ /^(up|down|UP|DOWN)$/ ? 1 : 0
			print col == 2 && off ? "" : $(col - off); exit }'
}

# dd_tally FILE: counts answers per address: lines "COUNT ANSWER".
dd_tally()
{
	awk '{ print $2 }' "$1" | sort | uniq -c | awk '{ print $1, $2 }'
}

# dd_count FILE ANSWER: how many queries in FILE got ANSWER.
dd_count()
{
	awk -v a="$2" '$2 == a { n++ } END { print n + 0 }' "$1"
}

# dd_between VALUE LOW HIGH MSG: fails unless LOW <= VALUE <= HIGH.
dd_between()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ] ||
	    atf_fail "$4: $1 not in [$2, $3]"
}

# mkcerts: a throwaway CA (ca.pem) and two leaves it signs, dns.test and
# other.test (NAME.pem, NAME.key), each also valid for 127.0.0.1.
mkcerts()
{
	for n in dns.test other.test; do
		leaf "$n"
	done
}

# leaf NAME: a certificate for NAME and 127.0.0.1 that ca.pem signs (a new
# serial each time), NAME.pem and NAME.key; the CA is made the first time.
leaf()
{
	[ -f ca.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -subj "/CN=test CA" -keyout ca.key -out ca.pem >/dev/null 2>&1 ||
	    atf_fail "openssl: no CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" \
	    -out "$1.csr" >/dev/null 2>&1 || atf_fail "openssl: no request"
	printf 'subjectAltName=DNS:%s,IP:127.0.0.1\n' "$1" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" \
	    >/dev/null 2>&1 || atf_fail "openssl: no certificate"
}

# p12 NAME PASS: NAME.p12 from NAME.pem, NAME.key and the CA, under PASS.
p12()
{
	openssl pkcs12 -export -passout "pass:$2" -in "$1.pem" \
	    -inkey "$1.key" -certfile ca.pem -out "$1.p12" >/dev/null 2>&1 ||
	    atf_fail "openssl: no PKCS#12 file"
}

# start_unbound NAME PORT tls|https [LINES]: Unbound serving www.example.
# (192.0.2.33) and big.example. (192.0.2.34) over DNS over TLS, or DNS
# over HTTPS on /dns-query, on 127.0.0.1:PORT with mkcerts' dns.test
# certificate (and plain UDP on the same port, for readiness); LINES are
# more of its server options, one a line.
start_unbound()
{
	which unbound >/dev/null 2>&1 || atf_skip "unbound is not installed"
	_dir=$(pwd)/$1
	mkdir -p "$_dir"
	cat >"$_dir/unbound.conf" <<EOF
server:
	interface: 127.0.0.1@$2
	$3-port: $2
	http-endpoint: "/dns-query"
	incoming-num-tcp: 100
	tls-service-key: "$(pwd)/dns.test.key"
	tls-service-pem: "$(pwd)/dns.test.pem"
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "$_dir"
	pidfile: ""
	use-syslog: no
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	module-config: "iterator"
	local-zone: "example." static
	local-data: "www.example. 300 IN A 192.0.2.33"
	local-data: "big.example. 300 IN A 192.0.2.34"
${4:-}
remote-control:
	control-enable: no
EOF
	$NSX unbound -d -c "$_dir/unbound.conf" >"$_dir/log" 2>&1 &
	dd_track "$1" $!
	dd_wait_answer 127.0.0.1 "$2" www.example.
}
