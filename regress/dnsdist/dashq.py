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
#   png FILE
#	Decodes the PNG FILE (8-bit RGB or RGBA, not interlaced, as
#	chromium --screenshot writes it) and prints "WIDTH HEIGHT COLOURS
#	INKED": the number of distinct colours, and the per mille of pixels
#	that are not the colour of the top left corner.
#
# Exits 1 with a message when the file cannot be read as such.

import html.parser
import json
import struct
import sys
import zlib


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


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png(path):
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
    colours, first, inked = set(), None, 0
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
        prev = line
    print(w, h, len(colours), inked * 1000 // (w * h))


if len(sys.argv) == 5 and sys.argv[1] == "want":
    want(*sys.argv[2:])
elif len(sys.argv) == 3 and sys.argv[1] == "dom":
    dom(sys.argv[2])
elif len(sys.argv) == 3 and sys.argv[1] == "png":
    png(sys.argv[2])
else:
    sys.exit("usage: dashq.py dom|png FILE | want STATS LOCALHOST BLOCKS")
