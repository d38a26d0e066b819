/*
 * UUIDs as text ("8-4-4-4-12" hex digits), as dnsdist shows those of its
 * rules and servers.
 */
#ifndef UUID_H
#define UUID_H

#define UUID_TEXTLEN	36

/* A random (version 4) UUID into out, UUID_TEXTLEN + 1 bytes. */
void	uuid_random(char *out);
/* text in lower case into out (UUID_TEXTLEN + 1 bytes); -1 if no UUID. */
int	uuid_parse(const char *text, char *out);

#endif /* UUID_H */
