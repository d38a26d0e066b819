#!/usr/bin/python3
# Console protocol client for the end-to-end tests: well-behaved and
# hostile.  Python standard library plus libsodium through ctypes.
#
#   ctlq.py [-b SRC] [-t SECS] MODE PORT KEY [ARGS...]
#
#   cmd CMD...	One connection, no empty key-check message: each CMD is
#		sent and its answer printed as "> CMD" then the answer.
#		Exits 1 when the server closes the connection.
#   hello	Sends a nonce; prints "nonce" when the server answers with
#		its own, "closed" when it closes the connection.
#   garbage	After the nonces, a frame of random bytes; prints "closed"
#		when the server closes the connection, "open" otherwise.
#   huge	After the nonces, a length prefix of 0xffffffff; the same.
#   replay CMD	Records a session that runs CMD, then plays the client's
#		bytes back on a new connection; the same.
#   slow	Sends half a nonce and waits; prints "closed" and the
#		seconds it took when the server closes the connection, or
#		"open" after SECS.
#   hold N	Opens N connections at once (nonces only), prints "nonce"
#		or "closed" for each, then keeps them for SECS.
#
# KEY is the base64 console key.  SECS defaults to 2.

import base64
import ctypes
import ctypes.util
import getopt
import os
import socket
import struct
import sys
import time

_lib = ctypes.util.find_library("sodium")
sodium = ctypes.CDLL(_lib or "libsodium.so.23")
if sodium.sodium_init() < 0:
    sys.exit("libsodium initialisation failed")

MAC = 16


def seal(msg, nonce, key):
    out = ctypes.create_string_buffer(len(msg) + MAC)
    sodium.crypto_secretbox_easy(out, msg, ctypes.c_ulonglong(len(msg)),
                                 nonce, key)
    return out.raw


def unseal(box, nonce, key):
    if len(box) < MAC:
        return None
    out = ctypes.create_string_buffer(len(box) - MAC + 1)
    if sodium.crypto_secretbox_open_easy(out, box, ctypes.c_ulonglong(len(box)),
                                         nonce, key) != 0:
        return None
    return out.raw[:len(box) - MAC]


def nonce_next(nonce):
    n = (struct.unpack("!I", nonce[:4])[0] + 1) & 0xffffffff
    return struct.pack("!I", n) + nonce[4:]


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except (ConnectionResetError, socket.timeout):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


class Session:
    def __init__(self, port, key, src, timeout):
        self.key = key
        self.sent = b""
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))

    def send(self, data):
        self.sent += data
        self.s.sendall(data)

    def hello(self):
        ours = os.urandom(24)
        self.send(ours)
        theirs = read_exact(self.s, 24)
        if theirs is None:
            return False
        self.wnonce = theirs[:12] + ours[12:]
        self.rnonce = ours[:12] + theirs[12:]
        return True

    def command(self, cmd):
        box = seal(cmd.encode(), self.wnonce, self.key)
        self.wnonce = nonce_next(self.wnonce)
        self.send(struct.pack("!I", len(box)) + box)
        hdr = read_exact(self.s, 4)
        if hdr is None:
            return None
        box = read_exact(self.s, struct.unpack("!I", hdr)[0])
        if box is None:
            return None
        text = unseal(box, self.rnonce, self.key)
        self.rnonce = nonce_next(self.rnonce)
        return text

    def closed(self):
        """True when the server closes the connection (within the timeout)."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def main():
    opts, args = getopt.getopt(sys.argv[1:], "b:t:")
    src, secs = None, 2.0
    for o, v in opts:
        if o == "-b":
            src = v
        elif o == "-t":
            secs = float(v)
    if len(args) < 3:
        sys.exit("usage: ctlq.py [-b SRC] [-t SECS] MODE PORT KEY [ARGS...]")
    mode, port, key = args[0], int(args[1]), base64.b64decode(args[2])
    rest = args[3:]

    if mode == "cmd":
        s = Session(port, key, src, secs)
        if not s.hello():
            print("closed")
            sys.exit(1)
        for cmd in rest:
            text = s.command(cmd)
            if text is None:
                print("closed")
                sys.exit(1)
            sys.stdout.write("> %s\n%s" % (cmd, text.decode()))
    elif mode == "hello":
        s = Session(port, key, src, secs)
        print("nonce" if s.hello() else "closed")
    elif mode in ("garbage", "huge"):
        s = Session(port, key, src, secs)
        if not s.hello():
            print("closed")
            return
        if mode == "garbage":
            s.send(struct.pack("!I", 64) + os.urandom(64))
        else:
            s.send(b"\xff\xff\xff\xff" + os.urandom(1024))
        print("closed" if s.closed() else "open")
    elif mode == "replay":
        s = Session(port, key, src, secs)
        if not s.hello() or s.command(rest[0]) is None:
            sys.exit("the recorded session failed")
        recorded = s.sent
        s.s.close()
        r = Session(port, key, src, secs)
        r.send(recorded)
        read_exact(r.s, 24)		# the server's new nonce
        print("closed" if r.closed() else "open")
    elif mode == "slow":
        s = Session(port, key, src, secs)
        start = time.monotonic()
        s.send(os.urandom(12))
        if s.closed():
            print("closed %d" % round(time.monotonic() - start))
        else:
            print("open")
    elif mode == "hold":
        sessions = []
        for _ in range(int(rest[0])):
            s = Session(port, key, src, secs)
            s.send(os.urandom(24))
            sessions.append(s)
        for s in sessions:
            print("closed" if read_exact(s.s, 24) is None else "nonce")
        sys.stdout.flush()
        time.sleep(secs)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
