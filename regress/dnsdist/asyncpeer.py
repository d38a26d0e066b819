#!/usr/bin/env python3
# The external component of t_async: it reads the DNS messages the daemon's
# hooks send it over a Unix datagram socket, and answers each with
# "ID VERB" on the daemon's own socket, the verb being the first label of
# the name up to a "-" (accept, refuse, drop, custom); any other verb gets
# no answer, so that the held query times out.  Every message is logged
# as "ID QR VERB".  Exits after 120 seconds without a message.
#
# usage: asyncpeer.py LISTEN_PATH DAEMON_PATH LOG_PATH
import os
import socket
import sys

listen, daemon, logpath = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(listen)
s.settimeout(120)
out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
open(listen + ".ready", "w").close()
with open(logpath, "a", buffering=1) as log:
    while True:
        try:
            msg = s.recv(65535)
        except socket.timeout:
            break
        if len(msg) < 13:
            continue
        qid = int.from_bytes(msg[0:2], "big")
        qr = msg[2] >> 7
        verb = msg[13:13 + msg[12]].decode("ascii", "replace").split("-")[0]
        log.write("%d %d %s\n" % (qid, qr, verb))
        if verb in ("accept", "refuse", "drop", "custom"):
            try:
                out.sendto(("%d %s" % (qid, verb)).encode(), daemon)
            except OSError as e:
                log.write("send: %s\n" % e)
os.unlink(listen)
