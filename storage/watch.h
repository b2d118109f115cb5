/*
 * `ferry storage watch`, the host's lease daemon, and the files it shares with the other
 * storage commands.
 *
 * On the export (through libnfs, never the mount):
 *   .ferry/leases/HOST   this host's lease record, rewritten in place every renew_interval
 *   .ferry/fence/HOST    a request that HOST fence itself (ferry storage fence --host HOST)
 * On the host:
 *   STATE_DIR/host-id    this host's UUID, made once
 *   STATE_DIR/fenced     present while the host is fenced (why and since when); removed by
 *                        `ferry storage unfence`
 *   RUNTIME_DIR/watch.json  the daemon's latest status: its renewals, its fencing, and what
 *                        it observes of the other hosts (read by status and validate)
 */
#pragma once

#include "config.h"
#include "lease_record.h"

#include <stdbool.h>

#define LEASE_DIR ".ferry/leases"
#define FENCE_DIR ".ferry/fence"

/* Runs the daemon until SIGTERM or SIGINT. Returns an exit code. */
int storage_watch_run(const struct ferry_config *cfg);

/* This host's name as the lease files know it (the short host name). */
int watch_host_name(char host[LEASE_HOST_MAX + 1]);

/* What this host's watch daemon observes of another host (from RUNTIME_DIR/watch.json):
 * liveness ("live", "expired", "fenced", "released", "unknown") and its record's state.
 * -ENOENT when no daemon runs here or it has not seen host. */
int watch_peer_status(const struct ferry_config *cfg, const char *host, char *liveness, size_t lsize, char *state,
                      size_t ssize);

/* STATE_DIR/fenced: is the host fenced, and why (reason may be NULL). */
bool watch_is_fenced(const struct ferry_config *cfg, char *reason, size_t size);
int watch_set_fenced(const struct ferry_config *cfg, const char *reason);
int watch_clear_fenced(const struct ferry_config *cfg);
