#!/usr/bin/env python3
"""A protobuf collector for the remote logging tests (standard library only).

pbrecv.py PORT READYFILE OUTFILE [stall|dnstap]

Listens on 127.0.0.1:PORT for dnsdist's remote logger connections (each
message after two bytes of length), writes READYFILE once listening, and
appends one JSON line per message to OUTFILE, decoded as a PBDNSMessage
(dnsmessage.proto) or, with "dnstap", as a Dnstap message.  With "stall"
it accepts and never reads.  It runs until killed.
"""
import json
import socket
import sys


def varint(buf, off):
    n = shift = 0
    while True:
        b = buf[off]
        off += 1
        n |= (b & 0x7f) << shift
        if not b & 0x80:
            return n, off
        shift += 7


def fields(buf):
    """(number, value) pairs: ints for varints, bytes for the rest."""
    off = 0
    out = []
    while off < len(buf):
        key, off = varint(buf, off)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, off = varint(buf, off)
        elif wt == 2:
            n, off = varint(buf, off)
            v = buf[off:off + n]
            off += n
        elif wt == 1:
            v = int.from_bytes(buf[off:off + 8], 'little')
            off += 8
        elif wt == 5:
            v = int.from_bytes(buf[off:off + 4], 'little')
            off += 4
        else:
            raise ValueError('wire type %d' % wt)
        out.append((num, v))
    return out


def ip(b):
    return socket.inet_ntop(socket.AF_INET6 if len(b) == 16 else
                            socket.AF_INET, b)


PB = {1: 'type', 2: 'messageId', 3: 'serverIdentity', 4: 'socketFamily',
      5: 'socketProtocol', 6: 'from', 7: 'to', 8: 'inBytes', 9: 'timeSec',
      10: 'timeUsec', 11: 'id', 14: 'originalRequestorSubnet',
      15: 'requestorId', 17: 'deviceId', 19: 'deviceName', 20: 'fromPort',
      21: 'toPort'}
RESP = {1: 'rcode', 5: 'queryTimeSec', 6: 'queryTimeUsec'}
RR = {1: 'name', 2: 'type', 3: 'class', 4: 'ttl'}


def pbdns(buf):
    m = {'tags': [], 'rrs': [], 'meta': {}}
    for num, v in fields(buf):
        if num in (6, 7, 14):
            m[PB[num]] = ip(v)
        elif num in (2, 17):
            m[PB[num]] = v.hex()
        elif num in (3, 15, 19):
            m[PB[num]] = v.decode()
        elif num in PB:
            m[PB[num]] = v
        elif num == 12:
            for n, q in fields(v):
                m[{1: 'qName', 2: 'qType', 3: 'qClass'}[n]] = \
                    q.decode() if n == 1 else q
        elif num == 13:
            m['response'] = True
            for n, r in fields(v):
                if n in RESP:
                    m[RESP[n]] = r
                elif n == 4:
                    m['tags'].append(r.decode())
                elif n == 2:
                    rr = {}
                    for k, x in fields(r):
                        if k == 1:
                            rr['name'] = x.decode()
                        elif k == 5:
                            rr['rdata'] = x.hex()
                        elif k in RR:
                            rr[RR[k]] = x
                    m['rrs'].append(rr)
        elif num == 22:
            key, vals = None, []
            for n, x in fields(v):
                if n == 1:
                    key = x.decode()
                elif n == 2:
                    vals = [s.decode() for k, s in fields(x) if k == 1]
            m['meta'][key] = vals
    return m


TAP = {1: 'type', 2: 'socketFamily', 3: 'socketProtocol', 6: 'queryPort',
       7: 'responsePort', 8: 'queryTimeSec', 12: 'responseTimeSec'}


def dnstap(buf):
    m = {}
    for num, v in fields(buf):
        if num in (1, 2, 3):
            m[{1: 'identity', 2: 'version', 3: 'extra'}[num]] = v.decode()
        elif num == 14:
            for n, x in fields(v):
                if n in TAP:
                    m[TAP[n]] = x
                elif n in (4, 5):
                    m['queryAddress' if n == 4 else 'responseAddress'] = \
                        ip(x)
                elif n in (10, 14):
                    m['query' if n == 10 else 'response'] = x.hex()
    return m


def main():
    port, ready, outfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    mode = sys.argv[4] if len(sys.argv) > 4 else ''
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == 'stall':
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind(('127.0.0.1', port))
    ls.listen(16)
    open(ready, 'w').close()
    held = []
    out = open(outfile, 'a')
    while True:
        conn, _ = ls.accept()
        if mode == 'stall':
            held.append(conn)
            continue
        f = conn.makefile('rb')
        while True:
            hdr = f.read(2)
            if len(hdr) < 2:
                break
            data = f.read(int.from_bytes(hdr, 'big'))
            m = dnstap(data) if mode == 'dnstap' else pbdns(data)
            out.write(json.dumps(m, sort_keys=True) + '\n')
            out.flush()
        conn.close()


if __name__ == '__main__':
    main()
