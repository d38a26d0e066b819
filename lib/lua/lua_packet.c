/*
 * DNSPacketOverlay: a read-only view of a DNS message given as a string
 * (newDNSPacketOverlay), its question, header and records, over the same
 * parser as the packet path (dnspacket_walk).
 */
#include <stdint.h>
#include <string.h>

#include "dnsname.h"
#include "dnspacket.h"
#include "lua.h"

#define OVERLAY_MT	"dnsdist.DNSPacketOverlay"

/* The userdata: this, then the records, then a copy of the message. */
struct overlay {
	size_t		 ov_len;
	size_t		 ov_nrec;
	struct dnsquestion ov_q;	/* q_namelen 0: no question */
	struct dnsrr	 ov_rec[];
};

struct overlay_fill {
	struct overlay	*of_ov;
	size_t		 of_n;
};

static void
overlay_count(void *arg, const struct dnsrr *rr)
{
	(void)rr;
	(*(size_t *)arg)++;
}

static void
overlay_add(void *arg, const struct dnsrr *rr)
{
	struct overlay_fill	*of = arg;

	of->of_ov->ov_rec[of->of_n++] = *rr;
}

static const uint8_t *
overlay_pkt(const struct overlay *ov)
{
	return (const uint8_t *)&ov->ov_rec[ov->ov_nrec];
}

static int
l_newdnspacketoverlay(lua_State *L)
{
	size_t			 len, n = 0, qend = DNS_HDRLEN;
	const uint8_t		*pkt = (const uint8_t *)luaL_checklstring(L, 1,
				    &len);
	struct dnsquestion	 q;
	struct overlay		*ov;
	struct overlay_fill	 of;
	unsigned int		 i;

	memset(&q, 0, sizeof(q));
	if (len < DNS_HDRLEN)
		return luaL_error(L, "newDNSPacketOverlay: %d bytes are too "
		    "short for a DNS message", (int)len);
	/* Every question is read; the last one stays, as in dnsdist. */
	for (i = 0; i < dnspacket_qdcount(pkt); i++) {
		if (dnsname_parse(pkt, len, &qend, q.q_name,
		    &q.q_namelen) == -1 || len - qend < 4)
			return luaL_error(L, "newDNSPacketOverlay: question %d "
			    "does not parse", (int)i + 1);
		q.q_type = dnspacket_get16(pkt + qend);
		q.q_class = dnspacket_get16(pkt + qend + 2);
		qend += 4;
	}
	if (dnspacket_walk(pkt, len, qend, overlay_count, &n) == -1)
		return luaL_error(L, "newDNSPacketOverlay: the records do not "
		    "parse");
	ov = lua_newuserdata(L, sizeof(*ov) + n * sizeof(struct dnsrr) + len);
	ov->ov_len = len;
	ov->ov_nrec = n;
	ov->ov_q = q;
	memcpy((uint8_t *)&ov->ov_rec[n], pkt, len);
	of.of_ov = ov;
	of.of_n = 0;
	dnspacket_walk(overlay_pkt(ov), len, qend, overlay_add, &of);
	luaL_setmetatable(L, OVERLAY_MT);
	return 1;
}

/*
 * overlay:getRecordsCountInSection(section): 1 answer, 2 authority, 3
 * additional; the question is not a record (0), as in dnsdist.
 */
static int
l_overlay_count(lua_State *L)
{
	struct overlay	*ov = luaL_checkudata(L, 1, OVERLAY_MT);
	lua_Integer	 section = luaL_checkinteger(L, 2);
	size_t		 i, n = 0;

	for (i = 0; i < ov->ov_nrec; i++)
		if (ov->ov_rec[i].rr_section == section)
			n++;
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

/* overlay:getRecord(i): the record i (from 0) after the question. */
static int
l_overlay_getrecord(lua_State *L)
{
	struct overlay		*ov = luaL_checkudata(L, 1, OVERLAY_MT);
	lua_Integer		 i = luaL_checkinteger(L, 2);
	const struct dnsrr	*rr;
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 off, nlen;

	if (i < 0 || (size_t)i >= ov->ov_nrec)
		return luaL_error(L, "getRecord: no record %I (the message "
		    "has %d)", i, (int)ov->ov_nrec);
	rr = &ov->ov_rec[i];
	off = rr->rr_off;
	/* It parsed when the overlay was made. */
	if (dnsname_parse(overlay_pkt(ov), ov->ov_len, &off, name, &nlen) ==
	    -1)
		return luaL_error(L, "getRecord: bad owner name");
	lua_createtable(L, 0, 7);
	dlua_push_dnsname(L, name, nlen);
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, rr->rr_type);
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, rr->rr_class);
	lua_setfield(L, -2, "class");
	lua_pushinteger(L, rr->rr_ttl);
	lua_setfield(L, -2, "ttl");
	lua_pushinteger(L, rr->rr_section);
	lua_setfield(L, -2, "place");
	lua_pushinteger(L, rr->rr_rdlen);
	lua_setfield(L, -2, "contentLength");
	lua_pushinteger(L, (lua_Integer)rr->rr_rdoff);
	lua_setfield(L, -2, "contentOffset");
	return 1;
}

static int
l_overlay_index(lua_State *L)
{
	struct overlay	*ov = luaL_checkudata(L, 1, OVERLAY_MT);
	const char	*k = luaL_checkstring(L, 2);

	if (strcmp(k, "qname") == 0) {
		if (ov->ov_q.q_namelen == 0)
			lua_pushnil(L);
		else
			dlua_push_dnsname(L, ov->ov_q.q_name,
			    ov->ov_q.q_namelen);
	} else if (strcmp(k, "qtype") == 0)
		lua_pushinteger(L, ov->ov_q.q_type);
	else if (strcmp(k, "qclass") == 0)
		lua_pushinteger(L, ov->ov_q.q_class);
	else if (strcmp(k, "dh") == 0)
		dlua_push_header(L, overlay_pkt(ov));
	else
		lua_getfield(L, lua_upvalueindex(1), k);	/* methods */
	return 1;
}

static const luaL_Reg overlay_methods[] = {
	{ "getRecordsCountInSection", l_overlay_count },
	{ "getRecord", l_overlay_getrecord },
	{ NULL, NULL }
};

void
dlua_open_packet(lua_State *L)
{
	luaL_newmetatable(L, OVERLAY_MT);
	luaL_newlib(L, overlay_methods);
	lua_pushcclosure(L, l_overlay_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_register(L, "newDNSPacketOverlay", l_newdnspacketoverlay);
}
