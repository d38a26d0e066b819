#!/bin/sh
# Checks `make install` into a scratch DESTDIR: the files each system
# expects (hier(7)), in their places and modes, the rc script or unit
# pointing at the installed binary and configuration, and an existing
# configuration left alone by a second install.
#   sh regress/install.sh [MAKE...]	(default: make; or bmake -f Makefile.bsd)
[ $# -gt 0 ] || set -- make
cd "$(dirname "$0")/.." || exit 1
dest=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-install.XXXXXX") || exit 1
trap 'rm -rf "$dest"' EXIT
fail()
{
	echo "install: $*" >&2
	exit 1
}

prefix=/opt/dd
case $(uname -s) in
Linux)
	conf=/etc/dnsdist/dnsdist.conf
	expect="/etc/dnsdist/dnsdist.conf 644
$prefix/lib/systemd/system/dnsdist.service 444
$prefix/sbin/dnsdist 555
$prefix/share/doc/dnsdist/dnsdist.conf 444
$prefix/share/man/man5/dnsdist.conf.5 444
$prefix/share/man/man8/dnsdist.8 444"
	service=$prefix/lib/systemd/system/dnsdist.service ;;
FreeBSD)
	conf=$prefix/etc/dnsdist/dnsdist.conf
	expect="$prefix/etc/dnsdist/dnsdist.conf 644
$prefix/etc/rc.d/dnsdist 555
$prefix/sbin/dnsdist 555
$prefix/share/examples/dnsdist/dnsdist.conf 444
$prefix/share/man/man5/dnsdist.conf.5 444
$prefix/share/man/man8/dnsdist.8 444"
	service=$prefix/etc/rc.d/dnsdist ;;
*)
	conf=/etc/dnsdist.conf
	expect="/etc/dnsdist.conf 644
/etc/rc.d/dnsdist 555
$prefix/man/man5/dnsdist.conf.5 444
$prefix/man/man8/dnsdist.8 444
$prefix/sbin/dnsdist 555
$prefix/share/examples/dnsdist/dnsdist.conf 444"
	service=/etc/rc.d/dnsdist ;;
esac

"$@" install PREFIX=$prefix DESTDIR="$dest" >"$dest.log" 2>&1 || {
	cat "$dest.log"
	rm -f "$dest.log"
	fail "$* install failed"
}
rm -f "$dest.log"
got=$(cd "$dest" && find . -type f | sed 's/^\.//' | sort | while read -r f; do
	echo "$f $(stat -c %a "$dest$f" 2>/dev/null || stat -f %Lp "$dest$f")"
done)
[ "$got" = "$expect" ] || {
	printf 'expected:\n%s\ngot:\n%s\n' "$expect" "$got"
	fail "unexpected file list"
}
grep -q "$prefix/sbin/dnsdist" "$dest$service" ||
    fail "$service does not name $prefix/sbin/dnsdist"
grep -q "$conf" "$dest$service" || fail "$service does not name $conf"
grep -q /usr/local "$dest$service" && fail "$service still names /usr/local"
# The binary reads the configuration where it was installed.
strings "$dest$prefix/sbin/dnsdist" | grep -qx "$conf" ||
    fail "the binary's default configuration is not $conf"

# The unit's directives, where systemd can say (not started).
if [ "$(uname -s)" = Linux ] && command -v systemd-analyze >/dev/null; then
	sed "s|$prefix/sbin/dnsdist|$dest$prefix/sbin/dnsdist|g" \
	    "$dest$service" >"$dest/dnsdist.service"
	systemd-analyze verify --man=no "$dest/dnsdist.service" ||
	    fail "systemd-analyze verify $service"
	rm -f "$dest/dnsdist.service"
fi

echo "-- changed" >>"$dest$conf"
"$@" install PREFIX=$prefix DESTDIR="$dest" >/dev/null 2>&1 ||
    fail "second install failed"
grep -q -- "-- changed" "$dest$conf" || fail "the configuration was replaced"
echo "install: $* OK"
