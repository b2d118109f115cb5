/*
 * The configuration library: defaults, every key type in ferry.conf, the keys ferry reads
 * from nova.conf, precedence, the sources of values, every kind of bad input (each an
 * error naming file:line, the key and what is allowed), the checks across keys, loading
 * real files through the environment, migration URIs and the JSON form.
 */
#include "config.h"
#include "test_support.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- helpers ------------------------------------------------------------------------- */

#define ASSERT_SOURCE(cfg, section, key, expected) ASSERT_STR(config_source((cfg), (section), (key)), (expected))

/* A pointer no load may write over: errors must leave *cfg untouched. */
static struct ferry_config *const UNTOUCHED = (struct ferry_config *)&UNTOUCHED;

/* Loads ferry.conf text (named "ferry.conf") and nova.conf text (named "nova.conf"). */
static struct ferry_config *load_ok(const char *ferry_text, const char *nova_text)
{
    struct ferry_config *cfg = UNTOUCHED;
    char *error = NULL;
    int r = config_load_text(ferry_text, "ferry.conf", nova_text, "nova.conf", &cfg, &error);
    if (r != 0)
        fprintf(stderr, "\n    unexpected error %d: %s\n", r, error ? error : "(null)");
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_PTR_NULL(error);
    free(error);
    if (r != 0)
        return NULL;
    CU_ASSERT_PTR_NOT_NULL(cfg);
    CU_ASSERT_PTR_NOT_EQUAL(cfg, UNTOUCHED);
    return cfg == UNTOUCHED ? NULL : cfg;
}

/* Expects the load to fail with -EINVAL, leave *cfg alone, and return an error message
 * holding every one of the NULL-terminated needles. Returns the message (caller frees). */
static char *load_fail_v(const char *ferry_text, const char *nova_text, const char *const *needles)
{
    struct ferry_config *cfg = UNTOUCHED;
    char *error = NULL;
    int r = config_load_text(ferry_text, "ferry.conf", nova_text, "nova.conf", &cfg, &error);
    if (r != -EINVAL)
        fprintf(stderr, "\n    load of <<%s>> returned %d, expected -EINVAL\n", ferry_text ? ferry_text : "",
                r);
    CU_ASSERT_EQUAL(r, -EINVAL);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    if (cfg != UNTOUCHED)
        config_free(cfg);
    CU_ASSERT_PTR_NOT_NULL(error);
    for (const char *const *n = needles; *n; n++)
        ASSERT_CONTAINS(error, *n);
    /* One line: the caller prints it after "error: ". */
    if (error)
        CU_ASSERT_PTR_NULL(strchr(error, '\n'));
    return error;
}

#define EXPECT_FAIL(ferry_text, nova_text, ...)                                                       \
    do {                                                                                              \
        const char *const needles_[] = { __VA_ARGS__, NULL };                                         \
        free(load_fail_v((ferry_text), (nova_text), needles_));                                       \
    } while (0)

static struct json_object *jget(struct json_object *obj, const char *a, const char *b, const char *c)
{
    struct json_object *v = obj;
    const char *path[] = { a, b, c };
    for (int i = 0; i < 3 && path[i] && v; i++)
        if (!json_object_object_get_ex(v, path[i], &v))
            return NULL;
    return v;
}

static void save_env(const char *name, char **saved)
{
    const char *v = getenv(name);
    *saved = v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

/* --- defaults ------------------------------------------------------------------------ */

static void test_defaults(void)
{
    struct ferry_config *cfg = load_ok(NULL, NULL);
    if (!cfg)
        return;
    ASSERT_STR(cfg->storage.export_spec, "");
    ASSERT_STR(cfg->storage.mount_point, "/opt/stack/data/nova/instances");
    CU_ASSERT_EQUAL(cfg->storage.driver, STORAGE_DRIVER_AUTO);
    ASSERT_STR(cfg->storage.mount_options, "");
    ASSERT_STR(cfg->storage.nfs_version, "3");
    ASSERT_STR(cfg->storage.export_id, "");
    CU_ASSERT_EQUAL(cfg->storage.probe_timeout_ms, 5000);
    CU_ASSERT_EQUAL(cfg->storage.min_free_percent, 10);
    CU_ASSERT_EQUAL(cfg->storage.min_free_inodes_percent, 5);
    CU_ASSERT_EQUAL(cfg->storage.latency_warn_ms, 50);
    CU_ASSERT_EQUAL(cfg->storage.latency_fail_ms, 500);

    CU_ASSERT_EQUAL(cfg->lease.renew_interval_ms, 2000);
    CU_ASSERT_EQUAL(cfg->lease.fence_after_ms, 20000);
    CU_ASSERT_EQUAL(cfg->lease.lease_timeout_ms, 40000);
    CU_ASSERT_EQUAL(cfg->lease.fence_action, FENCE_ACTION_SUSPEND);
    CU_ASSERT_EQUAL(cfg->lease.fence_last_resort, FENCE_LAST_RESORT_NONE);
    CU_ASSERT_EQUAL(cfg->lease.fence_step_timeout_ms, 3000);

    ASSERT_STR(cfg->migrate.uri_template, "qemu+tcp://%s/system");
    CU_ASSERT_FALSE(cfg->migrate.disk_overcommit);
    CU_ASSERT_EQUAL(cfg->migrate.completion_timeout_ms, 600000);
    ASSERT_STR(cfg->migrate.downtime_steps.text, "50ms,100ms,200ms,500ms");
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.n, 4);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[0], 50);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[1], 100);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[2], 200);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[3], 500);
    CU_ASSERT_FALSE(cfg->migrate.allow_post_copy);
    CU_ASSERT_EQUAL(cfg->migrate.libvirt_version_match, VERSION_MATCH_EXACT);
    CU_ASSERT_EQUAL(cfg->migrate.shutdown_timeout_ms, 60000);
    CU_ASSERT_FALSE(cfg->migrate.allow_destroy);

    CU_ASSERT_EQUAL(cfg->fsck.stale_partial_age_ms, 24u * 3600 * 1000);
    CU_ASSERT_EQUAL(cfg->fsck.unused_base_age_ms, 7u * 24 * 3600 * 1000);
    CU_ASSERT_EQUAL(cfg->fsck.max_chain_depth, 8);
    CU_ASSERT_EQUAL(cfg->fsck.jobs, 0);

    ASSERT_STR(cfg->nova.config_file, "/etc/nova/nova.conf");
    ASSERT_STR(cfg->nova.config_drive_format, "iso9660");

    CU_ASSERT_PTR_NULL(cfg->ferry_conf_path);
    CU_ASSERT_PTR_NULL(cfg->nova_conf_path);

    /* Every key's source is "default": walk them all through the JSON form. */
    struct json_object *root = config_to_json(cfg);
    int keys = 0;
    json_object_object_foreach(root, section, entries)
    {
        if (!strcmp(section, "files"))
            continue;
        json_object_object_foreach(entries, key, entry)
        {
            struct json_object *src = jget(entry, "source", NULL, NULL);
            if (!src || strcmp(json_object_get_string(src), "default"))
                fprintf(stderr, "\n    [%s] %s: source %s\n", section, key,
                        src ? json_object_get_string(src) : "(none)");
            CU_ASSERT_PTR_NOT_NULL(src);
            CU_ASSERT_STRING_EQUAL(src ? json_object_get_string(src) : "", "default");
            keys++;
        }
    }
    CU_ASSERT(keys >= 31);
    json_object_put(root);

    ASSERT_SOURCE(cfg, "storage", "mount_point", "default");
    ASSERT_SOURCE(cfg, "migrate", "uri_template", "default");
    ASSERT_SOURCE(cfg, "storage", "no_such_key", "unknown");
    ASSERT_SOURCE(cfg, "no_such_section", "export", "unknown");
    config_free(cfg);

    /* Empty texts are the defaults too, but the files count as read. */
    cfg = load_ok("", "");
    if (!cfg)
        return;
    ASSERT_STR(cfg->ferry_conf_path, "ferry.conf");
    ASSERT_STR(cfg->nova_conf_path, "nova.conf");
    ASSERT_STR(cfg->storage.mount_point, FERRY_DEFAULT_INSTANCES);
    ASSERT_SOURCE(cfg, "storage", "mount_point", "default");
    config_free(cfg);
}

/* --- a full, valid ferry.conf -------------------------------------------------------- */

static const char full_conf[] = "# ferry.conf: every key set\n"                                /* 1 */
                                "\n"                                                           /* 2 */
                                "[storage]\n"                                                  /* 3 */
                                "export = 10.0.0.5:/srv/nova\n"                                /* 4 */
                                "mount_point = /srv/nova/instances\n"                          /* 5 */
                                "driver = fuse\n"                                              /* 6 */
                                "mount_options = nconnect=4,noatime\n"                         /* 7 */
                                "nfs_version = 4.1\n"                                          /* 8 */
                                "export_id = 0123abcd-89ef-4567-89AB-cdef01234567\n"           /* 9 */
                                "probe_timeout = 2s\n"                                         /* 10 */
                                "min_free_percent = 100\n"                                     /* 11 */
                                "min_free_inodes_percent = 0\n"                                /* 12 */
                                "latency_warn = 500ms\n"                                       /* 13 */
                                "latency_fail = 3\n"                                           /* 14 */
                                "\n"                                                           /* 15 */
                                "; lease settings\n"                                           /* 16 */
                                "[lease]\n"                                                    /* 17 */
                                "renew_interval = 1500ms\n"                                    /* 18 */
                                "fence_after = 2m\n"                                           /* 19 */
                                "lease_timeout = 1h\n"                                         /* 20 */
                                "fence_action = destroy\n"                                     /* 21 */
                                "fence_last_resort = reboot\n"                                 /* 22 */
                                "fence_step_timeout = 10s\n"                                   /* 23 */
                                "\n"                                                           /* 24 */
                                "[migrate]\n"                                                  /* 25 */
                                "uri_template = qemu+ssh://stack@%s/system?no_verify=1\n"      /* 26 */
                                "disk_overcommit = yes\n"                                      /* 27 */
                                "completion_timeout = 30m\n"                                   /* 28 */
                                "downtime_steps = 10ms, 20ms,1s\n"                             /* 29 */
                                "allow_post_copy = on\n"                                       /* 30 */
                                "libvirt_version_match = minor\n"                              /* 31 */
                                "shutdown_timeout = 90\n"                                      /* 32 */
                                "allow_destroy = 1\n"                                          /* 33 */
                                "\n"                                                           /* 34 */
                                "# fsck\n"                                                     /* 35 */
                                "[fsck]\n"                                                     /* 36 */
                                "stale_partial_age = 7d\n"                                     /* 37 */
                                "unused_base_age = 0\n"                                        /* 38 */
                                "max_chain_depth = 1000\n"                                     /* 39 */
                                "jobs = 256\n"                                                 /* 40 */
                                "\n"                                                           /* 41 */
                                "[nova]\n"                                                     /* 42 */
                                "config_file = /etc/nova/nova-compute.conf\n"                  /* 43 */
                                "config_drive_format = vfat\n"                                 /* 44 */
                                "[storage]\n"                                                  /* 45 */
                                "state_dir = /srv/ferry/state\n"                               /* 46 */
                                "runtime_dir = /srv/ferry/run\n"                               /* 47 */
                                "log_dir = /srv/ferry/log\n"                                   /* 48 */
                                "[migrate]\n"                                                  /* 49 */
                                "bandwidth = 100\n";                                           /* 50 */

static void test_full_ferry_conf(void)
{
    struct ferry_config *cfg = load_ok(full_conf, NULL);
    if (!cfg)
        return;
    ASSERT_STR(cfg->ferry_conf_path, "ferry.conf");
    CU_ASSERT_PTR_NULL(cfg->nova_conf_path);

    ASSERT_STR(cfg->storage.export_spec, "10.0.0.5:/srv/nova");
    ASSERT_STR(cfg->storage.mount_point, "/srv/nova/instances");
    CU_ASSERT_EQUAL(cfg->storage.driver, STORAGE_DRIVER_FUSE);
    ASSERT_STR(cfg->storage.mount_options, "nconnect=4,noatime");
    ASSERT_STR(cfg->storage.nfs_version, "4.1");
    ASSERT_STR(cfg->storage.export_id, "0123abcd-89ef-4567-89AB-cdef01234567");
    CU_ASSERT_EQUAL(cfg->storage.probe_timeout_ms, 2000);
    CU_ASSERT_EQUAL(cfg->storage.min_free_percent, 100);
    CU_ASSERT_EQUAL(cfg->storage.min_free_inodes_percent, 0);
    CU_ASSERT_EQUAL(cfg->storage.latency_warn_ms, 500);
    CU_ASSERT_EQUAL(cfg->storage.latency_fail_ms, 3000);

    CU_ASSERT_EQUAL(cfg->lease.renew_interval_ms, 1500);
    CU_ASSERT_EQUAL(cfg->lease.fence_after_ms, 120000);
    CU_ASSERT_EQUAL(cfg->lease.lease_timeout_ms, 3600000);
    CU_ASSERT_EQUAL(cfg->lease.fence_action, FENCE_ACTION_DESTROY);
    CU_ASSERT_EQUAL(cfg->lease.fence_last_resort, FENCE_LAST_RESORT_REBOOT);
    CU_ASSERT_EQUAL(cfg->lease.fence_step_timeout_ms, 10000);

    ASSERT_STR(cfg->migrate.uri_template, "qemu+ssh://stack@%s/system?no_verify=1");
    CU_ASSERT_TRUE(cfg->migrate.disk_overcommit);
    CU_ASSERT_EQUAL(cfg->migrate.completion_timeout_ms, 1800000);
    ASSERT_STR(cfg->migrate.downtime_steps.text, "10ms, 20ms,1s");
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.n, 3);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[0], 10);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[1], 20);
    CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[2], 1000);
    CU_ASSERT_TRUE(cfg->migrate.allow_post_copy);
    CU_ASSERT_EQUAL(cfg->migrate.libvirt_version_match, VERSION_MATCH_MINOR);
    CU_ASSERT_EQUAL(cfg->migrate.shutdown_timeout_ms, 90000);
    CU_ASSERT_TRUE(cfg->migrate.allow_destroy);

    CU_ASSERT_EQUAL(cfg->fsck.stale_partial_age_ms, 7u * 24 * 3600 * 1000);
    CU_ASSERT_EQUAL(cfg->fsck.unused_base_age_ms, 0);
    CU_ASSERT_EQUAL(cfg->fsck.max_chain_depth, 1000);
    CU_ASSERT_EQUAL(cfg->fsck.jobs, 256);

    ASSERT_STR(cfg->nova.config_file, "/etc/nova/nova-compute.conf");
    ASSERT_STR(cfg->nova.config_drive_format, "vfat");

    /* Sources: the line of each key, counting comments and blank lines. */
    ASSERT_SOURCE(cfg, "storage", "export", "ferry.conf:4");
    ASSERT_SOURCE(cfg, "storage", "mount_point", "ferry.conf:5");
    ASSERT_SOURCE(cfg, "storage", "export_id", "ferry.conf:9");
    ASSERT_SOURCE(cfg, "storage", "state_dir", "ferry.conf:46");
    ASSERT_SOURCE(cfg, "storage", "log_dir", "ferry.conf:48");
    ASSERT_SOURCE(cfg, "migrate", "bandwidth", "ferry.conf:50");
    CU_ASSERT_EQUAL(cfg->migrate.bandwidth_mib, 100);
    ASSERT_STR(cfg->storage.runtime_dir, "/srv/ferry/run");
    ASSERT_SOURCE(cfg, "storage", "latency_fail", "ferry.conf:14");
    ASSERT_SOURCE(cfg, "lease", "renew_interval", "ferry.conf:18");
    ASSERT_SOURCE(cfg, "lease", "fence_step_timeout", "ferry.conf:23");
    ASSERT_SOURCE(cfg, "migrate", "uri_template", "ferry.conf:26");
    ASSERT_SOURCE(cfg, "migrate", "downtime_steps", "ferry.conf:29");
    ASSERT_SOURCE(cfg, "migrate", "allow_destroy", "ferry.conf:33");
    ASSERT_SOURCE(cfg, "fsck", "stale_partial_age", "ferry.conf:37");
    ASSERT_SOURCE(cfg, "fsck", "jobs", "ferry.conf:40");
    ASSERT_SOURCE(cfg, "nova", "config_file", "ferry.conf:43");
    ASSERT_SOURCE(cfg, "nova", "config_drive_format", "ferry.conf:44");

    /* Every key was set by the file: no source is left at "default". */
    struct json_object *root = config_to_json(cfg);
    json_object_object_foreach(root, section, entries)
    {
        if (!strcmp(section, "files"))
            continue;
        json_object_object_foreach(entries, key, entry)
        {
            struct json_object *src = jget(entry, "source", NULL, NULL);
            const char *s = src ? json_object_get_string(src) : "";
            if (strncmp(s, "ferry.conf:", 11))
                fprintf(stderr, "\n    [%s] %s: source %s\n", section, key, s);
            CU_ASSERT_NSTRING_EQUAL(s, "ferry.conf:", 11);
        }
    }
    json_object_put(root);

    /* config_print: each value as ferry.conf spells it, with its source. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    config_print(cfg, f);
    fclose(f);
    ASSERT_CONTAINS(text, "# read: ferry.conf\n");
    ASSERT_CONTAINS(text, "# read: (no nova.conf)\n");
    ASSERT_CONTAINS(text, "\n[storage]\nexport = 10.0.0.5:/srv/nova ");
    ASSERT_CONTAINS(text, "; ferry.conf:4\n");
    ASSERT_CONTAINS(text, "latency_fail = 3s ");
    ASSERT_CONTAINS(text, "fence_after = 2m ");
    ASSERT_CONTAINS(text, "lease_timeout = 1h ");
    ASSERT_CONTAINS(text, "driver = fuse ");
    ASSERT_CONTAINS(text, "disk_overcommit = true ");
    ASSERT_CONTAINS(text, "shutdown_timeout = 90s ");
    ASSERT_CONTAINS(text, "stale_partial_age = 7d ");
    free(text);
    config_free(cfg);
}

static void test_bool_spellings(void)
{
    static const struct {
        const char *text;
        bool value;
    } cases[] = {
        { "yes", true }, { "no", false },   { "on", true },    { "off", false }, { "1", true },
        { "0", false },  { "true", true },  { "false", false }, { "TRUE", true }, { "No", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* Start from the opposite value, so a value left alone is caught. */
        char *text = test_strf("[migrate]\nallow_post_copy = %s\nallow_destroy = %s\ndisk_overcommit = %s\n",
                               cases[i].text, cases[i].text, cases[i].text);
        struct ferry_config *cfg = load_ok(text, NULL);
        if (cfg) {
            if (cfg->migrate.allow_destroy != cases[i].value)
                fprintf(stderr, "\n    '%s' read as %d\n", cases[i].text, cfg->migrate.allow_destroy);
            CU_ASSERT_EQUAL(cfg->migrate.allow_post_copy, cases[i].value);
            CU_ASSERT_EQUAL(cfg->migrate.allow_destroy, cases[i].value);
            CU_ASSERT_EQUAL(cfg->migrate.disk_overcommit, cases[i].value);
            ASSERT_SOURCE(cfg, "migrate", "allow_destroy", "ferry.conf:3");
            config_free(cfg);
        }
        free(text);
    }
    EXPECT_FAIL("[migrate]\nallow_destroy = 2\n", NULL, "ferry.conf:2", "allow_destroy", "'2'",
                "true|false", "yes|no", "on|off", "1|0");
    EXPECT_FAIL("[migrate]\nallow_destroy = y\n", NULL, "ferry.conf:2", "allow_destroy", "true|false");
    EXPECT_FAIL("[migrate]\nallow_destroy = enabled\n", NULL, "ferry.conf:2", "'enabled'", "true|false");
    EXPECT_FAIL("[migrate]\nallow_destroy =\n", NULL, "ferry.conf:2", "allow_destroy", "true|false");
}

static void test_parse_duration(void)
{
    static const struct {
        const char *text;
        unsigned ms;
    } good[] = {
        { "500ms", 500 },      { "2s", 2000 },       { "3", 3000 },           { "2m", 120000 },
        { "1h", 3600000 },     { "7d", 604800000 },  { "0", 0 },              { "0ms", 0 },
        { "4294967295ms", 4294967295u },             { "49d", 49u * 86400000u },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        unsigned ms = 12345;
        int r = config_parse_duration(good[i].text, &ms);
        if (r != 0 || ms != good[i].ms)
            fprintf(stderr, "\n    '%s': r=%d ms=%u, expected %u\n", good[i].text, r, ms, good[i].ms);
        CU_ASSERT_EQUAL(r, 0);
        CU_ASSERT_EQUAL(ms, good[i].ms);
    }
    static const char *const bad[] = { "5 s", "5x", "", "-1", "1.5s", "s", "ms", " 5", "5S", "5sec", "+5", "0x10" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned ms = 12345;
        int r = config_parse_duration(bad[i], &ms);
        if (r != -EINVAL)
            fprintf(stderr, "\n    '%s': r=%d, expected -EINVAL\n", bad[i], r);
        CU_ASSERT_EQUAL(r, -EINVAL);
        CU_ASSERT_EQUAL(ms, 12345); /* untouched */
    }
    static const char *const huge[] = { "4294967296ms", "4294968s", "50d", "99999999999999999999999" };
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        unsigned ms = 12345;
        int r = config_parse_duration(huge[i], &ms);
        if (r != -ERANGE)
            fprintf(stderr, "\n    '%s': r=%d, expected -ERANGE\n", huge[i], r);
        CU_ASSERT_EQUAL(r, -ERANGE);
        CU_ASSERT_EQUAL(ms, 12345);
    }
}

static void test_uint_bounds(void)
{
    struct ferry_config *cfg = load_ok("[fsck]\nmax_chain_depth = 1\njobs = 0\n", NULL);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->fsck.max_chain_depth, 1);
        CU_ASSERT_EQUAL(cfg->fsck.jobs, 0);
        ASSERT_SOURCE(cfg, "fsck", "jobs", "ferry.conf:3");
        config_free(cfg);
    }
    EXPECT_FAIL("[storage]\nmin_free_percent = 101\n", NULL, "ferry.conf:2", "min_free_percent", "'101'",
                "a whole number from 0 to 100");
    EXPECT_FAIL("[fsck]\nmax_chain_depth = 0\n", NULL, "ferry.conf:2", "max_chain_depth", "from 1 to 1000");
    EXPECT_FAIL("[fsck]\njobs = 257\n", NULL, "ferry.conf:2", "jobs", "from 0 to 256");
    EXPECT_FAIL("[fsck]\njobs = 4294967297\n", NULL, "ferry.conf:2", "jobs", "from 0 to 256");
    EXPECT_FAIL("[fsck]\njobs = 99999999999999999999999\n", NULL, "ferry.conf:2", "jobs", "from 0 to 256");
    EXPECT_FAIL("[storage]\nmin_free_percent = -1\n", NULL, "ferry.conf:2", "min_free_percent", "'-1'",
                "from 0 to 100");
    EXPECT_FAIL("[fsck]\njobs = 4 \t; four\n\njobs2 = 1\n", NULL, "ferry.conf:4", "'jobs2'");
    EXPECT_FAIL("[fsck]\njobs = 4x\n", NULL, "ferry.conf:2", "jobs", "'4x'");
    EXPECT_FAIL("[fsck]\njobs = +4\n", NULL, "ferry.conf:2", "jobs", "'+4'");
    EXPECT_FAIL("[fsck]\njobs =\n", NULL, "ferry.conf:2", "jobs", "from 0 to 256");
}

/* --- nova.conf ----------------------------------------------------------------------- */

static const char nova_conf[] = "[DEFAULT]\n"                                        /* 1 */
                                "# Nova's own settings\n"                            /* 2 */
                                "debug = True\n"                                     /* 3 */
                                "instances_path = /var/lib/nova/instances\n"         /* 4 */
                                "config_drive_format = vfat\n"                       /* 5 */
                                "my_ip = 10.0.0.2\n"                                 /* 6 */
                                "\n"                                                 /* 7 */
                                "[libvirt]\n"                                        /* 8 */
                                "virt_type = kvm\n"                                  /* 9 */
                                "live_migration_uri = qemu+ssh://stack@%s/system\n"  /* 10 */
                                "config_drive_format = not-ferrys-business\n"        /* 11 */
                                "[database]\n"                                       /* 12 */
                                "connection = mysql+pymysql://root:pw@db/nova\n"     /* 13 */
                                "[workarounds]\n"                                    /* 14 */
                                "instances_path = relative/is/fine/here\n"           /* 15 */
                                "live_migration_uri = no-percent-s-here\n";          /* 16 */

static void test_nova_conf_taken(void)
{
    struct ferry_config *cfg = load_ok(NULL, nova_conf);
    if (!cfg)
        return;
    CU_ASSERT_PTR_NULL(cfg->ferry_conf_path);
    ASSERT_STR(cfg->nova_conf_path, "nova.conf");
    ASSERT_STR(cfg->storage.mount_point, "/var/lib/nova/instances");
    ASSERT_SOURCE(cfg, "storage", "mount_point", "nova.conf:4");
    ASSERT_STR(cfg->nova.config_drive_format, "vfat");
    ASSERT_SOURCE(cfg, "nova", "config_drive_format", "nova.conf:5");
    ASSERT_STR(cfg->migrate.uri_template, "qemu+ssh://stack@%s/system");
    ASSERT_SOURCE(cfg, "migrate", "uri_template", "nova.conf:10");
    /* Keys ferry does not mirror stay at their defaults. */
    ASSERT_SOURCE(cfg, "storage", "export", "default");
    ASSERT_SOURCE(cfg, "nova", "config_file", "default");
    ASSERT_SOURCE(cfg, "lease", "fence_after", "default");
    config_free(cfg);

    /* Nova may repeat a key; the last one counts, as in oslo.config. */
    cfg = load_ok(NULL, "[DEFAULT]\ninstances_path = /a\n\ninstances_path = /b\n");
    if (cfg) {
        ASSERT_STR(cfg->storage.mount_point, "/b");
        ASSERT_SOURCE(cfg, "storage", "mount_point", "nova.conf:4");
        config_free(cfg);
    }
}

static void test_nova_ferry_wins(void)
{
    const char *ferry = "[storage]\n"                           /* 1 */
                        "mount_point = /srv/ferry\n"            /* 2 */
                        "[migrate]\n"                           /* 3 */
                        "uri_template = qemu+tls://%s/system\n"; /* 4 */
    struct ferry_config *cfg = load_ok(ferry, nova_conf);
    if (!cfg)
        return;
    ASSERT_STR(cfg->storage.mount_point, "/srv/ferry");
    ASSERT_SOURCE(cfg, "storage", "mount_point", "ferry.conf:2");
    ASSERT_STR(cfg->migrate.uri_template, "qemu+tls://%s/system");
    ASSERT_SOURCE(cfg, "migrate", "uri_template", "ferry.conf:4");
    /* What ferry.conf leaves alone still comes from Nova. */
    ASSERT_STR(cfg->nova.config_drive_format, "vfat");
    ASSERT_SOURCE(cfg, "nova", "config_drive_format", "nova.conf:5");
    ASSERT_STR(cfg->ferry_conf_path, "ferry.conf");
    ASSERT_STR(cfg->nova_conf_path, "nova.conf");
    config_free(cfg);

    /* ferry.conf setting a key to its default value still wins over Nova's. */
    cfg = load_ok("[nova]\nconfig_drive_format = iso9660\n", nova_conf);
    if (cfg) {
        ASSERT_STR(cfg->nova.config_drive_format, "iso9660");
        ASSERT_SOURCE(cfg, "nova", "config_drive_format", "ferry.conf:2");
        config_free(cfg);
    }

    /* A value of Nova's that ferry could not use is no error when ferry.conf sets the key
     * (as the error message for it suggests). */
    cfg = load_ok("[storage]\nmount_point = /srv/ferry\n", "[DEFAULT]\ninstances_path = instances\n");
    if (cfg) {
        ASSERT_STR(cfg->storage.mount_point, "/srv/ferry");
        ASSERT_SOURCE(cfg, "storage", "mount_point", "ferry.conf:2");
        config_free(cfg);
    }
}

static void test_nova_bad_values(void)
{
    EXPECT_FAIL(NULL, "[libvirt]\nlive_migration_uri = qemu+tcp://host/system\n", "nova.conf:2",
                "live_migration_uri", "'qemu+tcp://host/system'", "exactly one %s",
                "[migrate] uri_template in ferry.conf");
    EXPECT_FAIL(NULL, "[DEFAULT]\n# c\nconfig_drive_format = ext4\n", "nova.conf:3", "config_drive_format",
                "'ext4'", "iso9660|vfat");
    EXPECT_FAIL(NULL, "[DEFAULT]\n\ninstances_path = instances\n", "nova.conf:3", "instances_path",
                "absolute path", "[storage] mount_point in ferry.conf");
    EXPECT_FAIL(NULL, "[DEFAULT]\ninstances_path = /opt/../instances\n", "nova.conf:2", "instances_path", "'..'");
    /* ferry.conf setting another key does not excuse a bad one. */
    EXPECT_FAIL("[storage]\nmount_point = /srv/x\n", "[libvirt]\nlive_migration_uri = qemu://%s/%s\n",
                "nova.conf:2", "live_migration_uri");
    /* Nova's syntax errors are reported with nova.conf's name. */
    EXPECT_FAIL(NULL, "[DEFAULT]\ninstances_path = /a\nthis is not ini\n", "nova.conf:3", "syntax error");
}

/* --- bad ferry.conf ------------------------------------------------------------------ */

static void test_syntax_errors(void)
{
    EXPECT_FAIL("[storage]\nexport\n", NULL, "ferry.conf:2: syntax error", "'[section]'", "'key = value'");
    EXPECT_FAIL("[storage\nexport = a\n", NULL, "ferry.conf:1: syntax error");
    EXPECT_FAIL("# c\n\n; c\n[storage]\n\nnonsense line\n", NULL, "ferry.conf:6: syntax error");
    EXPECT_FAIL("[storage]\nexport = a\n[lease\n", NULL, "ferry.conf:3: syntax error");
    /* The first error wins, whichever kind. */
    EXPECT_FAIL("[storage]\ndriver = nfs\nnonsense\n", NULL, "ferry.conf:2:", "driver", "auto|kernel|fuse");
    {
        const char *const needles[] = { "ferry.conf:2: syntax error", NULL };
        char *e = load_fail_v("[storage]\nnonsense\ndriver = nfs\n", NULL, needles);
        ASSERT_NOT_CONTAINS(e, "driver");
        free(e);
    }
}

static void test_unknown_section_and_key(void)
{
    /* inih reports a section when its first key is read. */
    EXPECT_FAIL("[storage]\nexport = a\n[stroage]\nmount_point = /x\n", NULL, "ferry.conf:4",
                "unknown section [stroage]", "[storage], [lease], [migrate], [fsck], [nova]");
    EXPECT_FAIL("[storage]\nmountpoint = /x\n", NULL, "ferry.conf:2", "unknown key 'mountpoint' in [storage]",
                "known keys: export, mount_point, driver, mount_options, nfs_version, export_id, state_dir, "
                "runtime_dir, log_dir, probe_timeout, "
                "min_free_percent, min_free_inodes_percent, latency_warn, latency_fail");
    /* Only the keys of that section are listed. */
    {
        const char *const needles[] = { "ferry.conf:3", "unknown key 'export' in [lease]", "renew_interval",
                                        "fence_after", "lease_timeout", "fence_action", "fence_last_resort",
                                        "fence_step_timeout", NULL };
        char *e = load_fail_v("[lease]\n\nexport = a\n", NULL, needles);
        ASSERT_NOT_CONTAINS(e, "mount_point");
        free(e);
    }
    /* Keys are matched exactly. */
    EXPECT_FAIL("[storage]\nExport = a\n", NULL, "ferry.conf:2", "unknown key 'Export'");
    EXPECT_FAIL("# top\nexport = a\n[storage]\n", NULL, "ferry.conf:2", "'export' is outside any section",
                "[storage], [lease], [migrate], [fsck], [nova]");
    /* Nova's sections are not ferry's. */
    EXPECT_FAIL("[DEFAULT]\ninstances_path = /x\n", NULL, "ferry.conf:2", "unknown section [DEFAULT]");
}

static void test_bad_values(void)
{
    /* enum and choice */
    EXPECT_FAIL("[storage]\n\ndriver = nfs\n", NULL, "ferry.conf:3", "[storage] driver", "'nfs'",
                "allowed: auto|kernel|fuse");
    EXPECT_FAIL("[storage]\ndriver = Kernel\n", NULL, "ferry.conf:2", "driver", "auto|kernel|fuse");
    EXPECT_FAIL("[lease]\nfence_action = reboot\n", NULL, "ferry.conf:2", "fence_action", "suspend|destroy");
    EXPECT_FAIL("[lease]\nfence_last_resort = panic\n", NULL, "ferry.conf:2", "fence_last_resort",
                "none|watchdog|reboot");
    EXPECT_FAIL("[migrate]\nlibvirt_version_match = major\n", NULL, "ferry.conf:2", "libvirt_version_match",
                "exact|minor");
    EXPECT_FAIL("[storage]\nnfs_version = 4.3\n", NULL, "ferry.conf:2", "nfs_version", "'4.3'", "3|4|4.1|4.2");
    EXPECT_FAIL("[storage]\nnfs_version = 4.\n", NULL, "ferry.conf:2", "nfs_version", "3|4|4.1|4.2");
    EXPECT_FAIL("[nova]\nconfig_drive_format = ext4\n", NULL, "ferry.conf:2", "config_drive_format",
                "iso9660|vfat");

    /* durations */
    static const char *const bad_durations[] = { "5 s", "5x", "", "-1", "1.5s", "5sec" };
    for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
        char *text = test_strf("[storage]\nprobe_timeout = %s\n", bad_durations[i]);
        char *quoted = test_strf("'%s'", bad_durations[i]);
        EXPECT_FAIL(text, NULL, "ferry.conf:2", "[storage] probe_timeout", quoted, "from 100ms to 10m",
                    "ms, s, m, h or d");
        free(quoted);
        free(text);
    }
    EXPECT_FAIL("[storage]\nprobe_timeout = 99ms\n", NULL, "ferry.conf:2", "probe_timeout", "from 100ms to 10m");
    EXPECT_FAIL("[storage]\nprobe_timeout = 601s\n", NULL, "ferry.conf:2", "probe_timeout", "from 100ms to 10m");
    EXPECT_FAIL("[migrate]\ncompletion_timeout = 2d\n", NULL, "ferry.conf:2", "completion_timeout",
                "from 1s to 1d");
    EXPECT_FAIL("[lease]\nfence_after = 4294967296ms\n", NULL, "ferry.conf:2", "fence_after");
    {
        /* The bounds themselves are allowed. */
        struct ferry_config *cfg = load_ok("[storage]\nprobe_timeout = 100ms\n[migrate]\ncompletion_timeout = 1d\n",
                                           NULL);
        if (cfg) {
            CU_ASSERT_EQUAL(cfg->storage.probe_timeout_ms, 100);
            CU_ASSERT_EQUAL(cfg->migrate.completion_timeout_ms, 86400000);
            config_free(cfg);
        }
    }

    /* duration lists */
    EXPECT_FAIL("[migrate]\ndowntime_steps = 100ms,50ms\n", NULL, "ferry.conf:2", "downtime_steps",
                "steps must increase ('50ms' does not)");
    EXPECT_FAIL("[migrate]\ndowntime_steps = 50ms,50ms\n", NULL, "ferry.conf:2", "steps must increase");
    EXPECT_FAIL("[migrate]\ndowntime_steps = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", NULL, "ferry.conf:2",
                "downtime_steps", "at most 16 steps");
    EXPECT_FAIL("[migrate]\ndowntime_steps = 0ms,10ms\n", NULL, "ferry.conf:2", "'0ms'", "between 1ms and 60000ms");
    EXPECT_FAIL("[migrate]\ndowntime_steps = 50ms,61s\n", NULL, "ferry.conf:2", "'61s'");
    EXPECT_FAIL("[migrate]\ndowntime_steps = 50ms,fast\n", NULL, "ferry.conf:2", "'fast'");
    EXPECT_FAIL("[migrate]\ndowntime_steps =\n", NULL, "ferry.conf:2", "downtime_steps", "at least one duration");
    {
        struct ferry_config *cfg = load_ok(
            "[migrate]\ndowntime_steps = 1ms,2ms,3ms,4ms,5ms,6ms,7ms,8ms,9ms,10ms,11ms,12ms,13ms,14ms,15ms,60s\n",
            NULL);
        if (cfg) {
            CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.n, CONFIG_MAX_DOWNTIME_STEPS);
            CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[0], 1);
            CU_ASSERT_EQUAL(cfg->migrate.downtime_steps.ms[15], 60000);
            config_free(cfg);
        }
    }

    /* URI templates */
    static const char *const bad_uris[] = {
        "qemu+tcp://%s/%s", "qemu+tcp://%d/system", "qemu+tcp://host/system", "qemu+tcp://%s/system%",
        "qemu+tcp://%%s/system", "%s", "qemu+tcp://%s:%d/system",
    };
    for (size_t i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
        char *text = test_strf("[migrate]\nuri_template = %s\n", bad_uris[i]);
        char *quoted = test_strf("'%s'", bad_uris[i]);
        EXPECT_FAIL(text, NULL, "ferry.conf:2", "[migrate] uri_template", quoted, "exactly one %s",
                    "qemu+tcp://%s/system");
        free(quoted);
        free(text);
    }

    /* paths */
    EXPECT_FAIL("[storage]\nmount_point = instances\n", NULL, "ferry.conf:2", "mount_point", "'instances'",
                "absolute path");
    EXPECT_FAIL("[storage]\nmount_point = /opt/../etc\n", NULL, "ferry.conf:2", "mount_point", "'..'");
    EXPECT_FAIL("[storage]\nmount_point = /opt/stack/..\n", NULL, "ferry.conf:2", "mount_point", "'..'");
    EXPECT_FAIL("[nova]\nconfig_file = nova.conf\n", NULL, "ferry.conf:2", "config_file", "absolute path");
    EXPECT_FAIL("[storage]\nmount_point =\n", NULL, "ferry.conf:2", "mount_point", "absolute path");
    {
        /* ".." only as a whole component */
        struct ferry_config *cfg = load_ok("[storage]\nmount_point = /srv/..hidden/x..\n", NULL);
        if (cfg) {
            ASSERT_STR(cfg->storage.mount_point, "/srv/..hidden/x..");
            config_free(cfg);
        }
    }

    /* UUIDs */
    static const char *const bad_uuids[] = {
        "1234",
        "0123abcd-89ef-4567-89ab-cdef0123456",   /* one short */
        "0123abcd-89ef-4567-89ab-cdef012345678", /* one long */
        "0123abcd-89ef-4567-89ab-cdef0123456g",  /* not hex */
        "0123abcd89ef-4567-89ab-cdef0-1234567",  /* dash misplaced */
        "{0123abcd-89ef-4567-89ab-cdef01234567}",
    };
    for (size_t i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++) {
        char *text = test_strf("[storage]\nexport_id = %s\n", bad_uuids[i]);
        EXPECT_FAIL(text, NULL, "ferry.conf:2", "export_id", "a UUID");
        free(text);
    }

    /* the same key twice */
    EXPECT_FAIL("[storage]\nexport = a:/x\n\nexport = b:/y\n", NULL, "ferry.conf:4", "[storage] export",
                "set twice", "first at ferry.conf:2");
    EXPECT_FAIL("[storage]\nexport = a:/x\n[lease]\nfence_after = 30s\n[storage]\nexport = a:/x\n", NULL,
                "ferry.conf:6", "set twice", "first at ferry.conf:2");
}

static void test_long_line(void)
{
    /* Find the reader's limit from its own message, then check it exactly. */
    char long_value[4000];
    memset(long_value, 'a', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = 0;
    char *text = test_strf("[storage]\nexport = %s\nmount_point = /x\n", long_value);
    const char *const needles[] = { "ferry.conf:2: line longer than ", " characters", NULL };
    char *e = load_fail_v(text, NULL, needles);
    free(text);
    unsigned limit = 0;
    const char *p = e ? strstr(e, "longer than ") : NULL;
    CU_ASSERT_PTR_NOT_NULL(p);
    if (p)
        limit = (unsigned)strtoul(p + strlen("longer than "), NULL, 10);
    free(e);
    CU_ASSERT(limit >= 100 && limit < 3000);
    if (!(limit >= 100 && limit < 3000))
        return;

    /* "export = " is 9 characters: a line of exactly limit characters is read whole. */
    long_value[limit - 9] = 0;
    text = test_strf("[storage]\nexport = %s\n", long_value);
    CU_ASSERT_EQUAL(strlen(strchr(text, '\n') + 1), limit + 1);
    struct ferry_config *cfg = load_ok(text, NULL);
    if (cfg) {
        CU_ASSERT_EQUAL(strlen(cfg->storage.export_spec), limit - 9);
        config_free(cfg);
    }
    free(text);

    /* One more is an error, even without a newline at the end. */
    long_value[limit - 9] = 'a';
    long_value[limit - 8] = 0;
    text = test_strf("# c\n[storage]\nexport = %s", long_value);
    char *line = test_strf("ferry.conf:3: line longer than %u characters", limit);
    EXPECT_FAIL(text, NULL, line);
    free(line);
    free(text);
}

/* --- checks across keys -------------------------------------------------------------- */

static void test_cross_key(void)
{
    EXPECT_FAIL("[lease]\nfence_after = 30s\nlease_timeout = 30s\n", NULL, "ferry.conf:3",
                "[lease] lease_timeout = 30s", "longer than fence_after (30s, from ferry.conf:2)");
    EXPECT_FAIL("[lease]\nlease_timeout = 10s\n", NULL, "ferry.conf:2", "lease_timeout = 10s",
                "fence_after (20s, from default)");
    EXPECT_FAIL("[lease]\nfence_after = 40s\n", NULL, "lease_timeout = 40s", "fence_after (40s, from ferry.conf:2)");
    EXPECT_FAIL("[lease]\nrenew_interval = 5s\n\nfence_after = 5s\n", NULL, "ferry.conf:4",
                "[lease] fence_after = 5s", "longer than renew_interval (5s, from ferry.conf:2)");
    EXPECT_FAIL("[lease]\nrenew_interval = 30s\n", NULL, "fence_after = 20s",
                "renew_interval (30s, from ferry.conf:2)");
    EXPECT_FAIL("[storage]\nlatency_warn = 1s\nlatency_fail = 999ms\n", NULL, "ferry.conf:3",
                "[storage] latency_fail = 999ms", "must not be below latency_warn (1s, from ferry.conf:2)");
    EXPECT_FAIL("[storage]\nlatency_warn = 600ms\n", NULL, "latency_fail = 500ms",
                "latency_warn (600ms, from ferry.conf:2)");

    /* Just inside the limits is fine; equal latencies are allowed. */
    struct ferry_config *cfg = load_ok("[lease]\nrenew_interval = 1s\nfence_after = 1001ms\nlease_timeout = 1002ms\n"
                                       "[storage]\nlatency_warn = 1s\nlatency_fail = 1s\n",
                                       NULL);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->lease.fence_after_ms, 1001);
        CU_ASSERT_EQUAL(cfg->lease.lease_timeout_ms, 1002);
        CU_ASSERT_EQUAL(cfg->storage.latency_fail_ms, 1000);
        config_free(cfg);
    }
}

/* --- real files ---------------------------------------------------------------------- */

struct env_fixture {
    char *dir;
    char *saved_conf, *saved_nova;
};

static void env_setup(struct env_fixture *fx)
{
    fx->dir = test_tmpdir_create("config");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->dir);
    save_env("FERRY_CONF", &fx->saved_conf);
    save_env("FERRY_NOVA_CONF", &fx->saved_nova);
}

static void env_teardown(struct env_fixture *fx)
{
    restore_env("FERRY_CONF", fx->saved_conf);
    restore_env("FERRY_NOVA_CONF", fx->saved_nova);
    test_tmpdir_remove(fx->dir);
}

static void test_load_files(void)
{
    struct env_fixture fx;
    env_setup(&fx);
    char *ferry = test_strf("%s/ferry.conf", fx.dir);
    char *other = test_strf("%s/other.conf", fx.dir);
    char *nova = test_strf("%s/nova.conf", fx.dir);
    char *missing = test_strf("%s/missing.conf", fx.dir);
    CU_ASSERT_EQUAL(test_write_file(ferry, "# ferry\n[storage]\nmount_point = /srv/env\n"), 0);
    CU_ASSERT_EQUAL(test_write_file(other, "[storage]\nexport = other:/x\n"), 0);
    CU_ASSERT_EQUAL(test_write_file(nova, "[DEFAULT]\nconfig_drive_format = vfat\ninstances_path = /srv/nova\n"), 0);

    struct ferry_config *cfg = UNTOUCHED;
    char *error = NULL;
    char *src;

    /* $FERRY_CONF and $FERRY_NOVA_CONF */
    setenv("FERRY_CONF", ferry, 1);
    setenv("FERRY_NOVA_CONF", nova, 1);
    CU_ASSERT_EQUAL(config_load(NULL, &cfg, &error), 0);
    CU_ASSERT_PTR_NULL(error);
    if (cfg != UNTOUCHED) {
        ASSERT_STR(cfg->ferry_conf_path, ferry);
        ASSERT_STR(cfg->nova_conf_path, nova);
        ASSERT_STR(cfg->storage.mount_point, "/srv/env");
        src = test_strf("%s:3", ferry);
        ASSERT_SOURCE(cfg, "storage", "mount_point", src);
        free(src);
        ASSERT_STR(cfg->nova.config_drive_format, "vfat");
        src = test_strf("%s:2", nova);
        ASSERT_SOURCE(cfg, "nova", "config_drive_format", src);
        free(src);
        config_free(cfg);
    }
    free(error);

    /* An explicit path beats $FERRY_CONF. */
    cfg = UNTOUCHED;
    error = NULL;
    CU_ASSERT_EQUAL(config_load(other, &cfg, &error), 0);
    if (cfg != UNTOUCHED) {
        ASSERT_STR(cfg->ferry_conf_path, other);
        ASSERT_STR(cfg->storage.export_spec, "other:/x");
        ASSERT_STR(cfg->storage.mount_point, "/srv/nova"); /* from nova.conf, which other.conf leaves alone */
        config_free(cfg);
    }
    free(error);

    /* A missing explicit path is an error that names it. */
    cfg = UNTOUCHED;
    error = NULL;
    CU_ASSERT_EQUAL(config_load(missing, &cfg, &error), -ENOENT);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    ASSERT_CONTAINS(error, missing);
    ASSERT_CONTAINS(error, "No such file or directory");
    free(error);

    /* So is a missing $FERRY_CONF: it was asked for. */
    setenv("FERRY_CONF", missing, 1);
    error = NULL;
    CU_ASSERT_EQUAL(config_load(NULL, &cfg, &error), -ENOENT);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    ASSERT_CONTAINS(error, missing);
    ASSERT_CONTAINS(error, "FERRY_CONF");
    free(error);

    /* A missing nova.conf is not: Nova may live elsewhere. */
    setenv("FERRY_CONF", ferry, 1);
    setenv("FERRY_NOVA_CONF", missing, 1);
    error = NULL;
    CU_ASSERT_EQUAL(config_load(NULL, &cfg, &error), 0);
    if (cfg != UNTOUCHED) {
        CU_ASSERT_PTR_NULL(cfg->nova_conf_path);
        ASSERT_STR(cfg->nova.config_drive_format, "iso9660");
        ASSERT_SOURCE(cfg, "nova", "config_drive_format", "default");
        config_free(cfg);
        cfg = UNTOUCHED;
    }
    free(error);

    /* A nova.conf that cannot be read is an error naming it. */
    setenv("FERRY_NOVA_CONF", fx.dir, 1);
    error = NULL;
    CU_ASSERT(config_load(NULL, &cfg, &error) < 0);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    ASSERT_CONTAINS(error, "Nova's configuration");
    ASSERT_CONTAINS(error, fx.dir);
    free(error);

    /* The default path, missing, means defaults. */
    unsetenv("FERRY_CONF");
    setenv("FERRY_NOVA_CONF", missing, 1);
    if (access(FERRY_DEFAULT_CONFIG, F_OK) != 0) {
        error = NULL;
        CU_ASSERT_EQUAL(config_load(NULL, &cfg, &error), 0);
        CU_ASSERT_PTR_NULL(error);
        if (cfg != UNTOUCHED) {
            CU_ASSERT_PTR_NULL(cfg->ferry_conf_path);
            CU_ASSERT_PTR_NULL(cfg->nova_conf_path);
            ASSERT_STR(cfg->storage.mount_point, FERRY_DEFAULT_INSTANCES);
            config_free(cfg);
            cfg = UNTOUCHED;
        }
        free(error);
    } else {
        fprintf(stderr, "\n    %s exists: not checking the missing-default case\n", FERRY_DEFAULT_CONFIG);
    }

    /* A bad file names its path and line. */
    CU_ASSERT_EQUAL(test_write_file(other, "[storage]\n\ndriver = nfs\n"), 0);
    error = NULL;
    CU_ASSERT_EQUAL(config_load(other, &cfg, &error), -EINVAL);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    src = test_strf("%s:3: [storage] driver = 'nfs'", other);
    ASSERT_CONTAINS(error, src);
    free(src);
    free(error);

    free(ferry);
    free(other);
    free(nova);
    free(missing);
    env_teardown(&fx);
}

static void test_load_nova_config_file(void)
{
    struct env_fixture fx;
    env_setup(&fx);
    char *ferry = test_strf("%s/ferry.conf", fx.dir);
    char *nova_env = test_strf("%s/nova-env.conf", fx.dir);
    char *nova_named = test_strf("%s/nova-named.conf", fx.dir);
    char *text = test_strf("[storage]\nexport = s:/x\n[nova]\nconfig_file = %s\n", nova_named);
    CU_ASSERT_EQUAL(test_write_file(ferry, text), 0);
    free(text);
    CU_ASSERT_EQUAL(test_write_file(nova_env, "[DEFAULT]\ninstances_path = /srv/from-env\n"), 0);
    CU_ASSERT_EQUAL(test_write_file(nova_named, "[DEFAULT]\n\ninstances_path = /srv/from-named\n"
                                                "[libvirt]\nlive_migration_uri = qemu+tls://%s/system\n"),
                    0);
    setenv("FERRY_NOVA_CONF", nova_env, 1);
    unsetenv("FERRY_CONF");

    /* [nova] config_file beats $FERRY_NOVA_CONF. */
    struct ferry_config *cfg = UNTOUCHED;
    char *error = NULL;
    CU_ASSERT_EQUAL(config_load(ferry, &cfg, &error), 0);
    CU_ASSERT_PTR_NULL(error);
    if (cfg != UNTOUCHED) {
        ASSERT_STR(cfg->nova_conf_path, nova_named);
        ASSERT_STR(cfg->nova.config_file, nova_named);
        ASSERT_STR(cfg->storage.mount_point, "/srv/from-named");
        char *src = test_strf("%s:3", nova_named);
        ASSERT_SOURCE(cfg, "storage", "mount_point", src);
        free(src);
        src = test_strf("%s:5", nova_named);
        ASSERT_SOURCE(cfg, "migrate", "uri_template", src);
        free(src);
        src = test_strf("%s:4", ferry);
        ASSERT_SOURCE(cfg, "nova", "config_file", src);
        free(src);
        char *uri = config_migrate_uri(cfg, "compute2");
        ASSERT_STR(uri, "qemu+tls://compute2/system");
        free(uri);
        config_free(cfg);
        cfg = UNTOUCHED;
    }
    free(error);

    /* A bad value in that nova.conf names it. */
    CU_ASSERT_EQUAL(test_write_file(nova_named, "[DEFAULT]\nconfig_drive_format = ext4\n"), 0);
    error = NULL;
    CU_ASSERT_EQUAL(config_load(ferry, &cfg, &error), -EINVAL);
    CU_ASSERT_PTR_EQUAL(cfg, UNTOUCHED);
    char *where = test_strf("%s:2", nova_named);
    ASSERT_CONTAINS(error, where);
    ASSERT_CONTAINS(error, "iso9660|vfat");
    free(where);
    free(error);

    /* config_file naming a missing file: no nova.conf, no error. */
    text = test_strf("[nova]\nconfig_file = %s/nope.conf\n", fx.dir);
    CU_ASSERT_EQUAL(test_write_file(ferry, text), 0);
    free(text);
    error = NULL;
    CU_ASSERT_EQUAL(config_load(ferry, &cfg, &error), 0);
    if (cfg != UNTOUCHED) {
        CU_ASSERT_PTR_NULL(cfg->nova_conf_path);
        ASSERT_STR(cfg->storage.mount_point, FERRY_DEFAULT_INSTANCES);
        config_free(cfg);
    }
    free(error);

    free(ferry);
    free(nova_env);
    free(nova_named);
    env_teardown(&fx);
}

/* --- migration URI ------------------------------------------------------------------- */

static void test_migrate_uri(void)
{
    struct ferry_config *cfg = load_ok(NULL, NULL);
    if (cfg) {
        char *uri = config_migrate_uri(cfg, "hostB");
        ASSERT_STR(uri, "qemu+tcp://hostB/system");
        free(uri);
        config_free(cfg);
    }
    cfg = load_ok("[migrate]\nuri_template = qemu+tcp://stack@%s/system\n", NULL);
    if (cfg) {
        char *uri = config_migrate_uri(cfg, "hostB");
        ASSERT_STR(uri, "qemu+tcp://stack@hostB/system");
        free(uri);
        config_free(cfg);
    }
    /* "%%" is a literal '%', as in Nova's live_migration_uri (Python's % formatting). */
    cfg = load_ok("[migrate]\nuri_template = qemu+tcp://%s/system?tag=100%%\n", NULL);
    if (cfg) {
        char *uri = config_migrate_uri(cfg, "hostB");
        ASSERT_STR(uri, "qemu+tcp://hostB/system?tag=100%");
        free(uri);
        config_free(cfg);
    }
    cfg = load_ok("[migrate]\nuri_template = qemu+tcp://%%s-%s/system\n", NULL);
    if (cfg) {
        char *uri = config_migrate_uri(cfg, "hostB");
        ASSERT_STR(uri, "qemu+tcp://%s-hostB/system");
        free(uri);
        config_free(cfg);
    }
}

/* --- JSON ---------------------------------------------------------------------------- */

static void test_json(void)
{
    struct ferry_config *cfg = load_ok(full_conf, NULL);
    if (!cfg)
        return;
    struct json_object *root = config_to_json(cfg);
    struct json_object *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);

    v = jget(root, "files", "ferry_conf", NULL);
    CU_ASSERT(json_object_is_type(v, json_type_string));
    ASSERT_STR(json_object_get_string(v), "ferry.conf");
    struct json_object *files = jget(root, "files", NULL, NULL);
    CU_ASSERT_TRUE(json_object_object_get_ex(files, "nova_conf", &v));
    CU_ASSERT_PTR_NULL(v); /* JSON null */

    v = jget(root, "storage", "mount_point", "value");
    CU_ASSERT(json_object_is_type(v, json_type_string));
    ASSERT_STR(json_object_get_string(v), "/srv/nova/instances");
    ASSERT_STR(json_object_get_string(jget(root, "storage", "mount_point", "source")), "ferry.conf:5");
    ASSERT_STR(json_object_get_string(jget(root, "storage", "driver", "value")), "fuse");

    v = jget(root, "migrate", "disk_overcommit", "value");
    CU_ASSERT(json_object_is_type(v, json_type_boolean));
    CU_ASSERT_TRUE(json_object_get_boolean(v));
    v = jget(root, "migrate", "allow_destroy", "value");
    CU_ASSERT(json_object_is_type(v, json_type_boolean));

    v = jget(root, "storage", "min_free_percent", "value");
    CU_ASSERT(json_object_is_type(v, json_type_int));
    CU_ASSERT_EQUAL(json_object_get_int64(v), 100);
    v = jget(root, "fsck", "jobs", "value");
    CU_ASSERT(json_object_is_type(v, json_type_int));
    CU_ASSERT_EQUAL(json_object_get_int64(v), 256);

    v = jget(root, "storage", "probe_timeout", "value");
    CU_ASSERT(json_object_is_type(v, json_type_string));
    ASSERT_STR(json_object_get_string(v), "2s");
    v = jget(root, "storage", "probe_timeout", "ms");
    CU_ASSERT(json_object_is_type(v, json_type_int));
    CU_ASSERT_EQUAL(json_object_get_int64(v), 2000);
    v = jget(root, "lease", "lease_timeout", "ms");
    CU_ASSERT_EQUAL(json_object_get_int64(v), 3600000);
    ASSERT_STR(json_object_get_string(jget(root, "lease", "lease_timeout", "value")), "1h");
    /* Non-durations have no "ms". */
    CU_ASSERT_PTR_NULL(jget(root, "fsck", "jobs", "ms"));

    v = jget(root, "migrate", "downtime_steps", "ms");
    CU_ASSERT(json_object_is_type(v, json_type_array));
    CU_ASSERT_EQUAL(json_object_array_length(v), 3);
    if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 3) {
        CU_ASSERT(json_object_is_type(json_object_array_get_idx(v, 0), json_type_int));
        CU_ASSERT_EQUAL(json_object_get_int64(json_object_array_get_idx(v, 0)), 10);
        CU_ASSERT_EQUAL(json_object_get_int64(json_object_array_get_idx(v, 1)), 20);
        CU_ASSERT_EQUAL(json_object_get_int64(json_object_array_get_idx(v, 2)), 1000);
    }
    ASSERT_STR(json_object_get_string(jget(root, "migrate", "downtime_steps", "value")), "10ms, 20ms,1s");
    ASSERT_STR(json_object_get_string(jget(root, "migrate", "downtime_steps", "source")), "ferry.conf:29");

    /* Every key has a value and a source. */
    json_object_object_foreach(root, section, entries)
    {
        if (!strcmp(section, "files"))
            continue;
        json_object_object_foreach(entries, key, entry)
        {
            (void)key;
            CU_ASSERT_PTR_NOT_NULL(jget(entry, "value", NULL, NULL));
            CU_ASSERT(json_object_is_type(jget(entry, "source", NULL, NULL), json_type_string));
        }
    }
    json_object_put(root);
    config_free(cfg);

    /* Defaults: no files were read, both are null. */
    cfg = load_ok(NULL, NULL);
    if (!cfg)
        return;
    root = config_to_json(cfg);
    files = jget(root, "files", NULL, NULL);
    CU_ASSERT_TRUE(json_object_object_get_ex(files, "ferry_conf", &v));
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_TRUE(json_object_object_get_ex(files, "nova_conf", &v));
    CU_ASSERT_PTR_NULL(v);
    ASSERT_STR(json_object_get_string(jget(root, "storage", "mount_point", "source")), "default");
    v = jget(root, "migrate", "disk_overcommit", "value");
    CU_ASSERT(json_object_is_type(v, json_type_boolean));
    CU_ASSERT_FALSE(json_object_get_boolean(v));
    CU_ASSERT_EQUAL(json_object_array_length(jget(root, "migrate", "downtime_steps", "ms")), 4);
    /* The text form round-trips through a JSON parser. */
    struct json_object *again = json_tokener_parse(json_object_to_json_string(root));
    CU_ASSERT_PTR_NOT_NULL(again);
    ASSERT_STR(json_object_get_string(jget(again, "migrate", "uri_template", "value")), "qemu+tcp://%s/system");
    json_object_put(again);
    json_object_put(root);
    config_free(cfg);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "defaults", test_defaults },
        { "full ferry.conf", test_full_ferry_conf },
        { "bool spellings", test_bool_spellings },
        { "config_parse_duration", test_parse_duration },
        { "uint bounds", test_uint_bounds },
        { "nova.conf keys taken", test_nova_conf_taken },
        { "ferry.conf wins over nova.conf", test_nova_ferry_wins },
        { "bad nova.conf values", test_nova_bad_values },
        { "syntax errors", test_syntax_errors },
        { "unknown section and key", test_unknown_section_and_key },
        { "bad values", test_bad_values },
        { "long line", test_long_line },
        { "checks across keys", test_cross_key },
        { "config_load and the environment", test_load_files },
        { "[nova] config_file", test_load_nova_config_file },
        { "config_migrate_uri", test_migrate_uri },
        { "config_to_json", test_json },
        { NULL, NULL },
    };
    return test_run_suite("config", cases);
}
