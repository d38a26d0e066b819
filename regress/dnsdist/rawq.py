#!/usr/bin/python3
# A backend that writes down each query it gets, byte for byte, for the
# end-to-end tests that check what the daemon sends (standard library only).
#
#   rawq.py PORT LOG READY
# Listens on 127.0.0.1:PORT over UDP and TCP.  LOG gets a line per query:
# "udp" or "tcp", then the message in hex.  Each query is answered with its
# own header and question, QR set, no records (NOERROR).  READY is created
# once both sockets listen.

import socket
import struct
import sys
import threading

lock = threading.Lock()


def answer(q):
    """The question of q, answered empty; None when q is too short."""
    if len(q) < 12:
        return None
    off = 12
    while off < len(q) and q[off] != 0:
        off += 1 + q[off]
    off += 5
    if off > len(q):
        return None
    flags = struct.unpack("!H", q[2:4])[0] | 0x8000
    return q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:off]


def note(log, kind, q):
    with lock, open(log, "a") as f:
        f.write("%s %s\n" % (kind, q.hex()))


def serve_udp(s, log):
    while True:
        q, peer = s.recvfrom(65535)
        note(log, "udp", q)
        a = answer(q)
        if a is not None:
            s.sendto(a, peer)


def serve_conn(c, log):
    buf = b""
    with c:
        while True:
            d = c.recv(65535)
            if not d:
                return
            buf += d
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(
                    "!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                q, buf = buf[2:2 + n], buf[2 + n:]
                note(log, "tcp", q)
                a = answer(q)
                if a is not None:
                    c.sendall(struct.pack("!H", len(a)) + a)


def main():
    port, log, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(16)
    threading.Thread(target=serve_udp, args=(u, log), daemon=True).start()
    open(ready, "w").close()
    while True:
        c, _ = t.accept()
        threading.Thread(target=serve_conn, args=(c, log),
                         daemon=True).start()


if __name__ == "__main__":
    main()
