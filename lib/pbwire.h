/*
 * PBDNSMessage serialized without protobuf-c's generic packer.
 */
#ifndef PBWIRE_H
#define PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pb/dnsmessage.pb-c.h"

/*
 * The message as protobuf-c would pack it, in buf: its length, or 0 when
 * it does not fit in cap or holds trace events (never filled here).
 */
size_t	pbwire_dnsmessage(const PBDNSMessage *, uint8_t *buf, size_t cap);

#endif
