/*
 * One fsck run: scan the store (facts), run the rules (findings), repair with -y, report.
 * The command (cmd_fsck.c) only turns options and configuration into fsck_options.
 */
#pragma once

#include "rules.h"

#include <stdbool.h>
#include <stdio.h>

#define FSCK_LIBVIRT_TIMEOUT_MS 10000

struct fsck_options {
    const char *instances;   /* the store, absolute and resolved */
    const char *mount_point; /* [storage] mount_point: another name of the store for QEMU */
    bool repair;             /* -y */
    bool deep;
    bool json;
    const char *prometheus; /* NULL: none */
    unsigned jobs;          /* 0: one per CPU */
    struct fsck_limits limits;
    const char *libvirt_uri; /* NULL: libvirt is not asked */
    const char *runtime_dir; /* the watch daemon's watch.json; NULL: not read */
};

/* Runs and prints the result on out; returns the exit code (fsck(8)). */
int fsck_run(const struct fsck_options *o, FILE *out);
