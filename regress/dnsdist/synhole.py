#!/usr/bin/python3
# A TCP port on 127.0.0.1 whose connects never complete, for the tests of
# connect timeouts: a listener with a backlog of 0 that never accepts,
# whose accept queue this script fills with its own connections.  Linux
# then drops the SYNs of any other connect.  Writes READY once a connect
# of its own stays unanswered, and exits after SECS seconds at most.
#
#   synhole.py PORT READY [SECS]

import socket
import sys
import time


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: synhole.py PORT READY [SECS]", file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    secs = float(sys.argv[3]) if len(sys.argv) == 4 else 60
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(0)
    held = []
    for _ in range(16):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(0.5)
        try:
            c.connect(("127.0.0.1", port))
        except socket.timeout:
            break
        held.append(c)
    else:
        print("synhole: the accept queue does not fill", file=sys.stderr)
        return 1
    open(sys.argv[2], "w").close()
    time.sleep(secs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
