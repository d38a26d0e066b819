#!/usr/bin/python3
# Hostile DNS client for the end-to-end tests (Python standard library only).
# It sends what a well-behaved client never would and reports what came back.
#
# PACKET arguments are hex with blanks allowed, plus two shorthands:
#   name:www.example.	the name in wire format (labels of any length)
#   Nx:HEX		HEX repeated N times ("64x:61" is 64 'a's)
#
#   hostile.py udp [-b SRC] [-t SECS] [-a N] SERVER PORT PACKET
#	Sends PACKET as one datagram (from address SRC with -b).  Prints "answer RCODE ANSWER opcode=N"
#	for each reply until N (1) came or SECS passed, or "timeout" when
#	none came.
#   hostile.py tcp [-r] [-b SRC] [-t SECS] [-a N] [-m MODE] [-d MS] SERVER PORT
#	PACKET
#	Sends PACKET on a new connection (from SRC with -b) with its length
#	prefix (as given with -r), written as MODE says: "whole" (one write), "split" (the two
#	length bytes in two writes, then the rest) or "bytes" (one byte a
#	write, MS milliseconds apart).  Prints each answer as
#	"answer RCODE ANSWER", then "closed" when the server closed the
#	connection or "open" when it was still open after SECS (or after N
#	answers with -a).
#   hostile.py idle [-t SECS] SERVER PORT
#	Connects and sends nothing; prints "closed SECS" with the time the
#	server took to close the connection, or "open" after SECS.
#   hostile.py conns [-k] [-b SRC] [-n N] [-s PID] [-t SECS] [-w SECS]
#	SERVER PORT NAME
#	Opens N connections at once (from address SRC with -b), waits up to
#	-w SECS for the server to accept or close them, then asks NAME on
#	each that is still open.  Prints "answered A closed C silent S" (S:
#	open but no answer in SECS).  With -k, the connections stay open
#	until standard input ends.  With -s, first stops process PID, opens
#	and closes one connection, opens the N, and lets PID go on once the
#	kernel has completed them all: the server finds the closed one with
#	the others when it accepts.
#   hostile.py noread [-c CONNS] [-n N] [-p PID] [-q QTYPE] [-t SECS]
#	SERVER PORT NAME
#	On each of CONNS connections (1) with a 4 KB receive buffer, writes
#	up to N queries (type QTYPE, 1: A) for NAME (for at most 2 seconds
#	in all) and never reads; prints "writing done" then.  Prints "sent
#	S closed C open O": the queries sent, and how many connections the
#	server closed within SECS or still held open.  With -p, adds "rss
#	MAX": process PID's largest VmRSS meanwhile, in KiB, read every 20
#	ms.  N must be large enough for the answers not to fit in the
#	socket buffers.
#   hostile.py pipeline [-n N] [-t SECS] SERVER PORT NAME
#	Writes N queries for NAME on one connection (IDs 0, 1, ... modulo
#	65536) while reading answers; prints "answered A of N" and exits 1
#	unless every query got its own answer.

import getopt
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402


def encode(spec):
    out = b""
    for tok in spec.split():
        if tok.startswith("name:"):
            for label in tok[5:].rstrip(".").split("."):
                if label:
                    out += bytes([len(label) & 0xff]) + label.encode()
            out += b"\0"
        elif "x:" in tok:
            n, h = tok.split("x:", 1)
            out += bytes.fromhex(h) * int(n)
        else:
            out += bytes.fromhex(tok)
    return out


def describe(msg):
    p = dnsq.parse_answer(msg)
    if p is None:
        return "answer garbage " + msg.hex()
    flags = struct.unpack("!H", msg[2:4])[0]
    return "answer %s %s opcode=%d" % (dnsq.RCODES.get(flags & 0xF, "?"),
                                       p[2], (flags >> 11) & 0xF)


def cmd_udp(args):
    opts, rest = getopt.getopt(args, "a:b:t:")
    tmo, want, src = 1.0, 1, None
    for o, v in opts:
        if o == "-a":
            want = int(v)
        elif o == "-b":
            src = v
        elif o == "-t":
            tmo = float(v)
    server, port, pkt = rest[0], int(rest[1]), encode(rest[2])
    s = socket.socket(dnsq.family(server), socket.SOCK_DGRAM)
    if src is not None:
        s.bind((src, 0))
    s.connect((server, port))
    s.send(pkt)
    got = 0
    end = time.monotonic() + tmo
    while got < want:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            print(describe(s.recv(65535)))
            got += 1
        except OSError:
            break
    if got == 0:
        print("timeout")
    return 0


def read_frames(s, end, want=None):
    """Reads length-prefixed answers until the server closes, SECS pass or
    want answers came.  Returns (answers, closed)."""
    buf, answers = b"", []
    while time.monotonic() < end and (want is None or len(answers) < want):
        r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        try:
            d = s.recv(65535)
        except (ConnectionResetError, BrokenPipeError):
            return answers, True
        if not d:
            return answers, True
        buf += d
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H",
                                                               buf[:2])[0]:
            ln = struct.unpack("!H", buf[:2])[0]
            answers.append(buf[2:2 + ln])
            buf = buf[2 + ln:]
    return answers, False


def cmd_tcp(args):
    opts, rest = getopt.getopt(args, "a:b:d:m:rt:")
    tmo, mode, delay, want, raw, src = 2.0, "whole", 0.01, None, False, None
    for o, v in opts:
        if o == "-r":
            raw = True
        elif o == "-b":
            src = (v, 0)
        elif o == "-a":
            want = int(v)
        elif o == "-t":
            tmo = float(v)
        elif o == "-m":
            mode = v
        elif o == "-d":
            delay = float(v) / 1000
    server, port, pkt = rest[0], int(rest[1]), encode(rest[2])
    s = socket.create_connection((server, port), timeout=tmo,
                                 source_address=src)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    frame = pkt if raw else struct.pack("!H", len(pkt)) + pkt
    try:
        if mode == "whole":
            s.sendall(frame)
        elif mode == "split":
            for part in (frame[:1], frame[1:2], frame[2:]):
                s.sendall(part)
                time.sleep(0.05)
        elif mode == "bytes":
            for i in range(len(frame)):
                s.sendall(frame[i:i + 1])
                time.sleep(delay)
        else:
            print("unknown mode", mode, file=sys.stderr)
            return 2
    except (ConnectionResetError, BrokenPipeError):
        pass
    answers, closed = read_frames(s, time.monotonic() + tmo, want)
    for a in answers:
        print(describe(a))
    print("closed" if closed else "open")
    return 0


def cmd_idle(args):
    opts, rest = getopt.getopt(args, "t:")
    tmo = 5.0
    for o, v in opts:
        if o == "-t":
            tmo = float(v)
    server, port = rest[0], int(rest[1])
    start = time.monotonic()
    s = socket.create_connection((server, port), timeout=tmo)
    _, closed = read_frames(s, start + tmo)
    if closed:
        print("closed %.2f" % (time.monotonic() - start))
    else:
        print("open")
    return 0


def cmd_conns(args):
    opts, rest = getopt.getopt(args, "b:kn:s:t:w:")
    n, tmo, wait, src, keep, stop = 500, 2.0, 1.0, None, False, None
    for o, v in opts:
        if o == "-b":
            src = v
        elif o == "-k":
            keep = True
        elif o == "-n":
            n = int(v)
        elif o == "-s":
            stop = int(v)
        elif o == "-t":
            tmo = float(v)
        elif o == "-w":
            wait = float(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    if stop is not None:
        os.kill(stop, signal.SIGSTOP)
        probe = socket.socket(dnsq.family(server), socket.SOCK_STREAM)
        if src is not None:
            probe.bind((src, 0))
        probe.connect((server, port))
        probe.close()
    # As many descriptors as the system lets this process have.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        want = n + 64 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    socks = {}
    for _ in range(n):
        s = socket.socket(dnsq.family(server), socket.SOCK_STREAM)
        if src is not None:
            s.bind((src, 0))
        s.setblocking(False)
        s.connect_ex((server, port))
        socks[s.fileno()] = s
    # Wait until every connection is up, then give the server time to
    # close those over its limit: they turn readable (end of file, reset).
    pending = set(socks)
    end = time.monotonic() + wait
    while pending and time.monotonic() < end:
        p = select.poll()
        for fd in pending:
            p.register(fd, select.POLLOUT)
        for fd, _ in p.poll(max(0, end - time.monotonic()) * 1000):
            pending.discard(fd)
    if stop is not None:
        os.kill(stop, signal.SIGCONT)
    time.sleep(wait)
    closed, live = 0, {}
    for fd, s in socks.items():
        try:
            if (s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0 or
                    s.recv(1, socket.MSG_PEEK) == b""):
                closed += 1
                continue
        except BlockingIOError:
            pass                # open, nothing to read: as it should be
        except OSError:
            closed += 1
            continue
        live[fd] = s
    bufs = {}
    for fd, s in live.items():
        q = dnsq.make_query(fd, name)
        try:
            s.send(struct.pack("!H", len(q)) + q)
            bufs[fd] = b""
        except OSError:
            closed += 1
    answered = 0
    end = time.monotonic() + tmo
    while bufs and time.monotonic() < end:
        p = select.poll()
        for fd in bufs:
            p.register(fd, select.POLLIN)
        for fd, _ in p.poll(max(0, end - time.monotonic()) * 1000):
            try:
                d = socks[fd].recv(65535)
            except OSError:
                d = b""
            if not d:
                del bufs[fd]
                closed += 1
                continue
            b = bufs[fd] = bufs[fd] + d
            if len(b) >= 2 and len(b) >= 2 + struct.unpack("!H", b[:2])[0]:
                a = dnsq.parse_answer(b[2:])
                if a and a[0] == fd:
                    answered += 1
                del bufs[fd]
    silent = len(bufs)
    print("answered %d closed %d silent %d" % (answered, closed, silent),
          flush=True)
    if keep:
        sys.stdin.read()
    for s in socks.values():
        s.close()
    return 0


def vmrss(pid):
    """The VmRSS of process pid in KiB, or 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmd_noread(args):
    opts, rest = getopt.getopt(args, "c:n:p:q:t:")
    conns, n, pid, qtype, tmo = 1, 200000, 0, 1, 10.0
    for o, v in opts:
        if o == "-c":
            conns = int(v)
        elif o == "-n":
            n = int(v)
        elif o == "-p":
            pid = int(v)
        elif o == "-q":
            qtype = int(v)
        elif o == "-t":
            tmo = float(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    qlen = len(dnsq.make_query(0, name, qtype)) + 2
    out = b"".join(struct.pack("!H", qlen - 2) + dnsq.make_query(
        i % 65536, name, qtype) for i in range(n))
    socks, sent = [], {}
    for _ in range(conns):
        # A small receive buffer, so that the answers do not fit in it.
        s = socket.socket(dnsq.family(server), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((server, port))
        s.setblocking(False)
        socks.append(s)
        sent[s] = 0
    rss = vmrss(pid) if pid else 0
    end = time.monotonic() + 2
    todo = list(socks)
    while todo and time.monotonic() < end:
        _, w, _ = select.select([], todo, [], max(0, end - time.monotonic()))
        for s in w:
            try:
                sent[s] += s.send(out[sent[s]:sent[s] + 65536])
            except BlockingIOError:
                pass
            except OSError:
                todo.remove(s)
                continue
            if sent[s] == len(out):
                todo.remove(s)
    print("writing done", flush=True)
    # Closing with queries unread, the server resets the connection (an
    # error); with none, it ends it (a hang-up of the reading side): both
    # show without reading the answers in front of them.
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLERR | select.POLLHUP |
                   getattr(select, "POLLRDHUP", 0))
    closed = 0
    end = time.monotonic() + tmo
    while closed < conns and time.monotonic() < end:
        wait = min(0.02, max(0, end - time.monotonic())) if pid else \
            max(0, end - time.monotonic())
        for fd, _ in p.poll(wait * 1000):
            p.unregister(fd)
            closed += 1
        if pid:
            rss = max(rss, vmrss(pid))
    line = "sent %d closed %d open %d" % (sum(sent.values()) // qlen, closed,
                                          conns - closed)
    print(line + (" rss %d" % rss if pid else ""))
    return 0


def cmd_pipeline(args):
    opts, rest = getopt.getopt(args, "n:t:")
    n, tmo = 10000, 20.0
    for o, v in opts:
        if o == "-n":
            n = int(v)
        elif o == "-t":
            tmo = float(v)
    server, port, name = rest[0], int(rest[1]), rest[2]
    name = name if name.endswith(".") else name + "."
    # Query i has ID i mod 65536: past 65536 queries, IDs come back, and
    # each must be answered as many times as it was asked.
    want = [n // 65536 + (1 if i < n % 65536 else 0) for i in range(65536)]
    got = [0] * 65536
    out = b"".join(struct.pack("!H", len(q)) + q
                   for q in (dnsq.make_query(i % 65536, name)
                             for i in range(n)))
    s = socket.create_connection((server, port), timeout=tmo)
    s.setblocking(False)
    answered = bad = 0
    buf = b""
    off = 0
    end = time.monotonic() + tmo
    while answered < n and time.monotonic() < end:
        w = [s] if off < len(out) else []
        r, w, _ = select.select([s], w, [], max(0, end - time.monotonic()))
        if w:
            try:
                off += s.send(out[off:off + 65536])
            except BlockingIOError:
                pass
        if r:
            try:
                d = s.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not d:
                break
            buf += d
            pos = 0
            while len(buf) - pos >= 2 and len(buf) - pos >= 2 + \
                    struct.unpack("!H", buf[pos:pos + 2])[0]:
                ln = struct.unpack("!H", buf[pos:pos + 2])[0]
                p = dnsq.parse_answer(buf[pos + 2:pos + 2 + ln])
                pos += 2 + ln
                if p and p[1] == name and got[p[0]] < want[p[0]]:
                    got[p[0]] += 1
                    answered += 1
                else:
                    bad += 1
            buf = buf[pos:]
    s.close()
    print("answered %d of %d" % (answered, n))
    if bad:
        print("unexpected answers %d" % bad)
    return 0 if answered == n and bad == 0 else 1


def main():
    cmds = {"udp": cmd_udp, "tcp": cmd_tcp, "idle": cmd_idle,
            "conns": cmd_conns, "noread": cmd_noread,
            "pipeline": cmd_pipeline}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print("usage: hostile.py udp|tcp|idle|conns|noread|pipeline ...",
              file=sys.stderr)
        return 2
    return cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
