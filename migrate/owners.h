/*
 * Keeping the instance's owner records (storage/owner_record.h) true across a move: the
 * source marks its claim "outgoing" before anything moves (fsck leaves a migrating
 * instance alone), the destination's claim "owned" is written through the destination's
 * libvirt once the guest runs there, and the source's claim goes. A failed move puts the
 * source's claim back to "owned". Instances whose directory is not named by a UUID
 * (Nova's layout) have no records.
 */
#pragma once

#include "driver.h"

#include <stdbool.h>

struct owner_move {
    bool enabled;
    char instance[37];
    char store[FACTS_PATH_MAX];
    char src_host[65], dst_host[65];
};

/* Decides whether the instance has records and names the hosts. */
void owners_prepare(struct owner_move *m, const struct ferry_config *cfg, const struct migrate_facts *f);
/* The source's claim becomes "outgoing, peer DEST". */
int owners_mark_outgoing(const struct owner_move *m);
/* The destination's claim "owned" (through its libvirt), then the source's claim goes. */
int owners_finish(struct driver *d, const struct owner_move *m, char **error);
/* After a failure: the source's claim is "owned" again. */
void owners_abort(const struct owner_move *m);
