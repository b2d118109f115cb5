/*
 * Kernel NFS mount options for VM images. ferry's defaults are what guest disks need:
 * hard (a soft mount returns EIO to QEMU when the server is slow, which corrupts guest
 * file systems), TCP, a long timeout and few retransmissions, and the configured version.
 * The operator's extras are added; one that names a default replaces it. Unsafe ones
 * (soft, softerr, ro) are refused unless forced.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MOUNT_OPTIONS_DEFAULTS "hard,proto=tcp,timeo=600,retrans=2"

/* Writes the final comma-separated options into out. Returns 0, -EINVAL with *error set
 * (malloc'd, one line naming the option and the way out), or -ENOSPC. */
int mount_options_build(const char *nfs_version, const char *extra, bool force, char *out, size_t size,
                        char **error);
