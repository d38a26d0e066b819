/* A growable text buffer for console output and reports. */
#ifndef SBUF_H
#define SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char	*sb_buf;	/* NUL-terminated when sb_len > 0 */
	size_t	 sb_len;
	size_t	 sb_cap;
	int	 sb_failed;	/* an allocation failed; text is cut */
};

void	sbuf_init(struct sbuf *);
void	sbuf_free(struct sbuf *);
void	sbuf_reset(struct sbuf *);
void	sbuf_add(struct sbuf *, const char *, size_t);
void	sbuf_puts(struct sbuf *, const char *);
void	sbuf_printf(struct sbuf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	sbuf_vprintf(struct sbuf *, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));
/* Replace the string *dst (freed) with a new formatted one.  0 or -1. */
int	sbuf_vreplace(char **dst, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));
/* The text, "" when empty; valid until the next change. */
const char *sbuf_text(const struct sbuf *);

#endif /* SBUF_H */
