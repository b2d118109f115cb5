/*
 * The migration planner: the path, or the reason there is none, from the facts and the
 * checks' results. This file is the tables below and nothing else.
 *
 * The path, first matching row wins. "proven": ferry proved the hosts share the instance
 * directory (migrate_sharing_proven); "active": the guest is running or paused.
 *
 *  #  mode    guest     sharing     result
 *  1  any     any       -           source and destination the same host: refused
 *  2  any     other     -           (crashed, suspended to disk, ...) refused: ferry moves
 *                                   running, paused and shut-off guests only
 *  3  shared  shut off  -           refused: live paths need a running guest; cold moves it
 *                                   (without copying on shared storage)
 *  4  shared  active    not proven  refused: "shared storage is not proven: <first missing piece>"
 *  5  shared  active    proven      shared
 *  6  block   shut off  -           refused: live paths need a running guest; use cold
 *  7  block   active    proven      refused: block onto the same files would mirror each
 *                                   disk onto itself
 *  8  block   active    not proven  block
 *  9  cold    any       -           cold (an active guest is shut down, and started again
 *                                   on the destination)
 * 10  auto    shut off  -           cold
 * 11  auto    active    proven      shared
 * 12  auto    active    not proven  block
 *
 * Then the checks the path requires, in the checks' order: the first that fails refuses
 * the plan, naming the check and its detail. A required check missing from the results,
 * or with a status nobody knows, refuses too: it cannot vouch for anything. Warn and skip
 * never refuse (the checks skip only where they do not apply, or where "uri" fails).
 *
 *  check            shared  block  cold
 *  cpu              yes     yes    yes: a guest that cannot run there must not be moved there
 *  libvirt-version  yes     yes    no: no migration runs between the two libvirts; the domain
 *                                  is defined from its XML (shown, never refuses)
 *  hostname         yes     yes    no: only libvirt's migration connects to that name
 *  uri              yes     yes    yes
 *  config-drive     no      no     no (warns at most)
 *  disk-space       no      yes    yes (passes "nothing to copy" on proven shared storage)
 *  memory           yes     yes    only for an active guest (it will be started)
 *  network          yes     yes    only for an active guest
 *  fenced           yes     yes    yes
 *  shared-storage   no      no     no: it warns, and auto falls back; row 4 is where it refuses
 *
 * What a plan that goes ahead carries (a refused one: path NONE, no flags, no bytes):
 *
 *  path    unsafe_flag                copy_storage_inc / _all          mirror             stream
 *  shared  proven and libvirt does    no                               0                  0
 *          not recognise the fs
 *  block   no                         inc: some writable disk has a    writable disks'    read-only disks (config
 *                                     backing file; all: writable      allocation         drives, ...) and backing
 *                                     disks, none with a backing file;                    files the destination lacks
 *                                     neither: no writable disk
 *  cold    no                         no                               0                  0 on proven shared storage;
 *                                                                                         else every disk's allocation
 *                                                                                         and the missing backing files
 */
#include "plan.h"

#include "checks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 2, 3))) static void refuse(struct migrate_plan *plan, const char *fmt, ...)
{
    va_list ap;
    memset(plan, 0, sizeof(*plan));
    plan->path = MIGRATE_PATH_NONE;
    plan->refused = true;
    va_start(ap, fmt);
    vsnprintf(plan->reason, sizeof(plan->reason), fmt, ap);
    va_end(ap);
}

enum migrate_path plan_path_for(const struct migrate_facts *f, enum migrate_mode mode)
{
    if (!f)
        return MIGRATE_PATH_NONE;
    switch (mode) {
    case MIGRATE_MODE_SHARED:
        return MIGRATE_PATH_SHARED;
    case MIGRATE_MODE_BLOCK:
        return MIGRATE_PATH_BLOCK;
    case MIGRATE_MODE_COLD:
        return MIGRATE_PATH_COLD;
    case MIGRATE_MODE_AUTO:
        if (f->guest.state == GUEST_SHUTOFF)
            return MIGRATE_PATH_COLD;
        if (!migrate_guest_active(&f->guest))
            return MIGRATE_PATH_NONE;
        return migrate_sharing_proven(&f->sharing) ? MIGRATE_PATH_SHARED : MIGRATE_PATH_BLOCK;
    }
    return MIGRATE_PATH_NONE;
}

/* Rows 1-9 for forced modes, 10-12 for auto: the path, or false with the plan refused. */
static bool path_allowed(const struct migrate_facts *f, enum migrate_mode mode, struct migrate_plan *plan)
{
    const char *guest = migrate_guest_name(f), *src = migrate_src_name(f), *dst = migrate_dst_name(f);
    bool proven = migrate_sharing_proven(&f->sharing), shut_off = f->guest.state == GUEST_SHUTOFF;
    char gap[512];

    if (f->same_host) {
        refuse(plan, "%s is the source host itself: choose another destination", dst);
        return false;
    }
    if (!shut_off && !migrate_guest_active(&f->guest)) {
        refuse(plan,
               "%s is neither running, paused nor shut off (crashed or suspended?): ferry moves only those; "
               "start it or shut it off first",
               guest);
        return false;
    }
    switch (mode) {
    case MIGRATE_MODE_SHARED:
        if (shut_off)
            refuse(plan,
                   "%s is shut off and live paths need a running guest: use --mode cold (on shared storage it "
                   "moves without copying)",
                   guest);
        else if (!proven)
            refuse(plan, "shared storage is not proven: %s; --mode auto falls back to block migration",
                   migrate_sharing_gap(f, gap, sizeof(gap)));
        return !shut_off && proven;
    case MIGRATE_MODE_BLOCK:
        if (shut_off)
            refuse(plan, "%s is shut off and live paths need a running guest: use --mode cold", guest);
        else if (proven)
            refuse(plan,
                   "block migration onto the same files: %s and %s share the instance directory, so QEMU would "
                   "mirror each disk onto itself; use --mode shared or auto",
                   src, dst);
        return !shut_off && !proven;
    case MIGRATE_MODE_COLD:
    case MIGRATE_MODE_AUTO:
        return true;
    }
    return false;
}

/* Does the path need this check to pass? The second table above. */
static bool check_required(const struct migrate_facts *f, enum migrate_path path, enum migrate_check check)
{
    bool live = path == MIGRATE_PATH_SHARED || path == MIGRATE_PATH_BLOCK;
    switch (check) {
    case MIGRATE_CHECK_CPU:
    case MIGRATE_CHECK_URI:
    case MIGRATE_CHECK_FENCED:
        return true;
    case MIGRATE_CHECK_LIBVIRT_VERSION:
    case MIGRATE_CHECK_HOSTNAME:
        return live;
    case MIGRATE_CHECK_DISK_SPACE:
        return path == MIGRATE_PATH_BLOCK || path == MIGRATE_PATH_COLD;
    case MIGRATE_CHECK_MEMORY:
    case MIGRATE_CHECK_NETWORK:
        return live || migrate_guest_active(&f->guest);
    case MIGRATE_CHECK_CONFIG_DRIVE:
    case MIGRATE_CHECK_SHARED_STORAGE:
    case MIGRATE_MAX_CHECKS:
        break;
    }
    return false;
}

/* The first required check that does not vouch for the path, as a refusal. */
static bool checks_allow(const struct migrate_facts *f, enum migrate_path path, const struct check_result *checks,
                         size_t n, struct migrate_plan *plan)
{
    for (enum migrate_check k = 0; k < MIGRATE_MAX_CHECKS; k++) {
        if (!check_required(f, path, k))
            continue;
        const char *name = migrate_check_name(k);
        const struct check_result *found = NULL;
        for (size_t i = 0; checks && i < n; i++) {
            const struct check_result *c = &checks[i];
            if (!c->name || strcmp(c->name, name))
                continue;
            /* Should a name appear twice, the worse result counts. */
            if (!found || c->status == CHECK_FAIL || (unsigned)c->status > CHECK_SKIP)
                found = c;
        }
        if (!found) {
            refuse(plan, "check %s was not run; the %s path needs it", name, migrate_path_name(path));
            return false;
        }
        if (found->status == CHECK_FAIL) {
            refuse(plan, "check %s fails: %.*s", name, (int)sizeof(found->detail), found->detail);
            return false;
        }
        if ((unsigned)found->status > CHECK_SKIP) {
            refuse(plan, "check %s has a status ferry does not know (%d)", name, (int)found->status);
            return false;
        }
    }
    return true;
}

/* The flags and byte counts: the third table above. */
static void plan_fill(const struct migrate_facts *f, enum migrate_path path, struct migrate_plan *plan)
{
    struct migrate_sizes s;
    bool proven = migrate_sharing_proven(&f->sharing);

    migrate_sizes_count(&f->guest, &s);
    plan->path = path;
    plan->proven_shared = proven;
    switch (path) {
    case MIGRATE_PATH_SHARED:
        plan->unsafe_flag = proven && !f->sharing.fs_recognised_shared;
        break;
    case MIGRATE_PATH_BLOCK:
        plan->copy_storage_inc = s.writable_overlay;
        plan->copy_storage_all = !s.writable_overlay && s.n_writable > 0;
        plan->bytes_to_mirror = s.writable_allocation;
        plan->bytes_to_stream = s.block_stream;
        break;
    case MIGRATE_PATH_COLD:
        plan->bytes_to_stream = proven ? 0 : s.cold_stream;
        break;
    case MIGRATE_PATH_NONE:
        break;
    }
}

int plan_choose_path(const struct migrate_facts *f, enum migrate_mode mode, const struct check_result *checks,
                     size_t n, struct migrate_plan *plan)
{
    if (!plan)
        return -EINVAL;
    if (!f) {
        refuse(plan, "no facts were gathered");
        return -EINVAL;
    }
    if ((unsigned)mode > MIGRATE_MODE_COLD) {
        refuse(plan, "unknown mode %d (allowed: auto, shared, block, cold)", (int)mode);
        return -EINVAL;
    }
    bool proven = migrate_sharing_proven(&f->sharing);
    memset(plan, 0, sizeof(*plan));
    if (!path_allowed(f, mode, plan) || !checks_allow(f, plan_path_for(f, mode), checks, n, plan)) {
        plan->proven_shared = proven;
        return 0;
    }
    plan_fill(f, plan_path_for(f, mode), plan);
    return 0;
}

const char *migrate_path_name(enum migrate_path p)
{
    switch (p) {
    case MIGRATE_PATH_NONE:
        return "none";
    case MIGRATE_PATH_SHARED:
        return "shared";
    case MIGRATE_PATH_BLOCK:
        return "block";
    case MIGRATE_PATH_COLD:
        return "cold";
    }
    return "unknown";
}

const char *migrate_mode_name(enum migrate_mode m)
{
    switch (m) {
    case MIGRATE_MODE_AUTO:
        return "auto";
    case MIGRATE_MODE_SHARED:
        return "shared";
    case MIGRATE_MODE_BLOCK:
        return "block";
    case MIGRATE_MODE_COLD:
        return "cold";
    }
    return "unknown";
}

int migrate_mode_parse(const char *text, enum migrate_mode *mode)
{
    static const enum migrate_mode modes[] = { MIGRATE_MODE_AUTO, MIGRATE_MODE_SHARED, MIGRATE_MODE_BLOCK,
                                               MIGRATE_MODE_COLD };
    if (!text || !mode)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcmp(text, migrate_mode_name(modes[i]))) {
            *mode = modes[i];
            return 0;
        }
    return -EINVAL;
}
