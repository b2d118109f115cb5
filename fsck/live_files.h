/*
 * Which files of the store are held open right now, by any process on this host (a QEMU
 * serving a guest, a streamer writing a partial copy): one pass over /proc/<pid>/fd,
 * collected as store-relative paths. A guest whose disk is open is running, whatever
 * libvirt says; fsck never touches its files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Collects into *held (malloc'd array of malloc'd strings, unsorted) the store-relative
 * paths under one of roots that some other process holds open. Returns 0 or -errno when
 * /proc cannot be read at all. */
int live_files_collect(const char *const *roots, size_t n_roots, char ***held, size_t *n);

/* Is rel (or, for a directory, anything under it) held open now? For the last look just
 * before a repair. */
bool live_files_holds(const char *const *roots, size_t n_roots, const char *rel);
