#!/bin/sh
# Install what the build, the demo and the tests need, or say how.
# Debian: apt-get as root; the BSDs: print the pkg_add / pkg line.

os=$(uname -s)
case $os in
Linux)
	# chromium is for the tests only: t_dashboard loads the web
	# dashboard in it, headless.  nghttp2-client (h2load) is for the
	# DoH benchmark (regress/bench/dot.sh).
	pkgs="build-essential pkg-config liblua5.3-dev libsodium-dev libedit-dev
	    libnghttp2-dev curl
	    libbsd-dev libtls-dev libssl-dev openssl libatf-dev atf-sh kyua nsd
	    bind9-dnsutils knot-dnsutils unbound
	    dnsperf nghttp2-client dnsdist bmake mandoc iproute2 procps python3 tmux
	    python3-prometheus-client libcdb-dev liblmdb-dev tinycdb lmdb-utils
	    haproxy libprotobuf-c-dev protobuf-c-compiler libfstrm-dev
	    fstrm-bin dnstap-ldns chromium"
	missing=
	for p in $pkgs; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || missing="$missing $p"
	done
	[ -z "$missing" ] && exit 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages; run as root:" >&2
		echo "  apt-get install -y$missing" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
	# The packaged daemons must not run on their own: the tests start them.
	for s in nsd dnsdist haproxy unbound; do
		service "$s" stop >/dev/null 2>&1 || true
	done
	;;
OpenBSD)
	# libtls, libcrypto, openssl(1) and unbound are in the base
	# system; chromium (www/chromium) is for the tests only.
	echo "run as root: pkg_add lua%5.3 libsodium kyua atf nsd dnsperf tinycdb lmdb" \
	    "haproxy protobuf-c fstrm nghttp2 curl chromium" >&2
	;;
FreeBSD)
	# libcrypto is the base system's; chromium (www/chromium) is for
	# the tests only.
	echo "run as root: pkg install lua53 libsodium libedit kyua atf nsd dnsperf" \
	    "tinycdb lmdb haproxy protobuf-c fstrm libnghttp2 curl libretls" \
	    "unbound chromium" >&2
	;;
*)
	echo "unknown system $os: install Lua 5.3, libsodium, libedit, tinycdb, LMDB," \
	    "protobuf-c, fstrm, nghttp2, ATF and Kyua" >&2
	;;
esac
exit 0
