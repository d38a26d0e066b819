#!/usr/bin/python3
# DNS over TLS peers for the end-to-end tests (Python standard library only).
#
#   dotq.py serial CAFILE NAME SERVER PORT
#	Prints the serial number of the certificate the server shows for the
#	SNI NAME, checked against CAFILE.
#   dotq.py garbage SERVER PORT
#	Sends 2 KB of bytes that are no ClientHello and prints "closed" when
#	the server hangs up within 5 s, else "open".
#   dotq.py stall SERVER PORT N SECS
#	Opens N connections, sends half a ClientHello on every other one and
#	nothing on the rest, prints "ready" (flushed), then waits at most SECS
#	for the server to close them all and prints how many it closed.
#   dotq.py proxied outside|inside CAFILE NAME SERVER PORT SRC QNAME
#	Sends a PROXY protocol v2 header (TCP over IPv4, from SRC port 5353
#	to SERVER) before the TLS handshake, in the clear, or as the first
#	bytes inside TLS, then asks for QNAME A; prints the first address of
#	the answer, its RCODE, or "closed".
#   dotq.py noread CAFILE NAME SERVER PORT N
#	Shakes hands, then writes N pipelined queries for big.example. again
#	and again and reads nothing; prints "closed" once the server hangs
#	up (a write fails, within 30 s) or "open".
import socket
import ssl
import struct
import sys
import time

from dnsq import make_query, parse_answer


def cmd_serial(a):
    ctx = ssl.create_default_context(cafile=a[0])
    with socket.create_connection((a[2], int(a[3])), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=a[1]) as t:
            print(t.getpeercert()["serialNumber"])


def wait_closed(s, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def cmd_garbage(a):
    s = socket.create_connection((a[0], int(a[1])), timeout=5)
    s.sendall(bytes((i * 37 + 11) & 0xff for i in range(2048)))
    print("closed" if wait_closed(s, 5) else "open")


# The start of a TLS 1.2 ClientHello record: its header promises more.
HALF_HELLO = bytes.fromhex("160301020001000200fc03") + bytes(20)


def cmd_stall(a):
    n, secs = int(a[2]), float(a[3])
    socks = []
    for i in range(n):
        s = socket.create_connection((a[0], int(a[1])), timeout=5)
        if i % 2:
            s.sendall(HALF_HELLO)
        socks.append(s)
    print("ready", flush=True)
    end = time.monotonic() + secs
    closed = 0
    for s in socks:
        if wait_closed(s, max(0.01, end - time.monotonic())):
            closed += 1
    print(closed)


def cmd_noread(a):
    ctx = ssl.create_default_context(cafile=a[0])
    raw = socket.create_connection((a[2], int(a[3])), timeout=5)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s = ctx.wrap_socket(raw, server_hostname=a[1])
    q = make_query(1, "big.example.", 1)
    msg = struct.pack("!H", len(q)) + q
    s.setblocking(False)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            s.send(msg * int(a[4]))
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                BlockingIOError):
            time.sleep(0.05)
        except (ConnectionError, ssl.SSLError, OSError):
            print("closed")
            return
    print("open")


def cmd_proxied(a):
    mode, cafile, name, server, port, src, qname = a[:7]
    port = int(port)
    addrs = socket.inet_aton(src) + socket.inet_aton(server)
    hdr = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) +
           struct.pack("!H", 12) + addrs + struct.pack("!HH", 5353, port))
    ctx = ssl.create_default_context(cafile=cafile)
    q = make_query(4711, qname)
    try:
        with socket.create_connection((server, port), timeout=5) as s:
            if mode == "outside":
                s.sendall(hdr)
            with ctx.wrap_socket(s, server_hostname=name) as t:
                if mode == "inside":
                    t.sendall(hdr)
                t.sendall(struct.pack("!H", len(q)) + q)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    d = t.recv(65535)
                    if not d:
                        break
                    buf += d
    except (OSError, ssl.SSLError):
        print("closed")
        return
    ans = parse_answer(buf[2:]) if len(buf) > 2 else None
    print(ans[2] if ans else "closed")


def main():
    cmd = {"proxied": cmd_proxied, "serial": cmd_serial,
           "garbage": cmd_garbage, "stall": cmd_stall,
           "noread": cmd_noread}.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if cmd is None:
        print("usage: dotq.py proxied|serial|garbage|stall|noread ...",
              file=sys.stderr)
        return 2
    return cmd(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main() or 0)
