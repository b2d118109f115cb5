/*
 * What a run says: one line per finding for people (e2fsck's manner), a JSON document for
 * scripts, a node_exporter textfile for monitoring, and the exit code of fsck(8). All of it
 * is computed from the findings and a few numbers; only report_prometheus_write() touches
 * the file system (the textfile, written atomically).
 */
#pragma once

#include "repair.h"
#include "rules.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes, as fsck(8), added together when several apply. */
enum {
    FSCK_EXIT_CLEAN = 0,
    FSCK_EXIT_FIXED = 1,
    FSCK_EXIT_LEFT = 4,
    FSCK_EXIT_OPERATIONAL = 8,
};

struct fsck_report {
    const struct store_facts *facts;
    const struct finding_list *findings;
    const struct repair_summary *repair; /* NULL unless -y */
    bool deep;
    size_t deep_checked;
    double duration_s;
    int64_t started_at; /* wall clock, seconds */
    bool operational_error; /* something fsck needed could not be done (the textfile, ...) */
};

struct fsck_counts {
    size_t by_severity[3]; /* indexed by enum severity */
    size_t fixed;
    size_t left;     /* errors and warnings not fixed */
    size_t fixable;  /* not fixed, and -y would try */
    size_t base_images;
};

void fsck_count(const struct fsck_report *r, struct fsck_counts *c);
int fsck_exit_code(const struct fsck_report *r);

void report_human(FILE *out, const struct fsck_report *r);
struct json_object *report_json(const struct fsck_report *r);

/* The textfile's content (malloc'd). */
char *report_prometheus_text(const struct fsck_report *r);
/* Writes it to path atomically (a temporary file in the same directory, fsync, rename). */
int report_prometheus_write(const char *path, const struct fsck_report *r, char **error);
