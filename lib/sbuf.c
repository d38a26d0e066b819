#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void
sbuf_init(struct sbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void
sbuf_free(struct sbuf *sb)
{
	free(sb->sb_buf);
	sbuf_init(sb);
}

void
sbuf_reset(struct sbuf *sb)
{
	sb->sb_len = 0;
	sb->sb_failed = 0;
	if (sb->sb_buf != NULL)
		sb->sb_buf[0] = '\0';
}

static int
sbuf_grow(struct sbuf *sb, size_t need)
{
	size_t	 cap;
	char	*nb;

	if (sb->sb_len + need + 1 <= sb->sb_cap)
		return 0;
	cap = sb->sb_cap ? sb->sb_cap : 256;
	while (cap < sb->sb_len + need + 1)
		cap *= 2;
	if ((nb = realloc(sb->sb_buf, cap)) == NULL) {
		sb->sb_failed = 1;
		return -1;
	}
	sb->sb_buf = nb;
	sb->sb_cap = cap;
	return 0;
}

void
sbuf_add(struct sbuf *sb, const char *s, size_t len)
{
	if (sbuf_grow(sb, len) == -1)
		return;
	memcpy(sb->sb_buf + sb->sb_len, s, len);
	sb->sb_len += len;
	sb->sb_buf[sb->sb_len] = '\0';
}

void
sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void
sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list	ap2;
	int	n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || sbuf_grow(sb, (size_t)n) == -1)
		return;
	vsnprintf(sb->sb_buf + sb->sb_len, (size_t)n + 1, fmt, ap);
	sb->sb_len += (size_t)n;
}

void
sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *
sbuf_text(const struct sbuf *sb)
{
	return sb->sb_len ? sb->sb_buf : "";
}

int
sbuf_vreplace(char **dst, const char *fmt, va_list ap)
{
	char	*d;

	if (vasprintf(&d, fmt, ap) == -1)
		return -1;
	free(*dst);
	*dst = d;
	return 0;
}
