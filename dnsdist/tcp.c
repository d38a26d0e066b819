#include "dnsdist.h"
void tcp_start(void) {}
void tcp_stop(void) {}
void tcp_accept(struct listener *li) { (void)li; }
