/*
 * Block and cold migration: the paths that move files. ferry's streamer copies what QEMU
 * does not mirror (block) or everything (cold) into the destination's instance store
 * through its libvirt, and every file and directory made there is remembered so that a
 * failure removes exactly what ferry made, and nothing else.
 */
#pragma once

#include "driver.h"
#include "migrate.h"

/* Live block migration of a running guest; fills o (result, cause, timings, bytes). */
int move_block(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
               struct migrate_outcome *o);

/* Cold migration: shut down (if running), copy (unless shared), define there, start there
 * if it was running, remove here. */
int move_cold(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
              struct migrate_outcome *o);
