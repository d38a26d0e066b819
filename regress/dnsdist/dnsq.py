#!/usr/bin/python3
# Small DNS client for the end-to-end tests (Python standard library only).
#
#   dnsq.py udp [-b SRC] [-P SRCPORT] [-q QTYPE] [-t SECS] [-n ROUNDS] [-w WINDOW] SERVER PORT
#	NAME...
#	Sends ROUNDS x NAMEs queries (type QTYPE, a number, default 1: A)
#	over UDP, at most WINDOW in flight, each
#	waited for at most SECS.  Prints one line per query in sending order:
#	"NAME ANSWER", ANSWER being the first A address, the RCODE name when
#	there is none, or "timeout".  An answer without a question (an
#	error a server sends when it cannot parse the query) is taken as the
#	answer to the query with its ID; so with tcp.
#   dnsq.py dup [-t SECS] SERVER PORT NAME
#	Sends one query and prints how many answers with its ID arrive in SECS.
#   dnsq.py tcp [-q QTYPE] [-t SECS] [-g GAP] [-T CAFILE -S NAME] SERVER PORT NAME...
#	Writes all queries at once on one TCP connection (pipelined), reads the
#	answers in the order they come and prints "ID NAME ANSWER" for each.
#	With -g, writes each query on its own, GAP seconds after the last.
#	Exits 1 if an answer is missing, unknown or does not match its query.
#	With -T, over TLS (DNS over TLS), checking the server's certificate
#	against CAFILE and the name -S (also sent as the SNI).
#   dnsq.py steady [-r QPS] [-d SECS] [-t SECS] [-s SOCKETS] SERVER PORT NAME
#	Sends NAME A queries at QPS a second for SECS seconds, each waited for
#	at most -t SECS, and prints "SEQ ANSWER" for each as it is settled
#	(answered or timed out), flushed at once so that a test can watch.
#	With -s, the queries leave from SOCKETS sockets (source ports) in
#	turn.
#   dnsq.py keepalive [-t SECS] SERVER PORT NAME GAP...
#	On one TCP connection, for each GAP: waits GAP seconds, asks NAME
#	and prints the answer, or "closed" when the server has closed the
#	connection.  Then waits (at most SECS) for the server to close it
#	and prints "eof" or "open".

import getopt
import ssl
import random
import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def make_query(qid, name, qtype=1):
    hdr = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    return hdr + encode_name(name) + struct.pack("!HH", qtype, 1)


def skip_name(buf, off):
    while True:
        if off >= len(buf):
            raise ValueError("short name")
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1


def read_name(buf, off):
    labels = []
    hops = 0
    while True:
        n = buf[off]
        if n == 0:
            break
        if n & 0xC0 == 0xC0:
            hops += 1
            if hops > 20:
                raise ValueError("loop")
            off = ((n & 0x3F) << 8) | buf[off + 1]
            continue
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += n + 1
    return ".".join(labels).lower() + "."


def parse_answer(buf):
    """Returns (id, qname, answer text) or None for garbage."""
    try:
        qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", buf[:12])
        off = 12
        qname = ""
        for _ in range(qd):
            qname = read_name(buf, off)
            off = skip_name(buf, off) + 4
        first = None
        for _ in range(an):
            off = skip_name(buf, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
            off += 10
            if rtype == 1 and rdlen == 4 and first is None:
                first = socket.inet_ntoa(buf[off:off + 4])
            off += rdlen
        if first is None:
            first = RCODES.get(flags & 0xF, "RCODE%d" % (flags & 0xF))
            if flags & 0x0200:
                first += "+TC"
        return qid, qname, first
    except (ValueError, IndexError, struct.error):
        return None


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_udp(args):
    opts, rest = getopt.getopt(args, "b:P:q:t:n:w:")
    src, sport, tmo, rounds, window, qtype = None, 0, 1.0, 1, 1, 1
    for o, v in opts:
        if o == "-b":
            src = v
        elif o == "-P":
            sport = int(v)
        elif o == "-q":
            qtype = int(v)
        elif o == "-t":
            tmo = float(v)
        elif o == "-n":
            rounds = int(v)
        elif o == "-w":
            window = int(v)
    server, port, names = rest[0], int(rest[1]), rest[2:]
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    if src or sport:
        s.bind((src or "", sport))
    s.connect((server, port))
    todo = [n if n.endswith(".") else n + "." for _ in range(rounds)
            for n in names]
    ids = random.sample(range(65536), min(len(todo), 65536))
    results = [None] * len(todo)
    inflight = {}           # id -> (index, name, deadline)
    nxt = 0
    done = 0
    while done < len(todo):
        while nxt < len(todo) and len(inflight) < window:
            qid = ids[nxt % len(ids)]
            s.send(make_query(qid, todo[nxt], qtype))
            inflight[qid] = (nxt, todo[nxt], time.monotonic() + tmo)
            nxt += 1
        now = time.monotonic()
        wait = max(0.0, min(d for _, _, d in inflight.values()) - now)
        r, _, _ = select.select([s], [], [], wait)
        if r:
            try:
                buf = s.recv(65535)
            except OSError:
                continue
            p = parse_answer(buf)
            if p and p[0] in inflight and \
                    p[1] in (inflight[p[0]][1].lower(), ""):
                idx = inflight.pop(p[0])[0]
                results[idx] = p[2]
                done += 1
            continue
        now = time.monotonic()
        for qid in [q for q, v in inflight.items() if v[2] <= now]:
            idx = inflight.pop(qid)[0]
            results[idx] = "timeout"
            done += 1
    for name, res in zip(todo, results):
        print(name, res)
    return 0


def cmd_dup(args):
    opts, rest = getopt.getopt(args, "t:")
    tmo = 1.0
    for o, v in opts:
        if o == "-t":
            tmo = float(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.connect((server, port))
    qid = random.randrange(65536)
    s.send(make_query(qid, name))
    count = 0
    end = time.monotonic() + tmo
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            buf = s.recv(65535)
        except OSError:
            continue
        p = parse_answer(buf)
        if p and p[0] == qid:
            count += 1
    print(count)
    return 0


def cmd_tcp(args):
    opts, rest = getopt.getopt(args, "q:t:g:T:S:")
    tmo, qtype, ca, sni, gap = 3.0, 1, None, None, None
    for o, v in opts:
        if o == "-g":
            gap = float(v)
        if o == "-q":
            qtype = int(v)
        elif o == "-t":
            tmo = float(v)
        elif o == "-T":
            ca = v
        elif o == "-S":
            sni = v
    server, port, names = rest[0], int(rest[1]), rest[2:]
    names = [n if n.endswith(".") else n + "." for n in names]
    ids = random.sample(range(65536), len(names))
    want = dict(zip(ids, names))
    s = socket.create_connection((server, port), timeout=tmo)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ca is not None:
        s = ssl.create_default_context(cafile=ca).wrap_socket(
            s, server_hostname=sni)
    out = b""
    for qid, name in want.items():
        q = make_query(qid, name, qtype)
        if gap is not None:
            s.sendall(struct.pack("!H", len(q)) + q)
            time.sleep(gap)
            continue
        out += struct.pack("!H", len(q)) + q
    s.sendall(out)              # all queries in one write: pipelined
    buf = b""
    end = time.monotonic() + tmo
    status = 0
    while want and time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d = s.recv(65535)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            ln = struct.unpack("!H", buf[:2])[0]
            msg, buf = buf[2:2 + ln], buf[2 + ln:]
            p = parse_answer(msg)
            if not p or p[0] not in want or p[1] not in (want[p[0]], ""):
                print("unexpected answer", p)
                status = 1
                continue
            print(p[0], want.pop(p[0]), p[2])
    for qid, name in want.items():
        print(qid, name, "missing")
        status = 1
    return status


def cmd_steady(args):
    opts, rest = getopt.getopt(args, "r:d:t:s:")
    rate, secs, tmo, nsocks = 200.0, 5.0, 1.0, 1
    for o, v in opts:
        if o == "-r":
            rate = float(v)
        elif o == "-d":
            secs = float(v)
        elif o == "-t":
            tmo = float(v)
        elif o == "-s":
            nsocks = int(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    name = name if name.endswith(".") else name + "."
    socks = [socket.socket(family(server), socket.SOCK_DGRAM)
             for _ in range(nsocks)]
    for s in socks:
        s.setblocking(False)
    total = int(rate * secs)
    inflight = {}           # (socket, id) -> (seq, deadline)
    start = time.monotonic()
    seq = 0
    while seq < total or inflight:
        now = time.monotonic()
        while seq < total and start + seq / rate <= now:
            s = socks[seq % nsocks]
            qid = random.randrange(65536)
            while (s, qid) in inflight:
                qid = random.randrange(65536)
            try:
                s.sendto(make_query(qid, name), (server, port))
            except OSError:
                pass        # no route for a moment: a loss like any other
            inflight[(s, qid)] = (seq, now + tmo)
            seq += 1
        for k in [k for k, v in inflight.items() if v[1] <= now]:
            print(inflight.pop(k)[0], "timeout", flush=True)
        nexts = [v[1] for v in inflight.values()]
        if seq < total:
            nexts.append(start + seq / rate)
        wait = max(0.0, min(nexts) - time.monotonic()) if nexts else 0.0
        ready, _, _ = select.select(socks, [], [], wait)
        for s in ready:
            while True:
                try:
                    buf, src = s.recvfrom(65535)
                except OSError:
                    break
                p = parse_answer(buf)
                # Only from the address queried, as a resolver takes it.
                if src[0] == server and p and (s, p[0]) in inflight and \
                        p[1] == name:
                    print(inflight.pop((s, p[0]))[0], p[2], flush=True)


def tcp_ask(s, qid, name, tmo):
    """One query on a TCP connection; the answer text, or "closed"."""
    q = make_query(qid, name)
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
    except OSError:
        return "closed"
    buf = b""
    end = time.monotonic() + tmo
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            d = s.recv(65535)
        except socket.timeout:
            return "timeout"
        except OSError:
            return "closed"
        if not d:
            return "closed"
        buf += d
        if len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            p = parse_answer(buf[2:])
            return p[2] if p and p[0] == qid else "unexpected"
    return "timeout"


def cmd_keepalive(args):
    opts, rest = getopt.getopt(args, "t:")
    tmo = 3.0
    for o, v in opts:
        if o == "-t":
            tmo = float(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    s = socket.create_connection((server, port), timeout=tmo)
    for gap in rest[3:]:
        time.sleep(float(gap))
        print(tcp_ask(s, random.randrange(65536), name, tmo))
    s.settimeout(tmo)
    try:
        print("eof" if not s.recv(1) else "data")
    except socket.timeout:
        print("open")
    except OSError:
        print("eof")
    return 0


def main():
    if len(sys.argv) < 2:
        print("usage: dnsq.py udp|dup|tcp|steady|keepalive ...",
              file=sys.stderr)
        return 2
    cmd = {"udp": cmd_udp, "dup": cmd_dup, "tcp": cmd_tcp,
           "steady": cmd_steady, "keepalive": cmd_keepalive}.get(sys.argv[1])
    if cmd is None:
        print("unknown command", sys.argv[1], file=sys.stderr)
        return 2
    return cmd(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
