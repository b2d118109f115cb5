/*
 * An NFS export, as people write one: the kernel's "server:/path" ("[v6]:/path" for IPv6)
 * or libnfs's "nfs://server/path?version=N". Both spellings parse into one struct with the
 * path normalised, so two spellings of the same export compare equal, and the struct prints
 * back either way: export_spec_format() for mount(8) and mountinfo, export_spec_url() for
 * ferry's FUSE bridge over libnfs. Pure: no name lookups, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum { EXPORT_SPEC_SERVER_MAX = 255, EXPORT_SPEC_PATH_MAX = 1024 };

/* Buffer sizes that always suffice: "[server]:path" and "nfs://[server]path?version=N". */
enum {
    EXPORT_SPEC_FORMAT_SIZE = 1 + EXPORT_SPEC_SERVER_MAX + 2 + EXPORT_SPEC_PATH_MAX + 1,
    EXPORT_SPEC_URL_SIZE = 7 + EXPORT_SPEC_SERVER_MAX + 1 + EXPORT_SPEC_PATH_MAX + 10 + 1,
};

struct export_spec {
    char server[EXPORT_SPEC_SERVER_MAX + 1]; /* host name, IPv4, or IPv6 without brackets */
    char path[EXPORT_SPEC_PATH_MAX + 1];     /* absolute, normalised: no "//", no trailing "/"
                                                (except "/"), no "." or ".." components */
    int version;                             /* 0 = not given, 3 or 4 */
};

/*
 * Parses "server:/path", "[v6addr]:/path", "nfs://server/path", "nfs://server/path?version=3",
 * "nfs://[v6]/path?version=4". Host names are kept as written; IPv6 addresses are stored in
 * their canonical text form (inet_ntop), without brackets.
 * Returns 0 with *error = NULL, or -EINVAL with *spec untouched and *error set (malloc'd, one
 * line) naming the spec, what is wrong and what a good spec looks like. error may be NULL.
 */
int export_spec_parse(const char *text, struct export_spec *spec, char **error);

/* Canonical kernel-style form "server:/path" ("[v6]:/path" for IPv6).
 * Returns 0, -EINVAL for a spec without server or absolute path, -ENOSPC if buf is too small. */
int export_spec_format(const struct export_spec *spec, char *buf, size_t size);

/* libnfs URL "nfs://server/path?version=N" (N = spec version, else default_version, which
 * must be 3 or 4). Returns 0, -EINVAL, or -ENOSPC if buf is too small. */
int export_spec_url(const struct export_spec *spec, int default_version, char *buf, size_t size);

/* Same export? Compares server (case-insensitive for names, by address for IPv6) and
 * normalised path; version ignored. False if either is NULL. */
bool export_spec_equal(const struct export_spec *a, const struct export_spec *b);
