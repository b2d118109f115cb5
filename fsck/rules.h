/*
 * fsck's rules: each a pure function from the store's facts (facts.h) to findings. No rule
 * reads a file, a clock or libvirt; every threshold comes in struct fsck_limits. Each rule
 * has a stable name (scripts, the JSON output and the Prometheus metrics key on it), a
 * severity, and whether -y may repair it and how.
 *
 * Severities: error (a guest will fail to start, migrate or keep its data), warning (needs
 * an operator, or wastes space), info (worth knowing; never makes the run fail).
 *
 * A finding on an instance whose guest is running or migrating carries `guarded` with the
 * reason: it is reported and never repaired.
 */
#pragma once

#include "facts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum severity { SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_ERROR };

enum fix_kind {
    FIX_NONE,
    FIX_QUARANTINE,    /* move fix_rel (file, directory or symlink) into .ferry/quarantine/<run>/ */
    FIX_QCOW2_REPAIR,  /* qemu-img check -r all on fix_rel, what QEMU itself does on the next open */
};

struct fsck_limits {
    uint64_t stale_partial_age_s;
    uint64_t unused_base_age_s;
    unsigned max_chain_depth;
    uint64_t lease_timeout_ms;
    const char *config_drive_format; /* [nova] config_drive_format: "iso9660" or "vfat" */
};

struct finding {
    const char *rule; /* the rule's stable name (static) */
    enum severity severity;
    char *rel;        /* the path the finding is about, store-relative */
    char *message;
    enum fix_kind fix;
    char *fix_rel;    /* what the fix acts on (usually rel) */
    char instance[FSCK_UUID_LEN + 1]; /* the instance it belongs to, "" when none */
    char guarded[160]; /* why it must not be touched ("guest running (libvirt)"), "" when it may */
    bool fixed;
    char *not_fixed; /* after a repair attempt that did not happen or failed: why */
};

struct finding_list {
    struct finding *v;
    size_t n, cap;
};

struct rule {
    const char *name;
    enum severity severity; /* the usual one; a rule may report some findings at another */
    enum fix_kind fix;      /* FIX_NONE: never repaired */
    const char *summary;    /* what it finds, one line */
    const char *repair;     /* what -y does, one line ("" when not fixable) */
    void (*check)(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out);
};

extern const struct rule fsck_rules[];
extern const size_t fsck_n_rules;

const struct rule *fsck_rule_find(const char *name);

/* Runs every rule; the findings come out sorted by path, then rule. */
void fsck_rules_run(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out);

/* Is the instance's guest running or migrating (why: one line)? The facts that say so:
 * the local libvirt (active, or a job in progress), a process holding one of its files
 * open, an owner claim in state incoming or outgoing. */
bool instance_guarded(const struct store_facts *f, const char *uuid, char *why, size_t size);

/*
 * May the user uid with groups gids[n] do `want` (a mask of 4 read, 2 write, 1 search)
 * on a file with this mode and owner? The classic Unix check, no ACLs; root is not special
 * here, because the qemu user is never root.
 */
bool unix_access(uint32_t mode, uint32_t file_uid, uint32_t file_gid, uint32_t uid, const uint32_t *gids, size_t n,
                 unsigned want);

/* Is the host dead for ownership purposes, and why? Unknown is not dead. */
bool host_is_dead(const struct store_facts *f, const struct fsck_limits *l, const char *host, char *why, size_t size);

void finding_list_free(struct finding_list *l);
/* Appends a finding (message printf-style); returns it so the caller can set the rest. */
struct finding *finding_add(struct finding_list *l, const char *rule, enum severity s, const char *rel,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

const char *severity_name(enum severity s); /* "error", "warning", "info" */
