#!/usr/bin/python3
# A carbon (Graphite plaintext protocol) listener for the tests.
#
#   carbond.py [-s] PORT OUT READY
#
# Listens on 127.0.0.1:PORT and creates the file READY once it does.  For
# each connection it reads lines until the end and appends to OUT one line
# "ROUND <seconds since the start, when the connection was accepted>
# <number of lines>", then the lines themselves.  Every line must read
# "path value timestamp" with a path of letters, digits and . _ - :, a
# number and an integer; any other line is written as "BAD <line>".
# With -s it accepts connections and never reads from them: a stalled
# collector.

import getopt
import os
import re
import select
import socket
import sys
import time

LINE = re.compile(r"^[A-Za-z0-9_.:-]+ -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)? "
                  r"[0-9]+$")


def main():
    opts, args = getopt.getopt(sys.argv[1:], "s")
    stall = ("-s", "") in opts
    port, out, ready = int(args[0]), args[1], args[2]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if stall:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    open(ready, "w").close()
    start = time.monotonic()
    held = []
    conns = {}
    while True:
        r, _, _ = select.select([ls] + list(conns), [], [])
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                if stall:
                    held.append(c)
                else:
                    conns[c] = (time.monotonic() - start, b"")
                continue
            when, buf = conns[s]
            data = s.recv(65536)
            if data:
                conns[s] = (when, buf + data)
                continue
            del conns[s]
            s.close()
            text = buf.decode("latin-1")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            else:
                lines.append("(no final newline)")
            with open(out, "a") as f:
                f.write("ROUND %.3f %d\n" % (when, len(lines)))
                for line in lines:
                    f.write(("%s\n" if LINE.match(line) else "BAD %s\n")
                            % line)


if __name__ == "__main__":
    main()
