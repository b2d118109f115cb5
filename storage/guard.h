/*
 * The mount-point guard. While the export is not mounted, Nova must not be able to write
 * instances into the local directory underneath (they would vanish from every other host's
 * view, and reappear hidden when the export is mounted again). The guard makes that
 * directory immutable and mode 000, so even root cannot create anything in it.
 *
 * The guard stays on the underlying directory while the export is mounted on top (the
 * mount hides it, and QEMU and Nova see the export's root): if the mount ever vanishes, the
 * directory underneath is already guarded.
 */
#pragma once

#include <stdbool.h>

struct guard_state {
    bool immutable;
    bool mode_zero;
    bool immutable_supported; /* the filesystem knows the immutable attribute */
};

/* Guards dir (which must be a directory with nothing mounted on it). Returns 0, or a negative
 * errno with *error naming the directory and the cause. A filesystem without the immutable
 * attribute gets mode 000 only (state says so). */
int guard_apply(const char *dir, struct guard_state *state, char **error);
/* Removes the guard, leaving mode (e.g. 0755). */
int guard_lift(const char *dir, unsigned mode, char **error);
/* Reads the guard state of dir (of what the path resolves to). */
int guard_read(const char *dir, struct guard_state *state);
