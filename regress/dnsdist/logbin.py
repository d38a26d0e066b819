#!/usr/bin/python3
# Reads LogAction's binary records (dnsdist's format: ID, the name in wire
# format, type and family in host order, the IPv4 address and the port in
# network order) and checks each against the text line of the same query:
#
#   logbin.py BINFILE TEXTFILE
#
# prints "record N ok" or "record N differs" for each record.
import re
import socket
import struct
import sys

LINE = re.compile(r"Packet from ([0-9.]+):([0-9]+) for (\S+) (\S+) "
                  r"with id ([0-9]+)")
TYPES = {"A": 1, "AAAA": 28}


def main():
    b = open(sys.argv[1], "rb").read()
    lines = open(sys.argv[2]).read().splitlines()
    off, n = 0, 0
    while off < len(b) and n < len(lines):
        (qid,) = struct.unpack_from("=H", b, off)
        off += 2
        labels = []
        while b[off]:
            labels.append(b[off + 1:off + 1 + b[off]].decode())
            off += 1 + b[off]
        off += 1
        qtype, fam = struct.unpack_from("=HH", b, off)
        off += 4
        addr = socket.inet_ntoa(b[off:off + 4])
        off += 4
        (port,) = struct.unpack_from("!H", b, off)
        off += 2
        m = LINE.match(lines[n])
        ok = (m is not None and addr == m.group(1) and
              port == int(m.group(2)) and
              ".".join(labels) + "." == m.group(3) and
              qid == int(m.group(5)) and
              qtype == TYPES.get(m.group(4)) and fam == socket.AF_INET)
        print("record", n, "ok" if ok else "differs")
        n += 1
    if off != len(b):
        print("trailing bytes", len(b) - off)


if __name__ == "__main__":
    main()
