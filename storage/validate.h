/*
 * `ferry storage validate`: can the export behind the instance directory be trusted?
 * The facts are gathered here — through libnfs for the server's side and in a child process
 * for everything that touches the mount — all against one deadline, so that a hung mount or
 * a dead server costs the deadline and no more. The verdict is verdict.c's pure business.
 */
#pragma once

#include "config.h"
#include "verdict.h"

#include <stddef.h>

#define VALIDATE_MAX_CHECKS 16

struct validate_report {
    struct check_result checks[VALIDATE_MAX_CHECKS];
    size_t n;
    enum verdict verdict;
    uint64_t elapsed_ms;
};

/* Runs every check on the mount at dir (NULL: [storage] mount_point). Returns 0 with the report
 * filled (whatever the verdict), or a negative errno when validate itself could not run. */
int storage_validate(const struct ferry_config *cfg, const char *dir, struct validate_report *report, char **error);

/* Check names, in the order validate reports them. */
#define CHECK_MOUNTED "mounted"
#define CHECK_SOURCE "source"
#define CHECK_REACHABLE "reachable"
#define CHECK_IDENTITY "identity"
#define CHECK_WRITE "write"
#define CHECK_OWNERS "owners"
#define CHECK_SPACE "space"
#define CHECK_INODES "inodes"
#define CHECK_LATENCY "latency"
#define CHECK_OPTIONS "options"
#define CHECK_LEASE "lease"
#define CHECK_FENCED "fenced"

/* Where ferry keeps its files on the export, relative to the export's root. */
#define FERRY_AREA ".ferry"
#define FERRY_EXPORT_ID FERRY_AREA "/export-id"
#define FERRY_PROBE_DIR FERRY_AREA "/probe"
