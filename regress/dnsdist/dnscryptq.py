#!/usr/bin/python3
# A small DNSCrypt v2 client for the tests (Python's standard library, and
# libsodium through ctypes).  PK is the provider's public key file.
#
#   dnscryptq.py certs PORT PROVIDER PK
#	Asks for the certificates (TXT PROVIDER in plain DNS), checks each
#	signature and prints "SERIAL ES-VERSION" for each; exits 1 on a bad
#	signature or no answer.
#   dnscryptq.py query [-T] [-q QTYPE] [-p PAYLOAD] [-n COUNT] [-s SERIAL]
#	[-c CERTFILE] PORT PROVIDER PK NAME
#	Sends COUNT encrypted queries (over TCP with -T; with an OPT record
#	of PAYLOAD with -p) with the certificate of the highest serial (or
#	SERIAL, or the one in CERTFILE) and prints for each "NAME ANSWER LEN": ANSWER as dnsq.py
#	prints it, LEN the plain answer's length; "timeout" when none came.
#   dnscryptq.py hostile PORT PROVIDER PK NAME
#	Sends what the server must drop and prints "CASE answered|dropped":
#	short (an encrypted query under 256 bytes), garbled (a flipped
#	byte), magic (an unknown client magic), padding (no 0x80 byte), tcp
#	(the garbled one over TCP), and replay (the same valid query twice:
#	how many answers).
#   dnscryptq.py load [-d SECS] [-w WINDOW] PORT PROVIDER PK NAME
#	Keeps WINDOW encrypted UDP queries in flight for SECS seconds and
#	prints "QUERIES ANSWERS SECS".

import ctypes
import ctypes.util
import getopt
import os
import select
import socket
import struct
import sys
import time

from dnsq import make_query, parse_answer, skip_name

_lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_lib.sodium_init()
RESOLVER_MAGIC = b"r6fnvWj8"
TIMEOUT = 2.0


def _box(es):
    if es == 2:
        return (_lib.crypto_box_curve25519xchacha20poly1305_easy,
                _lib.crypto_box_curve25519xchacha20poly1305_open_easy)
    return _lib.crypto_box_easy, _lib.crypto_box_open_easy


def seal(es, msg, nonce, pk, sk):
    out = ctypes.create_string_buffer(len(msg) + 16)
    if _box(es)[0](out, msg, ctypes.c_ulonglong(len(msg)), nonce, pk, sk):
        raise ValueError("encryption failed")
    return out.raw


def unseal(es, box, nonce, pk, sk):
    out = ctypes.create_string_buffer(max(len(box) - 16, 1))
    if len(box) < 16 or _box(es)[1](out, box, ctypes.c_ulonglong(len(box)),
                                   nonce, pk, sk):
        return None
    return out.raw[:len(box) - 16]


def randbytes(n):
    return os.urandom(n)


class Cert:
    def __init__(self, raw, ppk):
        if len(raw) != 124 or raw[:4] != b"DNSC":
            raise ValueError("not a certificate")
        msg = ctypes.create_string_buffer(116)
        mlen = ctypes.c_ulonglong()
        if _lib.crypto_sign_open(msg, ctypes.byref(mlen), raw[8:], 
                                 ctypes.c_ulonglong(116), ppk):
            raise ValueError("bad signature")
        self.es = raw[5]
        self.pk = raw[72:104]
        self.magic = raw[104:112]
        self.serial, self.start, self.end = struct.unpack("!III", raw[112:])


def exchange(port, data, tcp):
    if tcp:
        s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        s.sendall(struct.pack("!H", len(data)) + data)
        buf = b""
        try:
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(
                    "!H", buf[:2])[0]:
                got = s.recv(65536)
                if not got:
                    return None
                buf += got
        except socket.timeout:
            return None
        finally:
            s.close()
        return buf[2:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(data, ("127.0.0.1", port))
    try:
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def get_certs(port, provider, ppk):
    ans = exchange(port, make_query(4242, provider, 16), False)
    if ans is None:
        raise ValueError("no answer to the certificate query")
    an = struct.unpack("!H", ans[6:8])[0]
    off = skip_name(ans, 12) + 4
    certs = []
    for _ in range(an):
        off = skip_name(ans, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", ans[off:off + 10])
        off += 10
        if rtype == 16:
            certs.append(Cert(ans[off + 1:off + 1 + ans[off]], ppk))
        off += rdlen
    return certs


class Client:
    def __init__(self, port, provider, ppk, serial=None, certfile=None):
        if certfile is not None:
            with open(certfile, "rb") as f:
                certs = [Cert(f.read(), ppk)]
        else:
            certs = get_certs(port, provider, ppk)
        if serial is not None:
            certs = [c for c in certs if c.serial == serial]
        if not certs:
            raise ValueError("no certificate")
        self.cert = max(certs, key=lambda c: c.serial)
        self.port = port
        self.pk = ctypes.create_string_buffer(32)
        self.sk = ctypes.create_string_buffer(32)
        _lib.crypto_box_keypair(self.pk, self.sk)

    def encrypt(self, query, tcp, padbyte=b"\x80"):
        nonce = randbytes(12)
        plain = query + padbyte
        plain += b"\x00" * (-len(plain) % 64)
        if not tcp and 52 + 16 + len(plain) < 256:
            plain += b"\x00" * (256 - 52 - 16 - len(plain))
        box = seal(self.cert.es, plain, nonce + b"\x00" * 12,
                   self.cert.pk, self.sk.raw)
        return nonce, self.cert.magic + self.pk.raw + nonce + box

    def decrypt(self, nonce, ans):
        if ans is None or ans[:8] != RESOLVER_MAGIC or ans[8:20] != nonce:
            return None
        plain = unseal(self.cert.es, ans[32:], ans[8:32], self.cert.pk,
                       self.sk.raw)
        if plain is None:
            return None
        plain = plain.rstrip(b"\x00")
        return plain[:-1] if plain.endswith(b"\x80") else None

    def ask(self, query, tcp):
        nonce, data = self.encrypt(query, tcp)
        return self.decrypt(nonce, exchange(self.port, data, tcp))


def with_opt(query, payload):
    q = bytearray(query)
    q[11] = 1
    return bytes(q) + b"\x00" + struct.pack("!HHIH", 41, payload, 0, 0)


def read_pk(path):
    with open(path, "rb") as f:
        return f.read(32)


def cmd_certs(args):
    port, provider, pkf = int(args[0]), args[1], args[2]
    for c in get_certs(port, provider, read_pk(pkf)):
        print(c.serial, c.es)


def cmd_query(args):
    opts, args = getopt.getopt(args, "Tq:p:n:s:c:")
    tcp, qtype, payload, count, serial, cf = False, 1, 0, 1, None, None
    for o, v in opts:
        if o == "-T":
            tcp = True
        elif o == "-q":
            qtype = int(v)
        elif o == "-p":
            payload = int(v)
        elif o == "-n":
            count = int(v)
        elif o == "-s":
            serial = int(v)
        elif o == "-c":
            cf = v
    port, provider, pkf, name = int(args[0]), args[1], args[2], args[3]
    cl = Client(port, provider, read_pk(pkf), serial, cf)
    for i in range(count):
        q = make_query(i + 1, name, qtype)
        if payload:
            q = with_opt(q, payload)
        plain = cl.ask(q, tcp)
        if plain is None:
            print(name, "timeout", 0)
            continue
        r = parse_answer(plain)
        print(name, r[2] if r else "garbage", len(plain))


def cmd_hostile(args):
    port, provider, pkf, name = int(args[0]), args[1], args[2], args[3]
    cl = Client(port, provider, read_pk(pkf))
    q = make_query(77, name)
    _, data = cl.encrypt(q, True)       # no UDP minimum: 128 bytes
    cases = [("short", data)]
    _, data = cl.encrypt(q, False)
    bad = bytearray(data)
    bad[100] ^= 0x40
    cases.append(("garbled", bytes(bad)))
    cases.append(("magic", b"\x01" * 8 + data[8:]))
    _, nopad = cl.encrypt(q, False, padbyte=b"\x00")
    cases.append(("padding", nopad))
    for what, d in cases:
        print(what, "answered" if exchange(port, d, False) else "dropped")
    print("tcp", "answered" if exchange(port, bytes(bad), True) else
          "dropped")
    n = sum(1 for _ in range(2) if exchange(port, data, False) is not None)
    print("replay", n)


def cmd_load(args):
    opts, args = getopt.getopt(args, "d:w:")
    secs, window = 5.0, 20
    for o, v in opts:
        if o == "-d":
            secs = float(v)
        elif o == "-w":
            window = int(v)
    port, provider, pkf, name = int(args[0]), args[1], args[2], args[3]
    cl = Client(port, provider, read_pk(pkf))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    # A few prepared queries, sent again and again: the server decrypts
    # each anyway, and the client's time goes to decrypting answers.
    pending, sent, answered = 0, 0, 0
    start = time.monotonic()
    end = start + secs
    nonce, data = cl.encrypt(make_query(1, name), False)
    while time.monotonic() < end:
        while pending < window:
            s.send(data)
            sent += 1
            pending += 1
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            pending = 0             # lost: send a new window
            continue
        while True:
            try:
                ans = s.recv(65535)
            except BlockingIOError:
                break
            pending -= 1
            if cl.decrypt(nonce, ans) is not None:
                answered += 1
    print(sent, answered, "%.2f" % (time.monotonic() - start))


def main():
    cmds = {"certs": cmd_certs, "query": cmd_query, "hostile": cmd_hostile,
            "load": cmd_load}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: dnscryptq.py certs|query|hostile|load ...")
    try:
        cmds[sys.argv[1]](sys.argv[2:])
    except ValueError as e:
        sys.exit("dnscryptq.py: %s" % e)


if __name__ == "__main__":
    main()
