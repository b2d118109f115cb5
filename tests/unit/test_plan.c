/*
 * The migration planner over plain facts and hand-made check results: the path before
 * checks for every mode, guest state and sharing; every row of the rule table with the
 * reason it gives; for each path, which checks refuse it when they fail, go missing or
 * carry a status nobody knows (against a table written here, not the planner's); the
 * VIR_MIGRATE_UNSAFE / NON_SHARED_INC / NON_SHARED_DISK flags and the bytes streamed and
 * mirrored; names and parsing; then the checks and the planner together, end to end.
 */
#include "checks.h"
#include "plan.h"
#include "test_support.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

/* --- facts and check results ----------------------------------------------------------- */

static struct migrate_facts facts; /* large: one static copy, reset by healthy() */

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

static struct disk_facts *add_disk(struct migrate_facts *f, const char *target, uint64_t virtual_size,
                                   uint64_t allocation, const char *backing, uint64_t backing_allocation)
{
    struct disk_facts *d = &f->guest.disks[f->guest.n_disks++];
    memset(d, 0, sizeof(*d));
    SET(d->target, target);
    snprintf(d->path, sizeof(d->path), "/opt/stack/data/nova/instances/u/%s", target);
    d->virtual_size = virtual_size;
    d->allocation = allocation;
    SET(d->backing, backing);
    d->backing_allocation = backing_allocation;
    d->dest_has_backing = true;
    return d;
}

static void host(struct host_facts *h, const char *name)
{
    SET(h->name, name);
    snprintf(h->uri, sizeof(h->uri), "qemu+tls://%s/system", name);
    h->connected = true;
    SET(h->hostname, name);
    h->libvirt_version = 9000000;
    h->qemu_version = 7002000;
    h->free_memory_bytes = 64 * GiB;
    h->instance_dir_free_bytes = 500 * GiB;
    h->instance_dir_free_known = true;
    SET(h->networks[h->n_networks++], "default");
}

/*
 * guest1, running, 4 GiB; vda: a 40 GiB overlay holding 2 GiB on a 1 GiB base the
 * destination has; hda: a 400 KiB read-only iso9660 config drive; one interface on
 * "default". hostA -> hostB, everything healthy, sharing proven, libvirt recognises NFS.
 */
static struct migrate_facts *healthy(void)
{
    struct migrate_facts *f = &facts;
    memset(f, 0, sizeof(*f));
    SET(f->guest.name, "guest1");
    f->guest.state = GUEST_RUNNING;
    f->guest.memory_bytes = 4 * GiB;
    SET(f->guest.cpu_mode, "host-model");
    add_disk(f, "vda", 40 * GiB, 2 * GiB, "/opt/stack/data/nova/instances/_base/b1", 1 * GiB);
    struct disk_facts *cd = add_disk(f, "hda", 400 * KiB, 400 * KiB, "", 0);
    cd->readonly = true;
    cd->is_config_drive = true;
    SET(cd->config_drive_format, "iso9660");
    SET(f->guest.nics[0].type, "network");
    SET(f->guest.nics[0].source, "default");
    f->guest.n_nics = 1;
    host(&f->src, "hostA");
    host(&f->dst, "hostB");
    f->sharing.source_healthy = f->sharing.dest_lease_live = true;
    f->sharing.token_tried = f->sharing.token_seen = true;
    f->sharing.fs_recognised_shared = true;
    f->cpu = CPU_IDENTICAL;
    f->hostname_resolves = f->hostname_matches = true;
    return f;
}

static void unshare(struct migrate_facts *f)
{
    f->sharing.token_seen = false;
    SET(f->sharing.token_detail, "token not found");
}

/* Every check passing, in the stable order; the names are spelled here, not borrowed. */
static const char *const names[MIGRATE_MAX_CHECKS] = {
    "cpu", "libvirt-version", "hostname", "uri", "config-drive",
    "disk-space", "memory", "network", "fenced", "shared-storage",
};

static void all_pass(struct check_result *c)
{
    for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++) {
        c[i].name = names[i];
        c[i].status = CHECK_PASS;
        snprintf(c[i].detail, sizeof(c[i].detail), "%s is fine", names[i]);
    }
}

/* A plan that says nothing yet: every field garbage, so that each must be written. */
static void garbage(struct migrate_plan *p)
{
    memset(p, 0xa5, sizeof(*p));
}

static int choose(const struct migrate_facts *f, enum migrate_mode mode, const struct check_result *c, size_t n,
                  struct migrate_plan *p)
{
    garbage(p);
    return plan_choose_path(f, mode, c, n, p);
}

static void expect_refused(const struct migrate_plan *p, const char *reason, bool proven)
{
    CU_ASSERT_TRUE(p->refused);
    CU_ASSERT_EQUAL(p->path, MIGRATE_PATH_NONE);
    ASSERT_STR(p->reason, reason);
    CU_ASSERT_EQUAL(p->proven_shared, proven);
    CU_ASSERT_FALSE(p->unsafe_flag);
    CU_ASSERT_FALSE(p->copy_storage_inc);
    CU_ASSERT_FALSE(p->copy_storage_all);
    CU_ASSERT_EQUAL(p->bytes_to_stream, 0);
    CU_ASSERT_EQUAL(p->bytes_to_mirror, 0);
}

static void expect_path(const struct migrate_plan *p, enum migrate_path path)
{
    if (p->refused || p->path != path)
        fprintf(stderr, "\n    path %s, expected %s; refused %d: %s\n", migrate_path_name(p->path),
                migrate_path_name(path), p->refused, p->reason);
    CU_ASSERT_FALSE(p->refused);
    CU_ASSERT_EQUAL(p->path, path);
    ASSERT_STR(p->reason, "");
}

/* --- names and parsing ----------------------------------------------------------------- */

static void test_names(void)
{
    ASSERT_STR(migrate_path_name(MIGRATE_PATH_NONE), "none");
    ASSERT_STR(migrate_path_name(MIGRATE_PATH_SHARED), "shared");
    ASSERT_STR(migrate_path_name(MIGRATE_PATH_BLOCK), "block");
    ASSERT_STR(migrate_path_name(MIGRATE_PATH_COLD), "cold");
    ASSERT_STR(migrate_path_name((enum migrate_path)4), "unknown");
    ASSERT_STR(migrate_path_name((enum migrate_path)-1), "unknown");
    ASSERT_STR(migrate_mode_name(MIGRATE_MODE_AUTO), "auto");
    ASSERT_STR(migrate_mode_name(MIGRATE_MODE_SHARED), "shared");
    ASSERT_STR(migrate_mode_name(MIGRATE_MODE_BLOCK), "block");
    ASSERT_STR(migrate_mode_name(MIGRATE_MODE_COLD), "cold");
    ASSERT_STR(migrate_mode_name((enum migrate_mode)4), "unknown");

    static const struct {
        const char *text;
        enum migrate_mode mode;
    } good[] = {
        { "auto", MIGRATE_MODE_AUTO },
        { "shared", MIGRATE_MODE_SHARED },
        { "block", MIGRATE_MODE_BLOCK },
        { "cold", MIGRATE_MODE_COLD },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        enum migrate_mode m = (enum migrate_mode)77;
        CU_ASSERT_EQUAL(migrate_mode_parse(good[i].text, &m), 0);
        CU_ASSERT_EQUAL(m, good[i].mode);
        /* The name and the parse agree both ways. */
        ASSERT_STR(migrate_mode_name(m), good[i].text);
    }
    static const char *const bad[] = { "", "Auto", "AUTO", " auto", "auto ", "blocks", "bloc", "live", "none",
                                       "unknown", "shared\n", "col" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum migrate_mode m = MIGRATE_MODE_COLD;
        CU_ASSERT_EQUAL(migrate_mode_parse(bad[i], &m), -EINVAL);
        CU_ASSERT_EQUAL(m, MIGRATE_MODE_COLD); /* untouched */
    }
    enum migrate_mode m = MIGRATE_MODE_BLOCK;
    CU_ASSERT_EQUAL(migrate_mode_parse(NULL, &m), -EINVAL);
    CU_ASSERT_EQUAL(m, MIGRATE_MODE_BLOCK);
    CU_ASSERT_EQUAL(migrate_mode_parse("auto", NULL), -EINVAL);
}

/* --- the path before checks ------------------------------------------------------------ */

/* The first table's path column, spelled as a lookup rather than as rules. */
static enum migrate_path expected_path(enum migrate_mode mode, enum guest_state state, bool proven)
{
    static const enum migrate_path by_state_auto[2][4] = {
        /* not proven */ { MIGRATE_PATH_BLOCK, MIGRATE_PATH_BLOCK, MIGRATE_PATH_COLD, MIGRATE_PATH_NONE },
        /* proven */ { MIGRATE_PATH_SHARED, MIGRATE_PATH_SHARED, MIGRATE_PATH_COLD, MIGRATE_PATH_NONE },
    };
    static const enum migrate_path forced[] = { MIGRATE_PATH_NONE, MIGRATE_PATH_SHARED, MIGRATE_PATH_BLOCK,
                                                MIGRATE_PATH_COLD };
    if (mode == MIGRATE_MODE_AUTO)
        return (unsigned)state < 4 ? by_state_auto[proven][state] : MIGRATE_PATH_NONE;
    return (unsigned)mode < 4 ? forced[mode] : MIGRATE_PATH_NONE;
}

static void test_path_for(void)
{
    static const enum guest_state states[] = { GUEST_RUNNING, GUEST_PAUSED, GUEST_SHUTOFF, GUEST_OTHER,
                                               (enum guest_state)9 };
    unsigned seen[4] = { 0 };
    for (int mode = -1; mode <= 5; mode++)
        for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++)
            for (int proven = 0; proven <= 1; proven++) {
                struct migrate_facts *f = healthy();
                f->guest.state = states[s];
                if (!proven)
                    unshare(f);
                enum migrate_path got = plan_path_for(f, (enum migrate_mode)mode);
                enum migrate_path want = expected_path((enum migrate_mode)mode, states[s], proven);
                if (got != want)
                    fprintf(stderr, "\n    mode %d state %d proven %d: %s, expected %s\n", mode, (int)states[s],
                            proven, migrate_path_name(got), migrate_path_name(want));
                CU_ASSERT_EQUAL(got, want);
                if ((unsigned)got < 4)
                    seen[got]++;
            }
    CU_ASSERT(seen[0] && seen[1] && seen[2] && seen[3]);

    /* The named rows. */
    struct migrate_facts *f = healthy();
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_SHARED);
    unshare(f);
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_BLOCK);
    f->guest.state = GUEST_SHUTOFF;
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_COLD);
    /* Each piece of the proof counts. */
    f = healthy();
    f->sharing.source_healthy = false;
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_BLOCK);
    f = healthy();
    f->sharing.dest_lease_live = false;
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_BLOCK);
    /* libvirt's opinion of the filesystem does not. */
    f = healthy();
    f->sharing.fs_recognised_shared = false;
    CU_ASSERT_EQUAL(plan_path_for(f, MIGRATE_MODE_AUTO), MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(plan_path_for(NULL, MIGRATE_MODE_AUTO), MIGRATE_PATH_NONE);
    CU_ASSERT_EQUAL(plan_path_for(NULL, MIGRATE_MODE_COLD), MIGRATE_PATH_NONE);
}

/* --- the rules ------------------------------------------------------------------------- */

static const enum migrate_mode modes[] = { MIGRATE_MODE_AUTO, MIGRATE_MODE_SHARED, MIGRATE_MODE_BLOCK,
                                           MIGRATE_MODE_COLD };

static void test_rules(void)
{
    struct check_result c[MIGRATE_MAX_CHECKS];
    struct migrate_plan p;
    struct migrate_facts *f;
    all_pass(c);

    /* Row 1: the same host, whatever the mode or the guest. */
    for (size_t m = 0; m < 4; m++) {
        f = healthy();
        f->same_host = true;
        CU_ASSERT_EQUAL(choose(f, modes[m], c, MIGRATE_MAX_CHECKS, &p), 0);
        expect_refused(&p, "hostB is the source host itself: choose another destination", true);
        f->guest.state = GUEST_OTHER;
        unshare(f);
        choose(f, modes[m], c, MIGRATE_MAX_CHECKS, &p);
        expect_refused(&p, "hostB is the source host itself: choose another destination", false);
    }

    /* Row 2: a guest neither running, paused nor shut off, in every mode. */
    for (size_t m = 0; m < 4; m++) {
        f = healthy();
        f->guest.state = GUEST_OTHER;
        CU_ASSERT_EQUAL(choose(f, modes[m], c, MIGRATE_MAX_CHECKS, &p), 0);
        expect_refused(&p,
                       "guest1 is neither running, paused nor shut off (crashed or suspended?): ferry moves only "
                       "those; start it or shut it off first",
                       true);
        f->guest.state = (enum guest_state)-3;
        choose(f, modes[m], c, MIGRATE_MAX_CHECKS, &p);
        CU_ASSERT_TRUE(p.refused);
    }

    /* Row 3: forced shared of a shut-off guest, proven or not. */
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "guest1 is shut off and live paths need a running guest: use --mode cold (on shared storage it "
                   "moves without copying)",
                   true);
    unshare(f);
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "guest1 is shut off and live paths need a running guest: use --mode cold (on shared storage it "
                   "moves without copying)",
                   false);

    /* Row 4: forced shared without proof, with the first missing piece. */
    f = healthy();
    unshare(f);
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "shared storage is not proven: hostA and hostB do not see the same directory: a token written "
                   "through the libvirt of hostB was not found here with the same content: token not found; --mode "
                   "auto falls back to block migration",
                   false);
    f->sharing.dest_lease_live = false;
    SET(f->sharing.dest_detail, "lease expired");
    f->guest.state = GUEST_PAUSED;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "shared storage is not proven: the lease of hostB is not live: lease expired; --mode auto falls "
                   "back to block migration",
                   false);
    f->sharing.source_healthy = false;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "shared storage is not proven: the instance store on hostA is not healthy; --mode auto falls back "
                   "to block migration",
                   false);
    f = healthy();
    f->sharing.token_tried = f->sharing.token_seen = false;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "shared storage is not proven: the sharing token was not tried: no reason recorded; --mode auto "
                   "falls back to block migration",
                   false);

    /* Row 5: forced shared, proven, running or paused. */
    f = healthy();
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);
    f->guest.state = GUEST_PAUSED;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);

    /* Row 6: forced block of a shut-off guest, proven or not. */
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    unshare(f);
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p, "guest1 is shut off and live paths need a running guest: use --mode cold", false);
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p, "guest1 is shut off and live paths need a running guest: use --mode cold", true);

    /* Row 7: forced block onto the same files. */
    f = healthy();
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p,
                   "block migration onto the same files: hostA and hostB share the instance directory, so QEMU would "
                   "mirror each disk onto itself; use --mode shared or auto",
                   true);
    f->sharing.fs_recognised_shared = false; /* proven by ferry is what counts */
    f->guest.state = GUEST_PAUSED;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_TRUE(p.refused);

    /* Row 8: forced block without sharing, running or paused. */
    f = healthy();
    unshare(f);
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
    f->guest.state = GUEST_PAUSED;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);

    /* Row 9: forced cold, in every state ferry moves, shared or not. */
    static const enum guest_state movable[] = { GUEST_RUNNING, GUEST_PAUSED, GUEST_SHUTOFF };
    for (size_t s = 0; s < 3; s++)
        for (int proven = 0; proven <= 1; proven++) {
            f = healthy();
            f->guest.state = movable[s];
            if (!proven)
                unshare(f);
            choose(f, MIGRATE_MODE_COLD, c, MIGRATE_MAX_CHECKS, &p);
            expect_path(&p, MIGRATE_PATH_COLD);
            CU_ASSERT_EQUAL(p.proven_shared, proven);
        }

    /* Rows 10-12: auto. */
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    unshare(f);
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    f = healthy();
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);
    unshare(f);
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);

    /* The rules come before the checks: a rule's reason, not a check's. */
    struct check_result failing[MIGRATE_MAX_CHECKS];
    all_pass(failing);
    for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++)
        failing[i].status = CHECK_FAIL;
    f = healthy();
    choose(f, MIGRATE_MODE_BLOCK, failing, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "block migration onto the same files", 35), 0);
    f->same_host = true;
    choose(f, MIGRATE_MODE_BLOCK, failing, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "hostB is the source host itself", 31), 0);
    /* Shut off is named before missing proof. */
    f = healthy();
    unshare(f);
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_SHARED, failing, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "guest1 is shut off", 18), 0);

    /* Without names for the host and the guest. */
    f = healthy();
    SET(f->dst.name, "");
    SET(f->src.name, "");
    SET(f->guest.name, "");
    f->same_host = true;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    ASSERT_STR(p.reason, "the destination is the source host itself: choose another destination");
    f->same_host = false;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    ASSERT_STR(p.reason, "block migration onto the same files: this host and the destination share the instance "
                         "directory, so QEMU would mirror each disk onto itself; use --mode shared or auto");
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    ASSERT_STR(p.reason, "the guest is shut off and live paths need a running guest: use --mode cold");
}

/* --- which checks refuse which path ---------------------------------------------------- */

struct scenario {
    const char *what;
    enum migrate_mode mode;
    enum guest_state state;
    bool proven;
    enum migrate_path path;
    const char *required; /* the checks whose failure refuses, spelled out */
};

static const struct scenario scenarios[] = {
    { "auto, running, shared", MIGRATE_MODE_AUTO, GUEST_RUNNING, true, MIGRATE_PATH_SHARED,
      " cpu libvirt-version hostname uri memory network fenced " },
    { "forced shared, paused", MIGRATE_MODE_SHARED, GUEST_PAUSED, true, MIGRATE_PATH_SHARED,
      " cpu libvirt-version hostname uri memory network fenced " },
    { "auto, running, not shared", MIGRATE_MODE_AUTO, GUEST_RUNNING, false, MIGRATE_PATH_BLOCK,
      " cpu libvirt-version hostname uri disk-space memory network fenced " },
    { "forced block, paused", MIGRATE_MODE_BLOCK, GUEST_PAUSED, false, MIGRATE_PATH_BLOCK,
      " cpu libvirt-version hostname uri disk-space memory network fenced " },
    { "auto, shut off, not shared", MIGRATE_MODE_AUTO, GUEST_SHUTOFF, false, MIGRATE_PATH_COLD,
      " cpu uri disk-space fenced " },
    { "auto, shut off, shared", MIGRATE_MODE_AUTO, GUEST_SHUTOFF, true, MIGRATE_PATH_COLD,
      " cpu uri disk-space fenced " },
    { "forced cold, running, not shared", MIGRATE_MODE_COLD, GUEST_RUNNING, false, MIGRATE_PATH_COLD,
      " cpu uri disk-space memory network fenced " },
    { "forced cold, paused, shared", MIGRATE_MODE_COLD, GUEST_PAUSED, true, MIGRATE_PATH_COLD,
      " cpu uri disk-space memory network fenced " },
};

static bool listed(const char *list, const char *name)
{
    char word[64];
    snprintf(word, sizeof(word), " %s ", name);
    return strstr(list, word) != NULL;
}

static struct migrate_facts *scenario_facts(const struct scenario *s)
{
    struct migrate_facts *f = healthy();
    f->guest.state = s->state;
    if (!s->proven)
        unshare(f);
    return f;
}

static void test_required_checks(void)
{
    struct check_result c[MIGRATE_MAX_CHECKS];
    struct migrate_plan p;
    char expected[600];
    unsigned refusals = 0, allowed = 0;

    for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
        const struct scenario *sc = &scenarios[s];
        struct migrate_facts *f = scenario_facts(sc);
        CU_ASSERT_EQUAL(plan_path_for(f, sc->mode), sc->path);

        all_pass(c);
        CU_ASSERT_EQUAL(choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p), 0);
        expect_path(&p, sc->path);

        for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++) {
            bool required = listed(sc->required, names[i]);

            /* Failing: refused iff required, naming the check and its detail. */
            all_pass(c);
            c[i].status = CHECK_FAIL;
            snprintf(c[i].detail, sizeof(c[i].detail), "%s went wrong on hostB", names[i]);
            CU_ASSERT_EQUAL(choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p), 0);
            if (required) {
                snprintf(expected, sizeof(expected), "check %s fails: %s went wrong on hostB", names[i], names[i]);
                expect_refused(&p, expected, sc->proven);
                refusals++;
            } else {
                expect_path(&p, sc->path);
                allowed++;
            }
            if (p.refused != required)
                fprintf(stderr, "\n    %s: failing %s\n", sc->what, names[i]);

            /* A status nobody knows: as a failure. */
            c[i].status = (enum check_status)9;
            choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p);
            CU_ASSERT_EQUAL(p.refused, required);
            if (required) {
                snprintf(expected, sizeof(expected), "check %s has a status ferry does not know (9)", names[i]);
                ASSERT_STR(p.reason, expected);
            }

            /* Warn and skip never refuse. */
            c[i].status = CHECK_WARN;
            choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p);
            expect_path(&p, sc->path);
            c[i].status = CHECK_SKIP;
            choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p);
            expect_path(&p, sc->path);

            /* Missing from the results: refused iff required. */
            struct check_result without[MIGRATE_MAX_CHECKS];
            size_t n = 0;
            all_pass(c);
            for (size_t j = 0; j < MIGRATE_MAX_CHECKS; j++)
                if (j != i)
                    without[n++] = c[j];
            choose(f, sc->mode, without, n, &p);
            if (required) {
                snprintf(expected, sizeof(expected), "check %s was not run; the %s path needs it", names[i],
                         migrate_path_name(sc->path));
                expect_refused(&p, expected, sc->proven);
            } else {
                expect_path(&p, sc->path);
            }
        }

        /* Several failing: the first required one in the checks' order is named. */
        all_pass(c);
        for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++)
            c[i].status = CHECK_FAIL;
        choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p);
        CU_ASSERT_EQUAL(strncmp(p.reason, "check cpu fails: ", 17), 0);
        c[0].status = CHECK_PASS;
        choose(f, sc->mode, c, MIGRATE_MAX_CHECKS, &p);
        const char *second = sc->path == MIGRATE_PATH_COLD ? "check uri fails: " : "check libvirt-version fails: ";
        CU_ASSERT_EQUAL(strncmp(p.reason, second, strlen(second)), 0);

        /* Results in another order count by name, not by position. */
        all_pass(c);
        struct check_result reversed[MIGRATE_MAX_CHECKS];
        for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++)
            reversed[i] = c[MIGRATE_MAX_CHECKS - 1 - i];
        choose(f, sc->mode, reversed, MIGRATE_MAX_CHECKS, &p);
        expect_path(&p, sc->path);
        reversed[MIGRATE_MAX_CHECKS - 1 - MIGRATE_CHECK_FENCED].status = CHECK_FAIL;
        choose(f, sc->mode, reversed, MIGRATE_MAX_CHECKS, &p);
        CU_ASSERT_EQUAL(strncmp(p.reason, "check fenced fails: ", 20), 0);
    }
    CU_ASSERT(refusals > 0 && allowed > 0);

    /* Nothing run at all: the first required check is missing. */
    struct migrate_facts *f = healthy();
    choose(f, MIGRATE_MODE_AUTO, NULL, 0, &p);
    expect_refused(&p, "check cpu was not run; the shared path needs it", true);
    all_pass(c);
    choose(f, MIGRATE_MODE_AUTO, NULL, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p, "check cpu was not run; the shared path needs it", true);
    choose(f, MIGRATE_MODE_AUTO, c, 0, &p);
    expect_refused(&p, "check cpu was not run; the shared path needs it", true);
    /* Only n results are read. */
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_CHECK_FENCED, &p);
    expect_refused(&p, "check fenced was not run; the shared path needs it", true);

    /* A name twice: the worse result counts, in either order. */
    struct check_result twice[MIGRATE_MAX_CHECKS + 1];
    all_pass(twice);
    twice[MIGRATE_MAX_CHECKS] = twice[MIGRATE_CHECK_CPU];
    twice[MIGRATE_MAX_CHECKS].status = CHECK_FAIL;
    choose(f, MIGRATE_MODE_AUTO, twice, MIGRATE_MAX_CHECKS + 1, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check cpu fails: ", 17), 0);
    twice[MIGRATE_MAX_CHECKS].status = CHECK_PASS;
    twice[MIGRATE_CHECK_CPU].status = CHECK_FAIL;
    choose(f, MIGRATE_MODE_AUTO, twice, MIGRATE_MAX_CHECKS + 1, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check cpu fails: ", 17), 0);
    twice[MIGRATE_CHECK_CPU].status = CHECK_WARN;
    twice[MIGRATE_MAX_CHECKS].status = (enum check_status)5;
    choose(f, MIGRATE_MODE_AUTO, twice, MIGRATE_MAX_CHECKS + 1, &p);
    ASSERT_STR(p.reason, "check cpu has a status ferry does not know (5)");

    /* A result without a name is nobody's. */
    all_pass(c);
    c[MIGRATE_CHECK_URI].name = NULL;
    c[MIGRATE_CHECK_URI].status = CHECK_FAIL;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_refused(&p, "check uri was not run; the shared path needs it", true);

    /* A detail that fills its array without a NUL is cut, not overrun. */
    all_pass(c);
    c[MIGRATE_CHECK_CPU].status = CHECK_FAIL;
    memset(c[MIGRATE_CHECK_CPU].detail, 'x', sizeof(c[MIGRATE_CHECK_CPU].detail));
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_TRUE(p.refused);
    CU_ASSERT_EQUAL(strlen(p.reason), sizeof(p.reason) - 1);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check cpu fails: xxx", 20), 0);
}

/* --- flags and bytes ------------------------------------------------------------------- */

static void test_flags_and_bytes(void)
{
    struct check_result c[MIGRATE_MAX_CHECKS];
    struct migrate_plan p;
    struct migrate_facts *f;
    all_pass(c);

    /* Shared: nothing copied; UNSAFE only where libvirt does not recognise the filesystem. */
    f = healthy();
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);
    CU_ASSERT_TRUE(p.proven_shared);
    CU_ASSERT_FALSE(p.unsafe_flag);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 0);
    f->sharing.fs_recognised_shared = false;
    choose(f, MIGRATE_MODE_SHARED, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);
    CU_ASSERT_TRUE(p.unsafe_flag);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);

    /* Block with an overlay: incremental; QEMU mirrors the overlay's allocation, ferry
     * streams the config drive (and the base once the destination lacks it). */
    f = healthy();
    unshare(f);
    f->sharing.fs_recognised_shared = false; /* no proof: never UNSAFE */
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
    CU_ASSERT_FALSE(p.proven_shared);
    CU_ASSERT_FALSE(p.unsafe_flag);
    CU_ASSERT_TRUE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 2 * GiB);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB);
    f->guest.disks[0].dest_has_backing = false;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 2 * GiB);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB + 1 * GiB);
    /* A second overlay on the same base: the base is streamed once. A flat disk beside
     * overlays: still incremental (a flat disk's top is all of it). */
    add_disk(f, "vdb", 10 * GiB, 300 * MiB, "/opt/stack/data/nova/instances/_base/b1", 1 * GiB)->dest_has_backing =
        false;
    add_disk(f, "vdc", 5 * GiB, 5 * GiB, "", 0);
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_TRUE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 2 * GiB + 300 * MiB + 5 * GiB);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB + 1 * GiB);

    /* Block with flat disks only: a full copy of each. */
    f = healthy();
    unshare(f);
    SET(f->guest.disks[0].backing, "");
    add_disk(f, "vdb", 5 * GiB, 1 * GiB, "", 0);
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_TRUE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 3 * GiB);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB);
    /* A backing file behind a read-only disk makes no overlay for QEMU, but is streamed. */
    struct disk_facts *ro = add_disk(f, "vdd", 1 * GiB, 10 * MiB, "/opt/stack/data/nova/instances/_base/ro", 50 * MiB);
    ro->readonly = true;
    ro->dest_has_backing = false;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_TRUE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 3 * GiB);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB + 10 * MiB + 50 * MiB);

    /* Block with nothing writable (a config drive only, or no disks): no storage flag. */
    f = healthy();
    unshare(f);
    f->guest.disks[0] = f->guest.disks[1];
    f->guest.n_disks = 1;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 0);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 400 * KiB);
    f->guest.n_disks = 0;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);

    /* Cold, not shared: every disk as it is, plus the bases the destination lacks; no
     * QEMU mirror, no migration flags. */
    f = healthy();
    unshare(f);
    f->sharing.fs_recognised_shared = false;
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 2 * GiB + 400 * KiB);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 0);
    CU_ASSERT_FALSE(p.unsafe_flag);
    CU_ASSERT_FALSE(p.copy_storage_inc);
    CU_ASSERT_FALSE(p.copy_storage_all);
    f->guest.disks[0].dest_has_backing = false;
    f->guest.state = GUEST_RUNNING;
    choose(f, MIGRATE_MODE_COLD, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 3 * GiB + 400 * KiB);

    /* Cold on proven shared storage: nothing streamed, running or not, and no UNSAFE
     * (nothing migrates through libvirt). */
    f = healthy();
    f->sharing.fs_recognised_shared = false;
    f->guest.disks[0].dest_has_backing = false;
    choose(f, MIGRATE_MODE_COLD, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    CU_ASSERT_TRUE(p.proven_shared);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, 0);
    CU_ASSERT_FALSE(p.unsafe_flag);
    f->guest.state = GUEST_SHUTOFF;
    choose(f, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);

    /* Counts that would overflow saturate. */
    f = healthy();
    unshare(f);
    f->guest.disks[0].allocation = UINT64_MAX;
    f->guest.disks[0].dest_has_backing = false;
    f->guest.disks[0].backing_allocation = UINT64_MAX;
    choose(f, MIGRATE_MODE_BLOCK, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(p.bytes_to_mirror, UINT64_MAX);
    CU_ASSERT_EQUAL(p.bytes_to_stream, UINT64_MAX);
    choose(f, MIGRATE_MODE_COLD, c, MIGRATE_MAX_CHECKS, &p);
    CU_ASSERT_EQUAL(p.bytes_to_stream, UINT64_MAX);
}

/* --- bad input ------------------------------------------------------------------------- */

static void test_bad_input(void)
{
    struct check_result c[MIGRATE_MAX_CHECKS];
    struct migrate_plan p;
    all_pass(c);

    CU_ASSERT_EQUAL(plan_choose_path(healthy(), MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, NULL), -EINVAL);
    CU_ASSERT_EQUAL(choose(NULL, MIGRATE_MODE_AUTO, c, MIGRATE_MAX_CHECKS, &p), -EINVAL);
    expect_refused(&p, "no facts were gathered", false);
    CU_ASSERT_EQUAL(choose(healthy(), (enum migrate_mode)4, c, MIGRATE_MAX_CHECKS, &p), -EINVAL);
    expect_refused(&p, "unknown mode 4 (allowed: auto, shared, block, cold)", false);
    CU_ASSERT_EQUAL(choose(healthy(), (enum migrate_mode)-1, c, MIGRATE_MAX_CHECKS, &p), -EINVAL);
    expect_refused(&p, "unknown mode -1 (allowed: auto, shared, block, cold)", false);
    CU_ASSERT_EQUAL(plan_path_for(healthy(), (enum migrate_mode)4), MIGRATE_PATH_NONE);
}

/* --- checks and planner together ------------------------------------------------------- */

/* As `ferry migrate` does it: the path, the checks for it, the plan. */
static int plan_for(const struct migrate_facts *f, enum migrate_mode mode, struct migrate_plan *p)
{
    struct check_result c[MIGRATE_MAX_CHECKS];
    size_t n = migrate_checks_run(f, plan_path_for(f, mode), c);
    CU_ASSERT_EQUAL(n, MIGRATE_MAX_CHECKS);
    garbage(p);
    return plan_choose_path(f, mode, c, n, p);
}

static void test_end_to_end(void)
{
    struct migrate_plan p;
    struct migrate_facts *f;

    f = healthy();
    CU_ASSERT_EQUAL(plan_for(f, MIGRATE_MODE_AUTO, &p), 0);
    expect_path(&p, MIGRATE_PATH_SHARED);

    /* Sharing broken: the warning does not refuse; auto falls back to block. */
    f = healthy();
    unshare(f);
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
    CU_ASSERT_TRUE(p.copy_storage_inc);
    /* ...unless the destination cannot hold the overlay's virtual size, or with over-commit can. */
    f->dst.instance_dir_free_bytes = 39 * GiB;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_refused(&p,
                   "check disk-space fails: needs 40 GiB (virtual sizes; disk over-commit off), 39 GiB free on hostB; "
                   "free space there, or count allocations with --disk-overcommit",
                   false);
    f->disk_overcommit = true;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);

    /* The destination silent: refused by uri, whatever the mode. */
    for (size_t m = 0; m < 4; m++) {
        f = healthy();
        f->dst.connected = false;
        SET(f->dst.connect_error, "Connection refused");
        f->guest.state = modes[m] == MIGRATE_MODE_COLD ? GUEST_SHUTOFF : GUEST_RUNNING;
        if (modes[m] == MIGRATE_MODE_BLOCK)
            unshare(f);
        plan_for(f, modes[m], &p);
        expect_refused(&p,
                       "check uri fails: libvirtd on hostB does not answer at qemu+tls://hostB/system: Connection "
                       "refused; check that it listens there (scripts/prepare-host --listen-addr) and [migrate] "
                       "uri_template",
                       modes[m] != MIGRATE_MODE_BLOCK);
    }

    /* A fenced host refuses every path. */
    for (size_t m = 0; m < 4; m++) {
        f = healthy();
        f->src.fenced = true;
        if (modes[m] == MIGRATE_MODE_BLOCK)
            unshare(f);
        plan_for(f, modes[m], &p);
        CU_ASSERT_TRUE(p.refused);
        CU_ASSERT_EQUAL(strncmp(p.reason, "check fenced fails: hostA is fenced", 35), 0);
    }

    /* CPU: incompatible refuses even a cold move of a guest that stays off. */
    f = healthy();
    f->cpu = CPU_INCOMPATIBLE;
    f->guest.state = GUEST_SHUTOFF;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    CU_ASSERT_TRUE(p.refused);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check cpu fails: the guest's CPU (host-model) is incompatible", 61), 0);
    f->cpu = CPU_UNKNOWN; /* a warning goes ahead */
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_COLD);

    /* libvirt versions: refuse live paths, not cold ones. */
    f = healthy();
    f->dst.libvirt_version = 10000000;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    CU_ASSERT_TRUE(p.refused);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check libvirt-version fails: libvirt 9.0.0 on hostA, 10.0.0 on hostB", 68), 0);
    plan_for(f, MIGRATE_MODE_COLD, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    f->dst.libvirt_version = 9000005;
    f->version_match_minor = true;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_SHARED);

    /* hostname: live paths only. */
    f = healthy();
    f->hostname_resolves = false;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check hostname fails: hostB calls itself hostB", 46), 0);
    plan_for(f, MIGRATE_MODE_COLD, &p);
    expect_path(&p, MIGRATE_PATH_COLD);

    /* Memory and network: a cold move of a shut-off guest does not need them; of a running
     * one (started again there) it does. */
    f = healthy();
    f->dst.free_memory_bytes = 1 * GiB;
    f->dst.n_networks = 0;
    f->guest.state = GUEST_SHUTOFF;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    f->guest.state = GUEST_RUNNING;
    plan_for(f, MIGRATE_MODE_COLD, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check memory fails: guest1 needs 4 GiB of memory, 1 GiB free on hostB", 69), 0);
    f->dst.free_memory_bytes = 8 * GiB;
    plan_for(f, MIGRATE_MODE_COLD, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check network fails: missing on hostB: network 'default'", 56), 0);
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    CU_ASSERT_EQUAL(strncmp(p.reason, "check network fails: ", 21), 0);

    /* A cold move on shared storage needs no room; off it, it does. */
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    f->dst.instance_dir_free_bytes = 0;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(p.bytes_to_stream, 0);
    unshare(f);
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_refused(&p,
                   "check disk-space fails: needs 2 GiB (allocations: a cold copy writes the files as they are), 0 B "
                   "free on hostB; free space there",
                   false);

    /* Forced shared without sharing: refused by the rule, with the proof's gap. */
    f = healthy();
    f->sharing.token_tried = f->sharing.token_seen = false;
    SET(f->sharing.token_detail, "hostB has no pool on the instance directory");
    plan_for(f, MIGRATE_MODE_SHARED, &p);
    expect_refused(&p,
                   "shared storage is not proven: the sharing token was not tried: hostB has no pool on the instance "
                   "directory; --mode auto falls back to block migration",
                   false);

    /* Config drive of an unknown format and auth_tcp = "none": warnings, never refusals. */
    f = healthy();
    unshare(f);
    SET(f->guest.disks[1].config_drive_format, "unknown");
    f->auth_none = true;
    f->dst.instance_dir_free_known = false;
    plan_for(f, MIGRATE_MODE_AUTO, &p);
    expect_path(&p, MIGRATE_PATH_BLOCK);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "names and parsing", test_names },
        { "path before checks", test_path_for },
        { "rules", test_rules },
        { "required checks", test_required_checks },
        { "flags and bytes", test_flags_and_bytes },
        { "bad input", test_bad_input },
        { "checks and plan together", test_end_to_end },
        { NULL, NULL },
    };
    return test_run_suite("plan", cases);
}
