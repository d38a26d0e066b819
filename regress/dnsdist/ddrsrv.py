#!/usr/bin/python3
# Backends that answer the discovery query of RFC 9462 (the SVCB records
# of _dns.resolver.arpa) over TCP, well or badly, for t_discovery (Python
# standard library only).
#
#   ddrsrv.py READY [ADDR:]PORT=MODE...
# Listens on ADDR:PORT (127.0.0.1 by default) over TCP for each pair;
# READY is created once all listen.  Every query gets the answer MODE says:
#   garbage         twenty random bytes
#   nosvcb          NOERROR, no record
#   servfail        SERVFAIL
#   wrongid         the right answer (dot:853) under another ID
#   h3              SVCB alpn=h3 only
#   mandatory:P     SVCB alpn=dot port=P, mandatory=key65000 (unknown)
#   unknown:P       SVCB alpn=dot port=P and key65000 (not mandatory)
#   dot:P           SVCB dns.test. alpn=dot port=P
#   dot4:A:P        ... with ipv4hint=A
#   doh:P           SVCB dns.test. alpn=h2 port=P key7="/dns-query{?dns}"
#   dohnopath:P     SVCB dns.test. alpn=h2 port=P, no dohpath

import os
import socket
import struct
import sys
import threading


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def param(key, value):
    return struct.pack("!HH", key, len(value)) + value


def svcb(mode):
    kind, _, rest = mode.partition(":")
    alpn = {"h3": b"\x02h3", "doh": b"\x02h2", "dohnopath": b"\x02h2"}.get(
        kind, b"\x03dot")
    params = []
    if kind == "mandatory":
        params.append(param(0, struct.pack("!H", 65000)))
    params.append(param(1, alpn))
    if kind == "dot4":
        addr, _, rest = rest.partition(":")
    if rest:
        params.append(param(3, struct.pack("!H", int(rest))))
    if kind == "dot4":
        params.append(param(4, socket.inet_aton(addr)))
    if kind == "doh":
        params.append(param(7, b"/dns-query{?dns}"))
    if kind in ("mandatory", "unknown"):
        params.append(param(65000, b"x"))
    return struct.pack("!H", 1) + name("dns.test.") + b"".join(params)


def answer(query, mode):
    if mode == "garbage":
        return os.urandom(20)
    qid, = struct.unpack("!H", query[:2])
    end = 12
    while query[end] != 0:
        end += 1 + query[end]
    question = query[12:end + 5]
    rcode = 2 if mode == "servfail" else 0
    if mode == "wrongid":
        qid ^= 42
    head = struct.pack("!HBBHHHH", qid, 0x81, 0x80 | rcode, 1, 0, 0, 0)
    if mode in ("nosvcb", "servfail"):
        return head + question
    rdata = svcb("dot:853" if mode == "wrongid" else mode)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 64, 1, 60, len(rdata)) + rdata
    head = head[:6] + struct.pack("!H", 1) + head[8:]
    return head + question + rr


def serve(conn, mode):
    with conn:
        while True:
            hdr = conn.recv(2)
            if len(hdr) < 2:
                return
            n, = struct.unpack("!H", hdr)
            query = b""
            while len(query) < n:
                chunk = conn.recv(n - len(query))
                if not chunk:
                    return
                query += chunk
            resp = answer(query, mode)
            conn.sendall(struct.pack("!H", len(resp)) + resp)


def listen(sock, mode):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


def main():
    threads = []
    for arg in sys.argv[2:]:
        where, _, mode = arg.partition("=")
        addr, _, port = where.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((addr or "127.0.0.1", int(port)))
        sock.listen(16)
        threads.append(threading.Thread(target=listen, args=(sock, mode),
                                         daemon=True))
    for t in threads:
        t.start()
    open(sys.argv[1], "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
