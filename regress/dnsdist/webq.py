#!/usr/bin/python3
# HTTP client for the web server tests: plain sockets, so that requests can
# be well-formed or not, and a strict reading of /metrics.
#
#   webq.py [-b SRC] [-s SERVER] [-u PASSWORD] [-k APIKEY] [-m METHOD]
#	MODE PORT [ARGS]
#
#   The server is SERVER (an IPv4 or IPv6 address), 127.0.0.1 by default.
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
#   flood PATH CONNS REQS [ROUNDS]
#		CONNS connections at once, each writing REQS requests for
#		PATH without waiting for answers (with -u and -k as given)
#		and reading the answers as they come; a connection done
#		(all answered, or closed) is opened again until each has
#		had ROUNDS (default 1).  Prints "started" once every
#		connection has written its first requests, then, when all
#		is done, after -t seconds (default 3 here too) or on
#		SIGTERM, one line "STATUS COUNT" per status and "missing
#		COUNT" for answers that never came.
#   probe PATH N GAP
#		N requests for PATH, each on a new connection, GAP seconds
#		apart: prints the milliseconds each took until its whole
#		answer was in (waiting -t seconds at most, 5 at least).
#		Exits 1 unless every answer is a 200.
#   slow PATH	Writes the request line, waits for the first bytes of an
#		answer, then writes the rest of the head: prints the
#		status, the body, then "eof" when the server then closed
#		cleanly, "reset", or "open".  A write that fails is
#		"closed", as in get.
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
import select
import selectors
import signal
import socket
import sys
import time

TIMEOUT = 5
SERVER = "127.0.0.1"
EXTRA = ""      # -H: header lines added to get and head


def connect(port, src):
    v6 = ":" in SERVER
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                      socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if src:
        s.bind((src, 0))
    s.connect((SERVER, port))
    return s


def request(method, path, password, apikey, extra=""):
    host = "[%s]" % SERVER if ":" in SERVER else SERVER
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
    if password is not None:
        cred = base64.b64encode(b"anyuser:" + password.encode()).decode()
        head += "Authorization: Basic %s\r\n" % cred
    if apikey is not None:
        head += "X-API-Key: %s\r\n" % apikey
    return (head + extra + "\r\n").encode()


def chunked(data, eof):
    """(body, rest) of a chunked body (no trailers), or None for more."""
    body, off = b"", 0
    while True:
        nl = data.find(b"\r\n", off)
        if nl < 0:
            break
        size = int(data[off:nl].split(b";")[0], 16)
        if len(data) < nl + 4 + size:
            break
        body += data[nl + 2:nl + 2 + size]
        off = nl + 4 + size
        if size == 0:
            return body, data[off:]
    if eof:
        raise ValueError("truncated chunks")
    return None


def split_response(buf, eof, strict):
    """((status, headers dict, head lines, body), rest) of the answer at
    the start of buf, or None when more is needed (eof: no more comes).
    Strict: a Content-Length is required, as this server always sends
    one; otherwise a chunked body, or one up to the end, is taken too."""
    if b"\r\n\r\n" not in buf:
        if eof and buf:
            raise ValueError("truncated head: %r" % buf)
        return None
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("ascii").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "HTTP/1.1":
        raise ValueError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers or strict:
        length = int(headers["content-length"])
        if len(rest) < length:
            if eof:
                raise ValueError("truncated body")
            return None
        body, rest = rest[:length], rest[length:]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        r = chunked(rest, eof)
        if r is None:
            return None
        body, rest = r
    elif eof:
        body, rest = rest, b""
    else:
        return None
    return (int(parts[1]), headers, lines, body), rest


class Reader:
    def __init__(self, sock, strict=True):
        self.sock = sock
        self.buf = b""
        self.strict = strict

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def response(self):
        """(status, headers dict, head lines, body) or None when closed
        first."""
        eof = False
        while True:
            r = split_response(self.buf, eof, self.strict)
            if r is not None:
                self.buf = r[1]
                return r[0]
            if eof:
                return None
            eof = not self.fill()

    def closed(self):
        try:
            return not self.fill()
        except (ConnectionResetError, socket.timeout):
            return True


def resp_end(s):
    """How the connection ends after the last answer."""
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "open"
    return "eof"


def fetch(port, src, method, path, password, apikey):
    s = connect(port, src)
    try:
        s.sendall(request(method, path, password, apikey, EXTRA))
        r = Reader(s).response()
    except (ConnectionResetError, BrokenPipeError):
        r = None
    s.close()
    if r is None:
        sys.exit("connection closed without an answer")
    return r


def flood_conn(sel, port, src, req, nreqs):
    s = connect(port, src)
    s.setblocking(False)
    c = {"sock": s, "out": req * nreqs, "left": nreqs, "buf": b""}
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    return c


def flood_read(c, tally):
    """Reads what came on c into tally; False once c is done."""
    try:
        data = c["sock"].recv(65536)
    except BlockingIOError:
        return True
    except ConnectionResetError:
        data = b""
    c["buf"] += data
    while c["left"] > 0:
        r = split_response(c["buf"], not data, False)
        if r is None:
            break
        status = r[0][0]
        tally[status] = tally.get(status, 0) + 1
        c["buf"] = r[1]
        c["left"] -= 1
    return bool(data) and c["left"] > 0


def flood(port, src, req, nconns, nreqs, rounds, secs):
    """The flood mode: a tally of the statuses of the answers."""
    sel = selectors.DefaultSelector()
    conns = [flood_conn(sel, port, src, req, nreqs) for _ in range(nconns)]
    tally = {}
    missing = 0
    started = False
    todo = nconns * (rounds - 1)
    deadline = time.monotonic() + secs
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while conns and time.monotonic() < deadline and not stop:
        for key, ev in sel.select(timeout=0.1):
            c = key.data
            if ev & selectors.EVENT_WRITE and c["out"]:
                try:
                    n = c["sock"].send(c["out"])
                except BlockingIOError:
                    n = 0
                except (ConnectionResetError, BrokenPipeError):
                    n, c["out"] = 0, b""
                c["out"] = c["out"][n:]
                if not c["out"]:
                    sel.modify(c["sock"], selectors.EVENT_READ, c)
            if not ev & selectors.EVENT_READ or flood_read(c, tally):
                continue
            sel.unregister(c["sock"])
            c["sock"].close()
            missing += c["left"]
            conns.remove(c)
            if todo > 0:
                todo -= 1
                conns.append(flood_conn(sel, port, src, req, nreqs))
        if not started and all(len(c["out"]) < len(req) * nreqs
                               for c in conns):
            print("started", flush=True)
            started = True
    for status in sorted(tally):
        print(status, tally[status])
    missing += sum(c["left"] for c in conns)
    if missing:
        print("missing", missing)


def probe(port, src, req, n, gap, secs):
    """The probe mode: n requests, one a connection, their times in ms."""
    for i in range(n):
        if i > 0:
            time.sleep(gap)
        t0 = time.monotonic()
        s = connect(port, src)
        s.settimeout(max(secs, TIMEOUT))
        s.sendall(req)
        r = Reader(s, False).response()
        ms = (time.monotonic() - t0) * 1000
        s.close()
        if r is None or r[0] != 200:
            sys.exit("probe: %s" % ("closed" if r is None else r[0]))
        print("%.1f" % ms, flush=True)


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
    global SERVER, EXTRA
    opts, args = getopt.getopt(sys.argv[1:], "b:H:k:m:s:t:u:")
    src = password = apikey = None
    method = "GET"
    secs = 3.0
    for o, a in opts:
        if o == "-b":
            src = a
        elif o == "-H":
            EXTRA += a + "\r\n"
        elif o == "-k":
            apikey = a
        elif o == "-m":
            method = a
        elif o == "-s":
            SERVER = a
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
        status, _, _, body = fetch(port, src, method, args[2], password,
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
    elif mode == "slow":
        s = connect(port, src)
        req = request(method, args[2], password, apikey)
        line, rest = req.split(b"\r\n", 1)
        try:
            s.sendall(line + b"\r\n")
            select.select([s], [], [], TIMEOUT)
            s.sendall(rest)
            resp = Reader(s).response()
        except (ConnectionResetError, BrokenPipeError):
            resp = None
        if resp is None:
            sys.exit("connection closed without an answer")
        print(resp[0])
        sys.stdout.write(resp[3].decode("utf-8"))
        print(resp_end(s))
    elif mode == "flood":
        flood(port, src, request(method, args[2], password, apikey),
              int(args[3]), int(args[4]),
              int(args[5]) if len(args) > 5 else 1, secs)
    elif mode == "probe":
        probe(port, src, request(method, args[2], password, apikey),
              int(args[3]), float(args[4]), secs)
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
