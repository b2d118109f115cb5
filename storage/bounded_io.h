/*
 * Reading through a mount that may hang. The read runs in a child process that is
 * abandoned (killed, and left to the kernel) at the deadline: a read of a hung mount can
 * block in the kernel where no signal reaches it, and only a separate process can be left
 * behind safely.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads at most size bytes from the start of path into buf. Returns 0 with *len, a negative
 * errno from the read, or -ETIMEDOUT. */
int bounded_read_file(const char *path, void *buf, size_t size, size_t *len, unsigned timeout_ms);
