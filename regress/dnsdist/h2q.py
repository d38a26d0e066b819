#!/usr/bin/env python3
"""A small HTTP/2 client (prior knowledge, cleartext) for DNS over HTTPS
tests, written on raw frames with the standard library only: header blocks
are sent as HPACK literals, and answers are told apart by their bodies (a
DNS message with the query's ID is a 200 answer; anything else an error).

usage: h2q.py b64 NAME [TYPE]  the base64url of a query for NAME A (or
                               TYPE, a number), without EDNS
       h2q.py decode FILE   rcode= and the A addresses (and TXT
                            strings) of an answer
       h2q.py PORT MODE [N]
  query N        N GET and N POST queries on one connection
  badb64         a GET with bad base64, then a good one, one connection
  bigbody        a POST of 70000 bytes, then a good one
  rapidreset N   N streams opened and reset at once
  settings N     N SETTINGS frames, not reading the acknowledgements
  ping N         N PING frames, the same
  continuation N HEADERS then up to N CONTINUATION frames
  hugeheader     one header field of 100000 bytes
Prints key=value lines; exits 0 unless the connection could not be made.
"""
import base64
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(ftype, flags, sid, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags,
                       sid) + payload


def hpack_int(value, prefix, first=0):
    top = (1 << prefix) - 1
    if value < top:
        return bytes([first | value])
    out = [first | top]
    value -= top
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack(headers):
    out = b""
    for name, value in headers:
        name, value = name.encode(), value.encode()
        out += b"\x00" + hpack_int(len(name), 7) + name
        out += hpack_int(len(value), 7) + value
    return out


def dns_query(qid, name="www.example.", qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        self.buf = b""
        self.bodies = {}
        self.ended = set()
        self.status200 = set()
        self.resets = set()
        self.goaway = False
        self.eof = False
        self.window = 65535
        self.swindow = {}
        self.next_id = 1

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError:
            self.eof = True
            return False

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(
                self.buf[:3], "big"):
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                d = b""
            if not d:
                self.eof = True
                return None
            self.buf += d
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags, sid = self.buf[3], self.buf[4], struct.unpack(
            ">I", self.buf[5:9])[0] & 0x7FFFFFFF
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        if ftype == SETTINGS and not flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == HEADERS and payload[:1] == b"\x88":
            self.status200.add(sid)
        elif ftype == DATA:
            self.bodies[sid] = self.bodies.get(sid, b"") + payload
        elif ftype == RST:
            self.resets.add(sid)
        elif ftype == GOAWAY:
            self.goaway = True
        elif ftype == WINUP:
            inc = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
            if sid == 0:
                self.window += inc
            else:
                self.swindow[sid] = self.swindow.get(sid, 65535) + inc
        if ftype in (DATA, HEADERS) and flags & END_STREAM:
            self.ended.add(sid)
        return ftype

    def request(self, method, path, body=None, extra=()):
        sid = self.next_id
        self.next_id += 2
        hdrs = [(":method", method), (":scheme", "http"),
                (":authority", "127.0.0.1"), (":path", path)]
        if body is not None:
            hdrs += [("content-type", "application/dns-message")]
        hdrs += list(extra)
        self.send(frame(HEADERS, END_HEADERS |
                        (END_STREAM if body is None else 0), sid,
                        hpack(hdrs)))
        if body is not None:
            self.send_body(sid, body)
        return sid

    def send_body(self, sid, body):
        off = 0
        self.swindow.setdefault(sid, 65535)
        while off < len(body) and not self.eof:
            n = min(16384, len(body) - off, self.window, self.swindow[sid])
            if n <= 0:
                if self.read_frame() is None:
                    return
                continue
            self.window -= n
            self.swindow[sid] -= n
            last = off + n == len(body)
            self.send(frame(DATA, END_STREAM if last else 0, sid,
                            body[off:off + n]))
            off += n

    def wait(self, sids, seconds=5):
        end = time.time() + seconds
        while time.time() < end and not self.eof and \
                not set(sids) <= self.ended | self.resets:
            self.read_frame()

    def answered(self, sid, qid):
        b = self.bodies.get(sid, b"")
        return sid in self.status200 and len(b) >= 12 and \
            struct.unpack(">H", b[:2])[0] == qid and b[2] & 0x80

    def closed(self, seconds=5):
        """True once the server closed the connection (EOF or GOAWAY)."""
        end = time.time() + seconds
        while time.time() < end and not self.eof and not self.goaway:
            self.read_frame()
        return self.eof or self.goaway


def b64(q):
    return base64.urlsafe_b64encode(q).decode().rstrip("=")


def decode(path):
    """Print the rcode and the A records of a DNS message."""
    m = open(path, "rb").read()
    if len(m) < 12:
        print("not a DNS message")
        return
    qd, an = struct.unpack(">HH", m[4:8])
    print("rcode=%d" % (m[3] & 15))
    off = 12
    for i in range(qd + an):
        while m[off] != 0 and m[off] < 0xC0:
            off += m[off] + 1
        off += 2 if m[off] >= 0xC0 else 1
        if i < qd:
            off += 4
            continue
        rtype, _, _, rdlen = struct.unpack(">HHIH", m[off:off + 10])
        off += 10
        if rtype == 1:
            print(".".join(str(b) for b in m[off:off + 4]))
        elif rtype == 16:
            print(m[off + 1:off + 1 + m[off]].decode())
        off += rdlen


def main():
    if sys.argv[1] == "b64":
        print(b64(dns_query(0, sys.argv[2],
                            int(sys.argv[3]) if len(sys.argv) > 3 else 1)))
        return
    if sys.argv[1] == "decode":
        decode(sys.argv[2])
        return
    port, mode = int(sys.argv[1]), sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    c = Conn(port)
    if mode == "query":
        want = {}
        for i in range(n):
            want[c.request("GET", "/dns-query?dns=" + b64(dns_query(i)))] = i
            want[c.request("POST", "/dns-query",
                           dns_query(1000 + i))] = 1000 + i
        c.wait(want)
        print("answers=%d" % sum(1 for s, q in want.items()
                                 if c.answered(s, q)))
    elif mode in ("badb64", "bigbody"):
        if mode == "badb64":
            bad = c.request("GET", "/dns-query?dns=!!notbase64!!")
        else:
            bad = c.request("POST", "/dns-query", b"\0" * 70000)
        good = c.request("GET", "/dns-query?dns=" + b64(dns_query(7)))
        c.wait([bad, good])
        print("bad_answered=%d" % (1 if c.answered(bad, 0) else 0))
        print("bad_ended=%d" % (1 if bad in c.ended else 0))
        print("good_answered=%d" % (1 if c.answered(good, 7) else 0))
    elif mode == "rapidreset":
        sent = 0
        for i in range(n):
            sid = c.request("GET", "/dns-query?dns=" + b64(dns_query(i)))
            if not c.send(frame(RST, 0, sid, struct.pack(">I", 8))):
                break
            sent += 1
        print("sent=%d" % sent)
        print("closed=%d" % (1 if c.closed() else 0))
    elif mode in ("settings", "ping"):
        sent = 0
        c.s.settimeout(10)
        for i in range(n):
            f = frame(SETTINGS, 0, 0) if mode == "settings" else \
                frame(PING, 0, 0, struct.pack(">Q", i))
            if not c.send(f * 100):
                break
            sent += 100
        print("sent=%d" % sent)
        # Drain what is queued: the close must come, not a hang.
        c.s.settimeout(2)
        end = time.time() + 20
        while time.time() < end and not c.eof and not c.goaway:
            c.read_frame()
        print("closed=%d" % (1 if c.eof or c.goaway else 0))
    elif mode == "continuation":
        sid = 1
        first = hpack([(":method", "GET"), (":scheme", "http"),
                       (":authority", "127.0.0.1"), (":path", "/dns-query")])
        sent = 0
        if c.send(frame(HEADERS, END_STREAM, sid, first)):
            for i in range(n):
                if not c.send(frame(CONT, 0, sid,
                                    hpack([("x-pad%d" % i, "a" * 1000)]))):
                    break
                sent += 1
        print("sent=%d" % sent)
        print("closed=%d" % (1 if c.closed() else 0))
    elif mode == "hugeheader":
        block = hpack([(":method", "GET"), (":scheme", "http"),
                       (":authority", "127.0.0.1"), (":path", "/dns-query"),
                       ("x-huge", "a" * 100000)])
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        c.send(frame(HEADERS, END_STREAM, 1, chunks[0]))
        for i, ch in enumerate(chunks[1:], 1):
            c.send(frame(CONT, END_HEADERS if i == len(chunks) - 1 else 0,
                         1, ch))
        print("closed=%d" % (1 if c.closed() else 0))
        print("answered=%d" % (1 if c.answered(1, 0) else 0))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
