#!/usr/bin/python3
# HTTP client for the web server tests: plain sockets, so that requests can
# be well-formed or not, and a strict reading of /metrics.
#
#   webq.py [-b SRC] [-u PASSWORD] [-k APIKEY] [-m METHOD] MODE PORT [ARGS]
#
#   get PATH	One request; prints the status code, then the body.
#   head PATH	One request; prints the status line and the headers.
#   metrics	GET /metrics, parsed with prometheus_client's text parser
#		and checked further: every family has a TYPE line before
#		its samples (no "untyped"), no family or series twice, the
#		histogram's buckets grow and end with +Inf = count.  Prints
#		one line per sample, "name{k="v",...} value", labels sorted,
#		values as integers when they are.
#   json PATH EXPR
#		GET PATH, parse the body as JSON into d and print the value
#		of the Python expression EXPR.
#   keepalive PATH N
#		N requests on one connection, the next written only after
#		the previous answer; prints each status, then "open" when
#		the connection is still open after the last.
#   pipeline PATH N
#		N requests written at once on one connection; prints each
#		status.
#   raw TEXT	Writes TEXT (Python escapes allowed) and prints the status
#		code of the answer, or "closed" when the connection closes
#		without one.
#   hold N	Opens N connections without sending, then waits for SECS
#		(-t, default 3) seconds.  Prints "ready" once they are
#		open and the answer of each connection that got one
#		("503" or "closed") at the end.
#
# Exits 1 when the server closes a connection or answers garbage where an
# answer was expected.

import base64
import codecs
import getopt
import json
import socket
import sys
import time

TIMEOUT = 5


def connect(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def request(method, path, password, apikey, extra=""):
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    if password is not None:
        cred = base64.b64encode(b"anyuser:" + password.encode()).decode()
        head += "Authorization: Basic %s\r\n" % cred
    if apikey is not None:
        head += "X-API-Key: %s\r\n" % apikey
    return (head + extra + "\r\n").encode()


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def response(self):
        """(status, headers dict, body) or None when closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                if self.buf:
                    raise ValueError("truncated head: %r" % self.buf)
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("ascii").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1":
            raise ValueError("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(self.buf) < length:
            if not self.fill():
                raise ValueError("truncated body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(parts[1]), headers, lines, body

    def closed(self):
        try:
            return not self.fill()
        except (ConnectionResetError, socket.timeout):
            return True


def fetch(port, src, method, path, password, apikey):
    s = connect(port, src)
    try:
        s.sendall(request(method, path, password, apikey))
        r = Reader(s).response()
    except (ConnectionResetError, BrokenPipeError):
        r = None
    s.close()
    if r is None:
        sys.exit("connection closed without an answer")
    return r


def fmt_value(v):
    return str(int(v)) if v == int(v) else repr(v)


def strict_metrics(text):
    from prometheus_client.parser import text_string_to_metric_families
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            if name in typed:
                raise ValueError("TYPE twice: %s" % name)
            typed.add(name)
    out = []
    seen_fam = set()
    seen_series = set()
    for fam in text_string_to_metric_families(text):
        if fam.type == "untyped" or fam.name in seen_fam:
            raise ValueError("family %s: %s or repeated" % (fam.name,
                                                         fam.type))
        if fam.name not in typed:
            raise ValueError("family %s without TYPE" % fam.name)
        seen_fam.add(fam.name)
        for s in fam.samples:
            labels = ",".join('%s="%s"' % (k, s.labels[k].replace(
                "\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
                for k in sorted(s.labels))
            key = "%s{%s}" % (s.name, labels)
            if key in seen_series:
                raise ValueError("series twice: %s" % key)
            seen_series.add(key)
            out.append("%s %s" % (key, fmt_value(s.value)))
        if fam.type == "histogram":
            buckets = [s for s in fam.samples if s.name.endswith("_bucket")]
            values = [s.value for s in buckets]
            count = [s.value for s in fam.samples
                     if s.name.endswith("_count")]
            if (values != sorted(values) or buckets[-1].labels["le"] !=
                    "+Inf" or count != [values[-1]]):
                raise ValueError("bad histogram %s" % fam.name)
    return out


def main():
    opts, args = getopt.getopt(sys.argv[1:], "b:k:m:t:u:")
    src = password = apikey = None
    method = "GET"
    secs = 3.0
    for o, a in opts:
        if o == "-b":
            src = a
        elif o == "-k":
            apikey = a
        elif o == "-m":
            method = a
        elif o == "-t":
            secs = float(a)
        elif o == "-u":
            password = a
    mode, port = args[0], int(args[1])
    if mode == "get":
        status, _, _, body = fetch(port, src, method, args[2], password,
                                   apikey)
        print(status)
        sys.stdout.write(body.decode("utf-8"))
        print()
    elif mode == "head":
        _, _, lines, _ = fetch(port, src, method, args[2], password, apikey)
        print("\n".join(lines))
    elif mode == "metrics":
        status, headers, _, body = fetch(port, src, "GET", "/metrics",
                                         password, apikey)
        if status != 200:
            sys.exit("status %d" % status)
        if not headers["content-type"].startswith("text/plain"):
            sys.exit("content type %s" % headers["content-type"])
        for line in strict_metrics(body.decode("utf-8")):
            print(line)
    elif mode == "json":
        status, _, _, body = fetch(port, src, "GET", args[2], password,
                                   apikey)
        if status != 200:
            sys.exit("status %d" % status)
        d = json.loads(body.decode("ascii"))
        print(eval(args[3], {"d": d}))
    elif mode in ("keepalive", "pipeline"):
        n = int(args[3])
        s = connect(port, src)
        r = Reader(s)
        req = request(method, args[2], password, apikey)
        if mode == "pipeline":
            s.sendall(req * n)
        for _ in range(n):
            if mode == "keepalive":
                s.sendall(req)
            resp = r.response()
            if resp is None:
                sys.exit("closed")
            print(resp[0])
        if mode == "keepalive":
            s.settimeout(0.5)
            try:
                print("closed" if not s.recv(1) else "data")
            except socket.timeout:
                print("open")
        s.close()
    elif mode == "raw":
        s = connect(port, src)
        text = codecs.decode(args[2], "unicode_escape").encode("latin-1")
        try:
            s.sendall(text)
            resp = Reader(s).response()
        except (ConnectionResetError, BrokenPipeError):
            resp = None
        print("closed" if resp is None else resp[0])
    elif mode == "hold":
        n = int(args[2])
        conns = [connect(port, src) for _ in range(n)]
        print("ready", flush=True)
        time.sleep(secs)
        for s in conns:
            s.settimeout(0.2)
            try:
                resp = Reader(s).response()
                print("closed" if resp is None else resp[0])
            except socket.timeout:
                print("open")
            except ConnectionResetError:
                print("closed")
    else:
        sys.exit("unknown mode %s" % mode)


if __name__ == "__main__":
    main()
