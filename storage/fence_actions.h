/*
 * What fencing does to this host's guests: the guests whose disks are on the export are
 * suspended (or destroyed), each call bounded by a deadline. QEMU's pause drains in-flight
 * I/O, and the I/O in flight is on the storage that is failing, so a suspend can block; a
 * call that misses its deadline is left behind in its own thread, and the caller escalates.
 * The one place in storage that talks to libvirt.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum fence_guest_action { FENCE_GUEST_SUSPEND, FENCE_GUEST_DESTROY };

enum fence_guest_outcome {
    FENCE_GUEST_PENDING,   /* not tried yet */
    FENCE_GUEST_DONE,      /* paused (suspend) or gone (destroy) */
    FENCE_GUEST_FAILED,    /* libvirt said no */
    FENCE_GUEST_TIMED_OUT, /* no answer by the deadline: escalate */
};

struct fence_guest {
    char name[256];
    enum fence_guest_outcome outcome;
    char error[256];
};

/* The running or paused guests of libvirt at uri with a disk under dir. *guests is malloc'd. */
int fence_guests_on(const char *uri, const char *dir, struct fence_guest **guests, size_t *n, char **error);

/* Applies action to every guest not yet DONE, in parallel, each bounded by timeout_ms.
 * Returns how many are DONE afterwards. */
size_t fence_guests_apply(const char *uri, struct fence_guest *guests, size_t n, enum fence_guest_action action,
                          unsigned timeout_ms);

const char *fence_guest_action_name(enum fence_guest_action a);
