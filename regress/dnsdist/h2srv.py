#!/usr/bin/env python3
"""A DNS over HTTPS backend in the clear (HTTP/2 with prior knowledge) that
misbehaves on purpose, written on raw frames with the standard library:
request headers are not decoded, only the frames' boundaries are read.

usage: h2srv.py PORT MODE
  good      answers each POST with 200 and the query made an answer
            (192.0.2.9)
  status    answers 500
  huge      answers 200 with a body of 70000 bytes
  reset     resets each stream (RST_STREAM INTERNAL_ERROR)
  goaway    sends GOAWAY (last stream 0) at the first request
  silent    never answers
  flood     at each request, sends 10000 PING frames before the
            answer, as good answers it
Serves each connection in a thread of its own until it closes; prints
"ready" once listening and "requests N" to stderr as it goes.
"""
import socket
import struct
import sys
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK, PADDED, PRIORITY = 1, 4, 1, 8, 0x20


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def answer(q):
    """The query q made an answer: QR, one A record for its question."""
    if len(q) < 12:
        return q
    a = bytearray(q)
    a[2] |= 0x80
    a[3] = 0
    a[6:8] = b"\x00\x01"
    a[8:12] = b"\x00\x00\x00\x00"
    # The question ends after its name and 4 bytes; drop the rest (OPT).
    i = 12
    while i < len(a) and a[i] != 0:
        i += a[i] + 1
    a = a[:i + 5]
    a += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x09"
    return bytes(a)


def status_block(code):
    """:status as HPACK: indexed when static (200 is 8, 500 is 14)."""
    return bytes([0x88 if code == 200 else 0x8e])


def respond(s, mode, sid, body):
    if mode == "silent":
        return
    if mode == "reset":
        s.sendall(frame(RST, 0, sid, struct.pack(">I", 2)))
        return
    if mode == "status":
        s.sendall(frame(HEADERS, END_HEADERS | END_STREAM, sid,
                        status_block(500)))
        return
    data = b"\x00" * 70000 if mode == "huge" else answer(body)
    s.sendall(frame(HEADERS, END_HEADERS, sid, status_block(200)))
    for off in range(0, len(data), 16384):
        chunk = data[off:off + 16384]
        last = off + 16384 >= len(data)
        s.sendall(frame(DATA, END_STREAM if last else 0, sid, chunk))


COUNT = [0]
LOCK = threading.Lock()


def serve(c, mode):
    if recvn(c, len(PREFACE)) != PREFACE:
        return
    # A window large enough for bodies past a DNS message.
    c.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 1 << 20)))
    c.sendall(frame(WINUP, 0, 0, struct.pack(">I", 1 << 24)))
    bodies = {}
    while True:
        hdr = recvn(c, 9)
        n = struct.unpack(">I", b"\x00" + hdr[:3])[0]
        ftype, flags = hdr[3], hdr[4]
        sid = struct.unpack(">I", hdr[5:9])[0] & 0x7fffffff
        payload = recvn(c, n)
        if ftype == SETTINGS and not flags & ACK:
            c.sendall(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            c.sendall(frame(PING, ACK, 0, payload))
        elif ftype in (HEADERS, DATA):
            if ftype == DATA:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                bodies[sid] = bodies.get(sid, b"") + payload
                c.sendall(frame(WINUP, 0, 0, struct.pack(">I", n)) +
                          frame(WINUP, 0, sid, struct.pack(">I", n)))
            if flags & END_STREAM:
                with LOCK:
                    COUNT[0] += 1
                    print("requests %d" % COUNT[0], file=sys.stderr,
                          flush=True)
                if mode == "flood":
                    c.sendall(b"".join(frame(PING, 0, 0, b"12345678")
                                       for _ in range(10000)))
                if mode == "goaway":
                    c.sendall(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
                    return
                respond(c, mode, sid, bodies.pop(sid, b""))


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c, mode), daemon=True).start()


def one(c, mode):
    try:
        serve(c, mode)
    except (EOFError, OSError):
        pass
    c.close()


if __name__ == "__main__":
    main()
