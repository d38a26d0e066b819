# GNU make build for dnsdist.  Makefile.bsd builds the same objects with BSD make.
#   make            build the daemon, the library and the test programs
#   make deps       install missing packages (as root) or print the command
#   make run        local demo: two loopback backends and the daemon on 127.0.0.1:5300
#   make check      run the whole Kyua suite
#   make DEBUG=1    build with ASan and UBSan (objects are rebuilt when flags change)
#   make TSAN=1     build with ThreadSanitizer; `make check TSAN=1 TESTS=...`
#                   runs the given test programs (all by default) under it
#   make fuzz       build the libFuzzer targets, run each for FUZZ_SECONDS (60)
#   make fuzz-smoke the same for 10 seconds each (CI)
#   make install    PREFIX (/usr/local), DESTDIR, BINDIR, MANDIR, SYSCONFDIR

include lib/sources.mk
include dnsdist/sources.mk
include regress/sources.mk

OS !=		uname -s
PKG_CONFIG ?=	pkg-config

# Where things go, after hier(7) of each system.  DEFCONF is the
# configuration file that the rc script or unit names, replaced on install.
PREFIX ?=	/usr/local
BINDIR ?=	$(PREFIX)/sbin
ifeq ($(OS),Linux)
LUA_PC ?=	lua5.3
OS_PC =		libbsd-overlay
OS_CPPFLAGS =	-D_GNU_SOURCE
MANDIR ?=	$(PREFIX)/share/man
SYSCONFDIR ?=	/etc/dnsdist
CONFDIR =	$(SYSCONFDIR)
EXAMPLESDIR ?=	$(PREFIX)/share/doc/dnsdist
SERVICE =	etc/systemd/dnsdist.service
SERVICEDIR ?=	$(PREFIX)/lib/systemd/system
SERVICEMODE =	444
DEFCONF =	/etc/dnsdist/dnsdist.conf
else ifeq ($(OS),FreeBSD)
LUA_PC ?=	lua-5.3
MANDIR ?=	$(PREFIX)/share/man
SYSCONFDIR ?=	$(PREFIX)/etc
CONFDIR =	$(SYSCONFDIR)/dnsdist
EXAMPLESDIR ?=	$(PREFIX)/share/examples/dnsdist
SERVICE =	etc/rc.d/freebsd/dnsdist
SERVICEDIR ?=	$(PREFIX)/etc/rc.d
SERVICEMODE =	555
DEFCONF =	/usr/local/etc/dnsdist/dnsdist.conf
else
LUA_PC ?=	lua53
MANDIR ?=	$(PREFIX)/man
SYSCONFDIR ?=	/etc
CONFDIR =	$(SYSCONFDIR)
EXAMPLESDIR ?=	$(PREFIX)/share/examples/dnsdist
SERVICE =	etc/rc.d/openbsd/dnsdist
SERVICEDIR ?=	/etc/rc.d
SERVICEMODE =	555
DEFCONF =	/etc/dnsdist.conf
endif
CONFFILE =	$(CONFDIR)/dnsdist.conf

LUA_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags $(LUA_PC))
LUA_LIBS ?=	$(shell $(PKG_CONFIG) --libs $(LUA_PC))
SODIUM_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libsodium)
SODIUM_LIBS ?=	$(shell $(PKG_CONFIG) --libs libsodium)
NGHTTP2_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libnghttp2)
NGHTTP2_LIBS ?=	$(shell $(PKG_CONFIG) --libs libnghttp2)
EDIT_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags libedit)
EDIT_LIBS ?=	$(shell $(PKG_CONFIG) --libs libedit)
PB_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags libprotobuf-c libfstrm)
PB_LIBS ?=	$(shell $(PKG_CONFIG) --libs libprotobuf-c libfstrm)
OS_CFLAGS ?=	$(if $(OS_PC),$(shell $(PKG_CONFIG) --cflags $(OS_PC)))
OS_LIBS ?=	$(if $(OS_PC),$(shell $(PKG_CONFIG) --libs $(OS_PC)))
# tinycdb and LMDB (the key-value stores).  Debian's libcdb-dev ships a
# libcdb.pc; where tinycdb comes without one, plain -lcdb is enough.
CDB_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags libcdb 2>/dev/null)
CDB_LIBS ?=	$(shell $(PKG_CONFIG) --libs libcdb 2>/dev/null || echo -lcdb)
LMDB_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags lmdb)
LMDB_LIBS ?=	$(shell $(PKG_CONFIG) --libs lmdb)
# DNS over TLS through OpenSSL's libssl (TLS=openssl, the default here:
# Linux's libtls is libretls, which resumes no TLS session; see README),
# or through libtls (TLS=libtls: LibreSSL's API); TLS=no builds without
# it, and refuses addTLSLocal().
TLS ?=		openssl
ifeq ($(TLS),no)
TLS_CPPFLAGS =	-DDNSDIST_NO_TLS
DNSDIST_SRCS +=	$(DNSDIST_NOTLS_SRCS)
else
ifeq ($(TLS),libtls)
TLS_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags libtls)
TLS_LIBS ?=	$(shell $(PKG_CONFIG) --libs libtls)
DNSDIST_SRCS +=	$(DNSDIST_LIBTLS_SRCS)
else ifeq ($(TLS),openssl)
TLS_CPPFLAGS =	-DDNSDIST_TLS_OPENSSL
TLS_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags libssl)
TLS_LIBS ?=	$(shell $(PKG_CONFIG) --libs libssl)
DNSDIST_SRCS +=	$(DNSDIST_OSSL_SRCS)
else
$(error TLS must be openssl, libtls or no)
endif
# ipcipher's AES-128 and PBKDF2, PKCS#12 and OCSP, from libcrypto.
CRYPTO_LIBS ?=	$(shell $(PKG_CONFIG) --libs libcrypto)
DNSDIST_SRCS +=	$(DNSDIST_TLS_SRCS)
endif
ATF_CFLAGS ?=	$(shell $(PKG_CONFIG) --cflags atf-c 2>/dev/null)
ATF_LIBS ?=	$(shell $(PKG_CONFIG) --libs atf-c 2>/dev/null)

WARNINGS =	-Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
		-Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARNINGS +=	-Werror
endif
ifeq ($(DEBUG),1)
OPT =		-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined
LDSAN =		-fsanitize=address,undefined
else ifeq ($(TSAN),1)
OPT =		-O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDSAN =		-fsanitize=thread
else
OPT =		-O2 -g
endif
ifeq ($(NO_MMSG),1)
OS_CPPFLAGS +=	-DCOMPAT_NO_MMSG
endif

CFLAGS ?=	$(OPT)
CFLAGS +=	-std=c11 -pthread $(WARNINGS)
CPPFLAGS +=	-I. -Ilib $(OS_CPPFLAGS) $(LUA_CFLAGS) $(SODIUM_CFLAGS) $(EDIT_CFLAGS) $(OS_CFLAGS) \
		$(CDB_CFLAGS) $(LMDB_CFLAGS) $(PB_CFLAGS) $(NGHTTP2_CFLAGS)
CPPFLAGS +=	$(TLS_CPPFLAGS) $(TLS_CFLAGS)
CPPFLAGS +=	-DDNSDIST_CONFIG=\"$(CONFFILE)\"
LDFLAGS +=	-pthread $(LDSAN)
LIBS =		$(LUA_LIBS) $(SODIUM_LIBS) $(CDB_LIBS) $(LMDB_LIBS) $(PB_LIBS) \
		$(CRYPTO_LIBS) $(OS_LIBS) -lm

LIB_OBJS =	$(LIB_SRCS:.c=.o)
DNSDIST_OBJS =	$(DNSDIST_SRCS:.c=.o)
RESPONDER =	regress/responder/responder

all: dnsdist/dnsdist $(REGRESS_LIB_TESTS) $(RESPONDER)

# Objects depend on the flags they were built with, so DEBUG=1 and back rebuilds.
FLAGS_STAMP =	.build-flags
FLAGS_NOW =	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(FLAGS_STAMP): FORCE
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

%.o: %.c $(FLAGS_STAMP) $(wildcard lib/*.h lib/compat/*.h lib/pb/*.h dnsdist/*.h)
	$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@

lib/libdnsdist.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

dnsdist/dnsdist: $(DNSDIST_OBJS) lib/libdnsdist.a
	$(CC) $(LDFLAGS) -o $@ $(DNSDIST_OBJS) lib/libdnsdist.a $(EDIT_LIBS) \
	    $(NGHTTP2_LIBS) $(TLS_LIBS) $(LIBS)

regress/lib/t_%: regress/lib/t_%.c lib/libdnsdist.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(ATF_CFLAGS) $(LDFLAGS) -o $@ $< \
	    lib/libdnsdist.a $(ATF_LIBS) $(LIBS)

$(RESPONDER): $(RESPONDER_SRCS) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(OS_CPPFLAGS) $(LDFLAGS) -o $@ $(RESPONDER_SRCS)

# lib/pb/*.pb-c.[ch] are protoc-c's output, kept in git so that neither
# make needs protoc-c; `make proto` makes them again from the .proto files.
proto:
	cd lib/pb && protoc-c --c_out=. dnsmessage.proto dnstap.proto

# The fuzz targets compile the library sources they need themselves, with
# clang's fuzzer and sanitizer flags, so that no normal object is touched.
FUZZ_CC ?=	clang
FUZZ_FLAGS ?=	-g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?=	60

regress/fuzz/fuzz_%: regress/fuzz/fuzz_%.c $(FUZZ_LIB_SRCS) $(wildcard lib/*.h)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 $(WARNINGS) $(CPPFLAGS) $(PB_CFLAGS) \
	    -o $@ $< $(FUZZ_LIB_SRCS) $(SODIUM_LIBS) $(CDB_LIBS) $(LMDB_LIBS) \
	    $(PB_LIBS) $(OS_LIBS)

fuzz: $(FUZZ_TARGETS)
	@sh regress/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_TARGETS)
	@sh regress/fuzz/run.sh 10 $(FUZZ_TARGETS)

deps:
	@sh regress/deps.sh

run: deps all
	@sh etc/demo.sh $(BACKENDS)

check: deps all
	@sh regress/run.sh $(TESTS)

bench: deps all
	@sh regress/bench/run.sh

# The configuration is installed only where there is none yet.
install: dnsdist/dnsdist
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(EXAMPLESDIR) \
	    $(DESTDIR)$(CONFDIR) $(DESTDIR)$(SERVICEDIR)
	install -m 555 dnsdist/dnsdist $(DESTDIR)$(BINDIR)/dnsdist
	install -m 444 man/dnsdist.8 $(DESTDIR)$(MANDIR)/man8/dnsdist.8
	install -m 444 man/dnsdist.conf.5 $(DESTDIR)$(MANDIR)/man5/dnsdist.conf.5
	install -m 444 etc/dnsdist.conf $(DESTDIR)$(EXAMPLESDIR)/dnsdist.conf
	[ -e $(DESTDIR)$(CONFFILE) ] || \
	    install -m 644 etc/dnsdist.conf $(DESTDIR)$(CONFFILE)
	sed -e 's|/usr/local/sbin/dnsdist|$(BINDIR)/dnsdist|g' \
	    -e 's|$(DEFCONF)|$(CONFFILE)|g' $(SERVICE) >$(SERVICE).inst
	install -m $(SERVICEMODE) $(SERVICE).inst \
	    $(DESTDIR)$(SERVICEDIR)/$(notdir $(SERVICE))
	rm -f $(SERVICE).inst

lint:
	-cppcheck --quiet --enable=warning,portability --std=c11 -Ilib lib dnsdist
	-clang-tidy $(LIB_SRCS) $(DNSDIST_SRCS) -- $(CPPFLAGS)
	mandoc -Tlint -Wwarning man/*.[0-9]

clean:
	rm -f $(LIB_OBJS) $(DNSDIST_OBJS) lib/libdnsdist.a dnsdist/dnsdist \
	    $(REGRESS_LIB_TESTS) $(RESPONDER) $(FLAGS_STAMP) $(FUZZ_TARGETS)
	rm -rf regress/fuzz/work

FORCE:
.PHONY: all deps run check bench lint clean fuzz fuzz-smoke install proto FORCE
