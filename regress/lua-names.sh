#!/bin/sh
# lua-names.sh DNSDIST LIST PORT CPORT WPORT: how many of the object methods and
# members in LIST (dnsdist's, "name<TAB>files" a line, # comments) the
# running daemon defines, refuses by name, or lacks.
#
# The daemon runs a configuration of sample objects on 127.0.0.1:PORT (DNS),
# CPORT (console) and WPORT (web server), free ports; a DNS query and an
# HTTP request make the hooks see a DNSQuestion, a DNSResponse, a packet
# overlay's record and the web handler's request and response.  Each
# sample is asked for every name: one it answers is defined, and one whose
# call without arguments fails with "name: ... not supported" (or not
# built in, not available, ...) is refused; C methods check their object
# first, so the calls change nothing.  The types no sample stands for count
# through the methods their metatables hold.  Prints
#	object methods TOTAL defined D working W refused R
# then "refused NAME" and "missing NAME" for each name refused or not
# defined.
set -eu

[ $# -eq 5 ] || { echo "usage: $0 dnsdist list port cport wport" >&2; exit 2; }
dnsdist=$1 list=$2 port=$3 cport=$4 wport=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/lua-names.XXXXXX")
pid=
cleanup()
{
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || :
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
{
	echo "setSecurityPollSuffix('')"
	echo "setLocal('127.0.0.1:$port')"
	echo "controlSocket('127.0.0.1:$cport')"
	echo "setKey('$key')"
	echo "webserver('127.0.0.1:$wport')"
	echo "newServer{address='127.0.0.1:9', name='probe'}"
	printf 'wanted = {'
	grep -v '^#' "$list" | cut -f1 | sed "s/.*/'&',/" | tr -d '\n'
	echo '}'
	cat <<'EOF'
defined, refused = {}, {}
local why = { 'not supported', 'not built in', 'not available',
    'not resumed', 'are not used' }
function probe(o)
	if o == nil then return end
	local mt = getmetatable(o)
	for _, n in ipairs(wanted) do
		local ok, v = pcall(function() return o[n] end)
		if not ok or v == nil then
			v = type(mt) == 'table' and rawget(mt, n) or nil
		end
		if v ~= nil then
			defined[n] = true
			if type(v) == 'function' then
				local _, err = pcall(v)
				err = tostring(err)
				for _, w in ipairs(why) do
					if err:find(n .. ': ', 1, true) == 1 and
					    err:find(w, 1, true) then
						refused[n] = true
					end
				end
			end
		end
	end
end
-- The methods of types no sample stands for: their metatables.
function probe_registry()
	for k, mt in pairs(debug.getregistry()) do
		if type(k) == 'string' and k:find('dnsdist.', 1, true) == 1 and
		    type(mt) == 'table' then
			local i = rawget(mt, '__index')
			if type(i) == 'function' then
				i = select(2, debug.getupvalue(i, 1))
			end
			local fake = setmetatable({}, { __index = function(_, n)
				return type(i) == 'table' and rawget(i, n) or
				    rawget(mt, n)
			end })
			probe(fake)
		end
	end
end
addAction(AllRule(), LuaAction(function(dq)
	dq.tempFailureTTL = 1	-- nil until set
	probe(dq) probe(dq.dh) probe(dq:getEDNSOptions())
	return DNSAction.None
end))
addAction(AllRule(), SpoofAction('192.0.2.1'))
addSelfAnsweredResponseAction(AllRule(), LuaResponseAction(function(dr)
	probe(dr)
	local o = newDNSPacketOverlay(dr:getContent())
	probe(o) probe(o.dh) probe(o:getRecord(0))
	return DNSResponseAction.None
end))
registerWebHandler('/probe', function(req, resp)
	probe(req) probe(resp)
	resp.status = 200
end, false)
EOF
} >"$work/probe.conf"

"$dnsdist" --supervised --disable-syslog -C "$work/probe.conf" \
    >"$work/daemon.log" 2>&1 </dev/null &
pid=$!
console()
{
	"$dnsdist" -C "$work/probe.conf" -c -e "$1" 127.0.0.1:$cport
}
# Ready when the console answers: at most 10 s.
i=0
until console 'print("up")' 2>/dev/null | grep -qx up; do
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$work/daemon.log" >&2
		echo "$0: the daemon did not start" >&2
		exit 1
	fi
	sleep 0.1
done

python3 - "$port" "$wport" <<'EOF'
import socket, struct, sys, urllib.request
port, wport = int(sys.argv[1]), int(sys.argv[2])
# A query for probe.example. A, with an OPT record carrying a cookie.
q = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 1)
q += b'\x05probe\x07example\x00' + struct.pack('!HH', 1, 1)
q += b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 12)
q += struct.pack('!HH', 10, 8) + b'\x01' * 8
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ('127.0.0.1', port))
s.recv(4096)
urllib.request.urlopen('http://127.0.0.1:%d/probe?a=1' % wport,
                       timeout=5).read()
EOF

console 'probe(newDNSName("a.")) probe(newCA("192.0.2.1"))
probe(newSuffixMatchNode()) probe(newNMG()) probe(newDNSNameSet())
probe(TimedIPSetRule()) probe(newPacketCache(10)) probe(dynBlockRulesGroup())
probe(newNetmask("192.0.2.0/24")) probe(newQPSLimiter(1, 1))
probe(getBind(0)) probe(getBind(1)) probe(newNetworkEndpoint("/nonexistent"))
probe(newNetworkListener())
probe(DropAction()) probe(AllRule()) probe(getServer(0)) probe(getPool(""))
probe(roundrobin) probe(newServerPolicy("p", function() end))
probe(KeyValueLookupKeyQName())
statNodeRespRing(function(n, s, c) probe(n) probe(s) probe(c) end)
probe_registry()
for _, n in ipairs(wanted) do
	print((defined[n] and (refused[n] and "refused " or "working ") or
	    "missing ") .. n)
end' >"$work/names"

# A sanitizer's report (make DEBUG=1) fails the count.
kill "$pid"
wait "$pid" || :
pid=
if grep -q Sanitizer "$work/daemon.log"; then
	cat "$work/daemon.log" >&2
	echo "$0: a sanitizer report" >&2
	exit 1
fi

awk -v total="$(grep -vc '^#' "$list")" '
	$1 == "working" { w++ }
	$1 == "refused" || $1 == "missing" { l[++n] = $0 }
	$1 == "refused" { r++ }
	END {
		printf "object methods %d defined %d working %d refused %d\n",
		    total, w + r, w, r
		for (i = 1; i <= n; i++)
			print l[i]
	}' "$work/names"
