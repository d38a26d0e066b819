#!/bin/sh
# The local demo behind `make run`: two NSD instances serving the zone
# "example." on 127.0.0.1:5301 and :5302, and the daemon on 127.0.0.1:5300
# with etc/dnsdist.conf and its console on this terminal.
#   sh etc/demo.sh               local NSD backends
#   sh etc/demo.sh ADDR ADDR...  the given servers instead
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dnsdist=${DNSDIST:-$top/dnsdist/dnsdist}
conf="$top/etc/dnsdist.conf"

if [ $# -gt 0 ]; then
	echo "demo: balancing over $*; console below, 'quit' or ^D to stop"
	exec "$dnsdist" --disable-syslog -C "$conf" "$@"
fi

nsd=$(command -v nsd || echo /usr/sbin/nsd)
[ -x "$nsd" ] || { echo "demo: nsd is missing (make deps)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-demo.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	# NSD writes its state files as it stops: let it finish first.
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat > "$work/example.zone" <<'ZONE'
$ORIGIN example.
$TTL 300
@	SOA	ns.example. hostmaster.example. 1 3600 600 86400 300
	NS	ns.example.
ns	A	192.0.2.53
www	A	192.0.2.80
	AAAA	2001:db8::80
mail	A	192.0.2.25
@	MX	10 mail.example.
ZONE

for n in 1 2; do
	port=$((5300 + n))
	d="$work/nsd$n"
	mkdir -p "$d"
	cat > "$d/nsd.conf" <<CONF
server:
	ip-address: 127.0.0.1@$port
	port: $port
	username: ""
	chroot: ""
	zonesdir: "$work"
	database: ""
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/nsd.pid"
	logfile: "$d/nsd.log"
	identity: "backend$n"
	hide-version: yes
	server-count: 1
	verbosity: 0
remote-control:
	control-enable: no
zone:
	name: "example."
	zonefile: "example.zone"
CONF
	"$nsd" -d -c "$d/nsd.conf" &
	pids="$pids $!"
	eval "nsd$n=$!"
done

# Wait until both answer (bounded).
for n in 1 2; do
	i=0
	until dig +short +tries=1 +time=1 -p $((5300 + n)) @127.0.0.1 \
	    www.example. A >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "demo: nsd $n did not start" >&2;
		    cat "$work/nsd$n/nsd.log" >&2; exit 1; }
		sleep 0.1
	done
done

# A throwaway certificate for DNS over TLS on 127.0.0.1:8853 and DNS over
# HTTPS on 127.0.0.1:8443 (/dns-query).
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=dns.test \
    -addext subjectAltName=DNS:dns.test -keyout "$work/dot.key" \
    -out "$work/dot.pem" >/dev/null 2>&1; then
	DNSDIST_DEMO_TLS=$work
	export DNSDIST_DEMO_TLS
	dot="kdig +tls +tls-ca=$work/dot.pem +tls-hostname=dns.test @127.0.0.1 -p 8853 www.example.
	kdig +https +tls-ca=$work/dot.pem +tls-hostname=dns.test @127.0.0.1 -p 8443 www.example."
else
	dot="(no openssl: no DNS over TLS or HTTPS)"
fi

cat <<MSG
demo: NSD backend1 on 127.0.0.1:5301 (pid $nsd1), backend2 on 127.0.0.1:5302 (pid $nsd2)
demo: the daemon listens on 127.0.0.1:5300; in another terminal try
	dig @127.0.0.1 -p 5300 www.example.
	dig @127.0.0.1 -p 5300 id.server CH TXT     (which backend answered)
	kill $nsd2                                   (failover: see showServers())
	$dot
MSG
if [ -t 0 ]; then
	echo "demo: console below (showServers(), dumpStats(), ...); 'quit' or ^D stops"
	"$dnsdist" --disable-syslog -C "$conf"
else
	# No terminal for a console: the daemon stays in the foreground, and
	# goes with the backends when this script is stopped.
	echo "demo: no terminal, no console; stop this script to stop it all"
	"$dnsdist" --supervised --disable-syslog -C "$conf" &
	pids="$pids $!"
	wait $!
fi
