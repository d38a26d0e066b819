#!/usr/bin/python3
# Reads what headless Chromium made of the dashboard, for t_dashboard.
#
#   dashq.py dom FILE
#	FILE is the DOM that chromium --dump-dom printed.  Prints one line
#	per table cell that has a data-field, "TABLE<tab>KEY<tab>FIELD<tab>
#	TEXT" (TABLE the table's id, KEY its row's data-key), then
#	"status<tab><tab><tab>TEXT" for the status line, when there is one.
#   want STATS LOCALHOST BLOCKS
#	The cells the page should show, in the same format, from the JSON
#	bodies of /jsonstat?command=stats, /api/v1/servers/localhost and
#	/jsonstat?command=dynblocklist in those files: one table per
#	object as the API names its fields (servers by "id", pools by
#	"name", blocks by netmask or name, statistics by name), numbers
#	as the page writes them.
#   png FILE [RRGGBB]
#	Decodes the PNG FILE (8-bit RGB or RGBA, not interlaced, as
#	chromium --screenshot writes it) and prints "WIDTH HEIGHT COLOURS
#	INKED": the number of distinct colours, and the per mille of pixels
#	that are not the colour of the top left corner; with RRGGBB, then
#	the number of pixels of exactly that colour.
#   proxy PORT WEBPORT DNSPORT N SECS
#	A reverse proxy on 127.0.0.1:PORT to the web server on 127.0.0.1:
#	WEBPORT, so that the page's successive polls see traffic between
#	them whatever its clock: before it forwards a request for
#	/api/v1/servers/localhost, it sends N queries for graph.example. to
#	the daemon on 127.0.0.1:DNSPORT over UDP and waits for their
#	answers.  Requests are served one at a time, in the order they
#	come, each on a connection of its own to the web server.  Prints
#	"ready" once it listens and "PATH STATUS" for each request ("PATH
#	DNS timeout", the request left unanswered, when a query got no
#	answer); exits after SECS seconds.
#   top TABLE KEY FILE
#	The cells the page should show in its table TABLE for the JSON
#	body of /jsonstat?command=topclients or topqueries in FILE, KEY
#	being "client" or "name": the entries, then the row "Rest".
#
# Exits 1 with a message when the file cannot be read as such.

import contextlib
import html.parser
import io
import json
import socket
import struct
import sys
import threading
import time
import zlib

import dnsq


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.table = None       # id of the table we are in
        self.key = None         # data-key of the row
        self.cell = None        # data-field of the cell, or "" for status
        self.text = ""
        self.lines = []
        self.status = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table = a.get("id")
        elif tag == "tr":
            self.key = a.get("data-key")
        elif tag == "td" and "data-field" in a:
            self.cell, self.text = a["data-field"], ""
        elif tag == "p" and a.get("id") == "status":
            self.cell, self.text = "", ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        elif tag == "td" and self.cell:
            self.lines.append("\t".join((self.table or "", self.key or "",
                                         self.cell, self.text)))
            self.cell = None
        elif tag == "p" and self.cell == "":
            self.status = self.text
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.text += data


def dom(path):
    p = Dom()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    for line in p.lines:
        print(line)
    if p.status is not None:
        print("status\t\t\t" + p.status)


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not v.is_integer():
        return "%.2f" % v
    if isinstance(v, float):
        return str(int(v))
    if isinstance(v, list):
        return " ".join(v)
    return "" if v is None else str(v)


def want(stats, localhost, blocks):
    def load(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def rows(table, key, objs):
        for o in objs:
            for k, v in o.items():
                print("\t".join((table, text(o[key]), k, text(v))))

    d = load(localhost)
    rows("servers", "id", d["servers"])
    rows("pools", "name", d["pools"])
    b = load(blocks)
    rows("dynblocks", "what", [dict(b[k], what=k) for k in sorted(b)])
    s = load(stats)
    rows("stats", "name", [{"name": k, "value": s[k]} for k in sorted(s)])


def top(table, key, path):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    rest = dict(d["rest"])
    rest[key] = "Rest"
    for o in d["entries"] + [rest]:
        for k in (key, "queries", "percentage"):
            print("\t".join((table, o[key], k, text(o[k]))))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png(path, colour=None):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    off, idat, hdr = 8, b"", None
    while off + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[off:off + 8])
        body = data[off + 8:off + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        off += 12 + n
    if hdr is None:
        sys.exit("%s: no IHDR" % path)
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        sys.exit("%s: depth %d colour type %d interlace %d: not read here" %
                 (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        sys.exit("%s: %d bytes of pixels for %dx%d" % (path, len(raw), w, h))
    prev = bytearray(stride)
    colours, first, inked, same = set(), None, 0, 0
    want = bytes.fromhex(colour) if colour else None
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            b = prev[i]
            if ftype == 1:
                line[i] = (line[i] + a) & 0xff
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xff
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xff
            elif ftype == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 0xff
            elif ftype != 0:
                sys.exit("%s: filter type %d" % (path, ftype))
        for x in range(0, stride, bpp):
            px = bytes(line[x:x + 3])
            if first is None:
                first = px
            colours.add(px)
            if px != first:
                inked += 1
            if px == want:
                same += 1
        prev = line
    print(w, h, len(colours), inked * 1000 // (w * h),
          *([same] if want else []))


def relay(c, lock, webport, dnsport, n):
    with c:
        c.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(65536)
            if not d:
                return
            head += d
        lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        path = lines[0].split()[1].decode()
        lines = [x for x in lines if not x.lower().startswith(b"connection:")]
        with lock:
            if path == "/api/v1/servers/localhost":
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    dnsq.cmd_udp(["-n", str(n), "-w", "10", "127.0.0.1",
                                  str(dnsport), "graph.example."])
                if "timeout" in out.getvalue():
                    print(path, "DNS timeout", flush=True)
                    return
            u = socket.create_connection(("127.0.0.1", webport), timeout=10)
            with u:
                u.sendall(b"\r\n".join(lines + [b"Connection: close"]) +
                          b"\r\n\r\n")
                resp = b""
                while True:
                    d = u.recv(65536)
                    if not d:
                        break
                    resp += d
            c.sendall(resp)
            print(path, resp.split(b" ", 2)[1].decode(), flush=True)


def proxy(port, webport, dnsport, n, secs):
    lock = threading.Lock()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(64)
    print("ready", flush=True)
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        ls.settimeout(end - time.monotonic())
        try:
            c, _ = ls.accept()
        except (socket.timeout, ValueError):
            break
        threading.Thread(target=relay, daemon=True,
                         args=(c, lock, int(webport), int(dnsport),
                               int(n))).start()


if len(sys.argv) == 7 and sys.argv[1] == "proxy":
    proxy(*sys.argv[2:])
elif len(sys.argv) == 5 and sys.argv[1] == "top":
    top(*sys.argv[2:])
elif len(sys.argv) == 5 and sys.argv[1] == "want":
    want(*sys.argv[2:])
elif len(sys.argv) == 3 and sys.argv[1] == "dom":
    dom(sys.argv[2])
elif len(sys.argv) in (3, 4) and sys.argv[1] == "png":
    png(*sys.argv[2:])
else:
    sys.exit("usage: dashq.py dom FILE | png FILE [RRGGBB] | want STATS LOCALHOST BLOCKS |\n"
             "       top TABLE KEY FILE | proxy PORT WEBPORT DNSPORT N SECS")
