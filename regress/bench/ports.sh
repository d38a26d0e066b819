# Free loopback ports for the benchmark scripts, which source this file
# after defining die().  Linux only (/proc/net).

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
