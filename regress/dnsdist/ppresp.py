#!/usr/bin/python3
# A backend that takes the PROXY protocol (v2), for the end-to-end tests
# (Python standard library only).
#
#   ppresp.py PORT LOG READY
# Listens on 127.0.0.1:PORT over UDP and TCP.  Every datagram and every TCP
# connection must start with a header; each query is answered with an A
# record holding the source address the header names (0.0.0.0 for a LOCAL
# header or an IPv6 one).  LOG gets a line per header, written before the
# answer: "udp" or "tcp" (a connection), then "local", or "src=ADDR:PORT
# dst=ADDR:PORT proto=tcp|udp" and "T=VALUE" for each TLV in the order
# they came.  A datagram or a connection without a valid header gets no
# answer ("bad" in LOG).  READY is created once both sockets listen.

import ipaddress
import os
import socket
import struct
import sys
import threading

SIG = b"\r\n\r\n\0\r\nQUIT\n"
lock = threading.Lock()


def parse(data):
    """(length, description, source IPv4 or None), or None when invalid."""
    if len(data) < 16 or data[:12] != SIG or data[12] >> 4 != 2:
        return None
    total = 16 + struct.unpack("!H", data[14:16])[0]
    if len(data) < total:
        return None
    if data[12] & 0xF == 0:
        return total, "local", None
    fam, proto = data[13] >> 4, data[13] & 0xF
    alen = {1: 4, 2: 16}.get(fam)
    if alen is None or proto not in (1, 2):
        return None
    a = data[16:16 + 2 * alen + 4]
    src = ipaddress.ip_address(a[:alen])
    dst = ipaddress.ip_address(a[alen:2 * alen])
    sp, dp = struct.unpack("!HH", a[2 * alen:])
    desc = "src=%s:%d dst=%s:%d proto=%s" % (src, sp, dst, dp,
                                             "tcp" if proto == 1 else "udp")
    off = 16 + 2 * alen + 4
    while off < total:
        if total - off < 3:
            return None
        t, n = data[off], struct.unpack("!H", data[off + 1:off + 3])[0]
        if off + 3 + n > total:
            return None
        desc += " %d=%s" % (t, data[off + 3:off + 3 + n].decode("latin-1"))
        off += 3 + n
    return total, desc, (str(src) if fam == 1 else None)


def log(path, line):
    with lock, open(path, "a") as f:
        f.write(line + "\n")


def answer(q, addr):
    """The answer to query q: its question and one A record of addr."""
    off = 12
    while off < len(q) and q[off] != 0:
        off += 1 + q[off]
    off += 5
    if len(q) < off:
        return None
    flags = struct.unpack("!H", q[2:4])[0] | 0x8400
    return (q[:2] + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + q[12:off] +
            b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) +
            socket.inet_aton(addr or "0.0.0.0"))


def udp(sock, path):
    while True:
        data, peer = sock.recvfrom(65535)
        p = parse(data)
        if p is None:
            log(path, "udp bad")
            continue
        log(path, "udp " + p[1])
        a = answer(data[p[0]:], p[2])
        if a is not None:
            sock.sendto(a, peer)


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


def tcp_conn(c, path):
    with c:
        c.settimeout(10)
        try:
            head = recv_exact(c, 16)
            if head is None:
                return
            rest = b""
            if head[:12] == SIG:
                rest = recv_exact(c, struct.unpack("!H", head[14:16])[0])
            p = parse(head + (rest or b""))
            if p is None:
                log(path, "tcp bad")
                return
            log(path, "tcp " + p[1])
            while True:
                ln = recv_exact(c, 2)
                if ln is None:
                    return
                q = recv_exact(c, struct.unpack("!H", ln)[0])
                if q is None:
                    return
                a = answer(q, p[2])
                if a is not None:
                    c.sendall(struct.pack("!H", len(a)) + a)
        except OSError:
            return


def tcp(sock, path):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=tcp_conn, args=(c, path), daemon=True).start()


def main():
    port, path, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(64)
    threading.Thread(target=udp, args=(u, path), daemon=True).start()
    open(ready, "w").close()
    tcp(t, path)


if __name__ == "__main__":
    sys.exit(main())
