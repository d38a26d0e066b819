#!/usr/bin/python3
# Figures on the query IDs and source ports a backend saw, from the
# responder's -L log (lines "ID PORT LABEL RD CD ADDR"), for the end-to-end tests.
#
#   idstat.py LOG LABEL
#	Takes the queries whose name starts with LABEL, in the order they
#	came, and prints one line of "key=value" figures:
#	  n		queries
#	  distinct	distinct IDs
#	  samexor	IDs whose XOR with the one before equals the XOR of the
#			two before them (a counter under a fixed mask does
#			this all the time, random IDs about once in 65536)
#	  samestep	IDs that step from the one before by the same amount
#			as that one did from its own
#	  up1		IDs one more than the one before (modulo 65536)
#	  hibytes	distinct high bytes of the IDs
#	  ports		distinct source ports
#	  minport, maxport	the fewest and most queries from one port
#	  repeats	queries from the same port as the query before

import sys


def main():
    if len(sys.argv) != 3:
        print("usage: idstat.py LOG LABEL", file=sys.stderr)
        return 2
    ids, ports = [], []
    with open(sys.argv[1]) as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and w[2].lower() == sys.argv[2].lower():
                ids.append(int(w[0]))
                ports.append(int(w[1]))
    n = len(ids)
    samexor = sum(1 for i in range(2, n)
                  if ids[i] ^ ids[i - 1] == ids[i - 1] ^ ids[i - 2])
    samestep = sum(1 for i in range(2, n)
                   if (ids[i] - ids[i - 1]) % 65536 ==
                   (ids[i - 1] - ids[i - 2]) % 65536)
    up1 = sum(1 for i in range(1, n) if ids[i] == (ids[i - 1] + 1) % 65536)
    per = {}
    for p in ports:
        per[p] = per.get(p, 0) + 1
    repeats = sum(1 for i in range(1, n) if ports[i] == ports[i - 1])
    print("n=%d distinct=%d samexor=%d samestep=%d up1=%d hibytes=%d "
          "ports=%d minport=%d maxport=%d repeats=%d" % (
              n, len(set(ids)), samexor, samestep, up1,
              len(set(i >> 8 for i in ids)), len(per),
              min(per.values()) if per else 0,
              max(per.values()) if per else 0, repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
