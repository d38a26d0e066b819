#!/usr/bin/python3
# Writes the synthetic seeds of the fuzz corpus (run from regress/fuzz).
# The dig_* and kdig_* files in corpus/question were captured from dig and
# kdig sending to a UDP socket; this script makes the rest.
import os
import struct


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qd=1, an=0, ns=0, ar=0, flags=0x0100, qid=0x1234):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def query(text, qtype=1, **kw):
    return header(**kw) + name(text) + struct.pack("!HH", qtype, 1)


def put(target, fname, data):
    os.makedirs("corpus/" + target, exist_ok=True)
    with open("corpus/%s/%s" % (target, fname), "wb") as f:
        f.write(data)


# A response: example.com. at 12, www + pointer, mail + pointer to www.
resp = (header(an=1, flags=0x8180) + name("example.com.") +
        b"\x03www\xc0\x0c" + b"\x04mail\xc0\x19" + b"\xff")
long_name = ".".join(["a" * 63] * 3 + ["b" * 61]) + "."    # 255 bytes
# dnsname: the first byte is the offset of the name in the rest.
put("dnsname", "plain", b"\x00" + name("www.example.com."))
put("dnsname", "root", b"\x00\x00")
put("dnsname", "ptr_one", bytes([25]) + resp)
put("dnsname", "ptr_two", bytes([31]) + resp)
put("dnsname", "ptr_loop", b"\x0c" + header() + b"\xc0\x0e\xc0\x0c")
put("dnsname", "ptr_forward", b"\x0c" + header() + b"\xc0\x0e" + name("com"))
put("dnsname", "maxlen", b"\x00" + name(long_name))
put("dnsname", "escapes", b"\x00" + b"\x03a.b\x04\\\"\x00\x20\x00")
put("dnsname", "text", b"0www.Example.COM.")
put("dnsname", "text_escapes", b"0a\\.b.\\000\\255\\\\.")

# question: besides the captured queries, hostile and odd ones.
put("question", "qd2", query("a.example.", qd=2) + name("b.example.") +
    b"\0\1\0\1")
put("question", "trailing", query("www.example.") + b"trailing data")
put("question", "notify", query("example.", qtype=6, flags=0x2400))
put("question", "ptr_header", header() + b"\x03www\xc0\x00\0\1\0\1")
put("question", "truncated", query("www.example.")[:-3])
put("question", "maxlen", query(long_name, qtype=28))
put("question", "opt", query("www.example.", ar=1) +
    b"\0\0\x29\x10\0\0\0\x80\0\0\x0c\0\x0a\0\x08" + b"\x01" * 8)

# netmask and addr: text.
for i, t in enumerate(["192.0.2.0/24", "!10.0.0.0/8", "2001:db8::/32",
                       "::ffff:192.0.2.1/128", "127.0.0.1, ::1 !fe80::/10"]):
    put("netmask", "m%d" % i, t.encode())
# addr: two bytes of default port, then the text.
for i, t in enumerate(["192.0.2.1", "192.0.2.1:53", "[2001:db8::1]:5300",
                       "fe80::1%lo", "[::ffff:127.0.0.1]:65535", "::"]):
    put("addr", "a%d" % i, b"\x00\x35" + t.encode())

# inflight: a script.  The first byte sizes the table (0xff: every ID);
# then operations: 0 or 1 send (labels, each a length and bytes; type;
# class), 2 answer a live query (which, how: 0 a changed byte, 2 a changed
# case, 3 cut, 7 as sent; trailing bytes), 3 raw bytes from the backend,
# 4 time out a live query.
send_www = b"\x00\x01\x02www\x00\x01\x01"
send_two = b"\x01\x02\x06example\x02org\x00\x1c\x01"
put("inflight", "basic", b"\x03" + send_www + send_two +
    b"\x02\x00\x07\x00" + b"\x04\x00")
put("inflight", "full", b"\x00" + send_www + send_www + b"\x02\x00\x07\x00")
put("inflight", "all_ids", b"\xff" + send_www * 3 + b"\x02\x01\x07\x00" +
    b"\x04\x00" + b"\x02\x00\x07\x00")
put("inflight", "altered", b"\x07" + send_www + send_www + send_two +
    b"\x02\x00\x00\x05\x01\x00" + b"\x02\x00\x02\x00" +
    b"\x02\x00\x03\x09\x00" + b"\x02\x00\x07\x0b" + b"\xc0\x0c" +
    b"\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x01")
put("inflight", "raw", b"\x02" + send_www + b"\x03\x1c" +
    bytes(12) + b"\x03www\x00\x00\x01\x00\x01" + b"\x00" +
    b"\x03\x04\x81\x80\x00\x01")

# proxyproto: the first byte picks the maximum size (16 + 8 * it).
PP_SIG = b"\r\n\r\n\0\r\nQUIT\n"
pp_v4 = (PP_SIG + b"\x21\x12" + struct.pack("!H", 18) +
         bytes([192, 0, 2, 1, 192, 0, 2, 2]) + struct.pack("!HH", 8888, 53) +
         b"\x02\x00\x03foo")
pp_v6 = (PP_SIG + b"\x21\x21" + struct.pack("!H", 36 + 8) +
         bytes(15) + b"\x08" + bytes(15) + b"\x09" +
         struct.pack("!HH", 8888, 9999) + b"\x03\x00\x05proxy")
put("proxyproto", "v4_udp_tlv", b"\x40" + pp_v4 + query("example."))
put("proxyproto", "v6_tcp_tlv", b"\x40" + pp_v6)
put("proxyproto", "local", b"\x40" + PP_SIG + b"\x20\x00\x00\x00")
put("proxyproto", "v1_text", b"\x40PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n")
put("proxyproto", "lying_length", b"\x40" + pp_v4[:15] + b"\xff" + pp_v4[16:])
put("proxyproto", "nested", b"\x40" + pp_v4 + pp_v4)
put("proxyproto", "big_tlv", b"\xff" + PP_SIG + b"\x21\x11" +
    struct.pack("!H", 12 + 3 + 1000) + bytes(12) + b"\x01" +
    struct.pack("!H", 1000) + bytes(1000))
# dnscrypt: a flags byte (1 TCP, 2 the XChacha20 certificate, 4 the rest
# is the plain text the harness encrypts, 8 stamp the client magic), then
# the datagram or message.
www = query("www.example.")
for f in (4, 5, 6, 7):
    pad = b"\x80" + bytes(-(len(www) + 1) % 64 + (0 if f & 1 else 128))
    put("dnscrypt", "plain%d" % f, bytes([f]) + www + pad)
put("dnscrypt", "nopad", b"\x04" + www + bytes(100))
put("dnscrypt", "certreq", b"\x00" + query("2.provider.example.", 16))
put("dnscrypt", "magic", b"\x08" + bytes(300))
