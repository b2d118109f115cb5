/*
 * ferry.conf, nova.conf and defaults, merged into one struct ferry_config.
 *
 * The idea: every key is a row of config_keys[] saying where it lives (section, key, the
 * struct field), what it may hold (type, range, choices), its default, and the nova.conf
 * setting it mirrors, if any. Loading is then generic: defaults first, then nova.conf for
 * keys Nova also knows, then ferry.conf, recording the source of each value; then the
 * checks that involve several keys. Any error stops the load with one line that names the
 * file, the line, the key and what would be accepted.
 */
#include "config.h"

#include "cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum key_type {
    KEY_STRING,        /* any text */
    KEY_PATH,          /* absolute path */
    KEY_CHOICE,        /* text, one of allowed ("3|4|4.1") */
    KEY_ENUM,          /* int index into allowed */
    KEY_BOOL,
    KEY_UINT,          /* min..max */
    KEY_DURATION,      /* milliseconds, min..max */
    KEY_DURATION_LIST, /* struct duration_list */
    KEY_URI_TEMPLATE,  /* exactly one %s */
    KEY_UUID_OR_EMPTY,
};

struct config_key {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    const char *default_text;
    const char *allowed; /* choices for KEY_CHOICE/KEY_ENUM */
    unsigned min, max;   /* KEY_UINT, KEY_DURATION (ms) */
    const char *nova_section, *nova_key;
    const char *help;
};

#define F(member) offsetof(struct ferry_config, member)
#define HOUR (3600u * 1000u)

static const struct config_key config_keys[] = {
    { "storage", "export", KEY_STRING, F(storage.export_spec), "", NULL, 0, 0, NULL, NULL,
      "The NFS export behind the instance directory: server:/path or nfs://server/path." },
    { "storage", "mount_point", KEY_PATH, F(storage.mount_point), FERRY_DEFAULT_INSTANCES, NULL, 0, 0, "DEFAULT",
      "instances_path", "Where the export is mounted: Nova's instance directory." },
    { "storage", "driver", KEY_ENUM, F(storage.driver), "auto", "auto|kernel|fuse", 0, 0, NULL, NULL,
      "How to mount: the kernel NFS client, ferry's FUSE bridge over libnfs, or auto (kernel when it has nfs)." },
    { "storage", "mount_options", KEY_STRING, F(storage.mount_options), "", NULL, 0, 0, NULL, NULL,
      "Extra options for kernel mounts, added to ferry's defaults for VM images (hard)." },
    { "storage", "nfs_version", KEY_CHOICE, F(storage.nfs_version), "3", "3|4|4.1|4.2", 0, 0, NULL, NULL,
      "NFS version for kernel mounts; libnfs (probes, FUSE bridge, streamer) always writes over v3." },
    { "storage", "export_id", KEY_UUID_OR_EMPTY, F(storage.export_id), "", NULL, 0, 0, NULL, NULL,
      "The identity (UUID) the export must carry, written by 'ferry storage init'." },
    { "storage", "state_dir", KEY_PATH, F(storage.state_dir), "/var/lib/ferry", NULL, 0, 0, NULL, NULL,
      "This host's persistent state: its identity, and whether it is fenced." },
    { "storage", "runtime_dir", KEY_PATH, F(storage.runtime_dir), "/run/ferry", NULL, 0, 0, NULL, NULL,
      "Pid files and the watch daemon's latest status." },
    { "storage", "log_dir", KEY_PATH, F(storage.log_dir), "/var/log/ferry", NULL, 0, 0, NULL, NULL,
      "Logs of ferry's background processes (FUSE bridges)." },
    { "storage", "probe_timeout", KEY_DURATION, F(storage.probe_timeout_ms), "5s", NULL, 100, 600000, NULL, NULL,
      "Deadline of each storage probe." },
    { "storage", "min_free_percent", KEY_UINT, F(storage.min_free_percent), "10", NULL, 0, 100, NULL, NULL,
      "Free space below this percentage makes validate fail." },
    { "storage", "min_free_inodes_percent", KEY_UINT, F(storage.min_free_inodes_percent), "5", NULL, 0, 100, NULL,
      NULL, "Free inodes below this percentage makes validate fail." },
    { "storage", "latency_warn", KEY_DURATION, F(storage.latency_warn_ms), "50ms", NULL, 1, 600000, NULL, NULL,
      "p99 latency of small probes above this is a warning." },
    { "storage", "latency_fail", KEY_DURATION, F(storage.latency_fail_ms), "500ms", NULL, 1, 600000, NULL, NULL,
      "p99 latency of small probes above this is a failure." },

    { "lease", "renew_interval", KEY_DURATION, F(lease.renew_interval_ms), "2s", NULL, 100, 600000, NULL, NULL,
      "How often the watch daemon renews this host's lease on the export." },
    { "lease", "fence_after", KEY_DURATION, F(lease.fence_after_ms), "20s", NULL, 200, 3600000, NULL, NULL,
      "A host that could not renew for this long fences itself." },
    { "lease", "lease_timeout", KEY_DURATION, F(lease.lease_timeout_ms), "40s", NULL, 300, 7200000, NULL, NULL,
      "Other hosts treat a lease unchanged for this long as expired; must exceed fence_after." },
    { "lease", "fence_action", KEY_ENUM, F(lease.fence_action), "suspend", "suspend|destroy", 0, 0, NULL, NULL,
      "What fencing does to local guests whose disks are on the export." },
    { "lease", "fence_last_resort", KEY_ENUM, F(lease.fence_last_resort), "none", "none|watchdog|reboot", 0, 0, NULL,
      NULL, "Where suspend and destroy did not finish in time." },
    { "lease", "fence_step_timeout", KEY_DURATION, F(lease.fence_step_timeout_ms), "3s", NULL, 100, 600000, NULL,
      NULL, "Deadline of each fencing step before it escalates." },

    { "migrate", "uri_template", KEY_URI_TEMPLATE, F(migrate.uri_template), "qemu+tcp://%s/system", NULL, 0, 0,
      "libvirt", "live_migration_uri", "The destination's libvirt URI; %s is replaced by the host name." },
    { "migrate", "disk_overcommit", KEY_BOOL, F(migrate.disk_overcommit), "false", NULL, 0, 0, NULL, NULL,
      "Count disks by their allocation, not their virtual size, when checking the destination's space." },
    { "migrate", "completion_timeout", KEY_DURATION, F(migrate.completion_timeout_ms), "10m", NULL, 1000,
      24 * HOUR, NULL, NULL, "A live migration not finished after this long is aborted (or switched to post-copy)." },
    { "migrate", "downtime_steps", KEY_DURATION_LIST, F(migrate.downtime_steps), "50ms,100ms,200ms,500ms", NULL,
      1, 60000, NULL, NULL, "The maximum downtime allowed, raised step by step while memory does not converge." },
    { "migrate", "bandwidth", KEY_UINT, F(migrate.bandwidth_mib), "0", NULL, 0, 1000000, NULL, NULL,
      "Limit of a live migration's memory and disk copy, MiB/s; 0: no limit." },
    { "migrate", "allow_post_copy", KEY_BOOL, F(migrate.allow_post_copy), "false", NULL, 0, 0, NULL, NULL,
      "On completion timeout, switch to post-copy instead of aborting." },
    { "migrate", "libvirt_version_match", KEY_ENUM, F(migrate.libvirt_version_match), "exact", "exact|minor", 0, 0,
      NULL, NULL, "How equal the hosts' libvirt versions must be: exactly, or major.minor only." },
    { "migrate", "shutdown_timeout", KEY_DURATION, F(migrate.shutdown_timeout_ms), "60s", NULL, 1000, HOUR, NULL,
      NULL, "How long cold migration waits for a guest to shut down." },
    { "migrate", "allow_destroy", KEY_BOOL, F(migrate.allow_destroy), "false", NULL, 0, 0, NULL, NULL,
      "Cold migration may destroy a guest that did not shut down in time." },

    { "fsck", "stale_partial_age", KEY_DURATION, F(fsck.stale_partial_age_ms), "24h", NULL, 0, 1000 * HOUR, NULL,
      NULL, "Partial and leftover files older than this are reported." },
    { "fsck", "unused_base_age", KEY_DURATION, F(fsck.unused_base_age_ms), "7d", NULL, 0, 1000 * HOUR, NULL, NULL,
      "Base images no instance uses, older than this, are reported." },
    { "fsck", "max_chain_depth", KEY_UINT, F(fsck.max_chain_depth), "8", NULL, 1, 1000, NULL, NULL,
      "Backing chains deeper than this are reported." },
    { "fsck", "jobs", KEY_UINT, F(fsck.jobs), "0", NULL, 0, 256, NULL, NULL,
      "Parallel workers; 0 means one per CPU." },

    { "nova", "config_file", KEY_PATH, F(nova.config_file), NOVA_DEFAULT_CONFIG, NULL, 0, 0, NULL, NULL,
      "Nova's configuration, read for instances_path, config_drive_format and live_migration_uri." },
    { "nova", "config_drive_format", KEY_CHOICE, F(nova.config_drive_format), "iso9660", "iso9660|vfat", 0, 0,
      "DEFAULT", "config_drive_format", "The format of Nova's config drives." },
};

#define N_KEYS ARRAY_SIZE(config_keys)

static const struct config_key *key_find(const char *section, const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(config_keys[i].section, section) && !strcmp(config_keys[i].key, key))
            return &config_keys[i];
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(config_keys[i].section, section))
            return true;
    return false;
}

static void *field(struct ferry_config *cfg, const struct config_key *k)
{
    return (char *)cfg + k->offset;
}

static const void *field_const(const struct ferry_config *cfg, const struct config_key *k)
{
    return (const char *)cfg + k->offset;
}

/* --- value parsing ------------------------------------------------------------------- */

int config_parse_duration(const char *text, unsigned *ms)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*text))
        return -EINVAL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        return -ERANGE;
    unsigned long long mult;
    if (!*end || !strcmp(end, "s"))
        mult = 1000;
    else if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "m"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = HOUR;
    else if (!strcmp(end, "d"))
        mult = 24ull * HOUR;
    else
        return -EINVAL;
    if (v > UINT32_MAX / mult)
        return -ERANGE;
    *ms = (unsigned)(v * mult);
    return 0;
}

const char *config_format_duration(uint64_t ms, char *buf, size_t size)
{
    static const struct {
        uint64_t unit;
        const char *suffix;
    } units[] = { { 24ull * HOUR, "d" }, { HOUR, "h" }, { 60000, "m" }, { 1000, "s" } };
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (ms && ms % units[i].unit == 0) {
            snprintf(buf, size, "%llu%s", (unsigned long long)(ms / units[i].unit), units[i].suffix);
            return buf;
        }
    snprintf(buf, size, ms ? "%llums" : "%llus", (unsigned long long)ms);
    return buf;
}

static int choice_index(const char *allowed, const char *value)
{
    size_t vlen = strlen(value);
    int idx = 0;
    for (const char *p = allowed; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && !strncmp(p, value, len))
            return idx;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static void choice_name(const char *allowed, int index, char *buf, size_t size)
{
    const char *p = allowed;
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    size_t len = p ? strcspn(p, "|") : 0;
    snprintf(buf, size, "%.*s", (int)len, p ? p : "");
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static bool is_uuid(const char *s)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != sizeof(pattern) - 1)
        return false;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool path_has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == 0))
            return true;
    return false;
}

static int count_conversions(const char *s, bool *only_s)
{
    int n = 0;
    *only_s = true;
    for (const char *p = strchr(s, '%'); p; p = strchr(p + 2, '%')) {
        if (p[1] == '%') {
            continue;
        }
        n++;
        if (p[1] != 's')
            *only_s = false;
        if (!p[1])
            break;
    }
    return n;
}

static int parse_duration_list(const char *text, struct duration_list *list, const struct config_key *k,
                               char *why, size_t why_size)
{
    struct duration_list l = { 0 };
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *e = tok + strlen(tok);
        while (e > tok && isspace((unsigned char)e[-1]))
            *--e = 0;
        unsigned ms;
        if (l.n == CONFIG_MAX_DOWNTIME_STEPS) {
            snprintf(why, why_size, "at most %d steps", CONFIG_MAX_DOWNTIME_STEPS);
            return -EINVAL;
        }
        if (config_parse_duration(tok, &ms) < 0 || ms < k->min || ms > k->max) {
            snprintf(why, why_size, "'%s' is not a duration between %ums and %ums (e.g. 50ms)", tok, k->min, k->max);
            return -EINVAL;
        }
        if (l.n > 0 && ms <= l.ms[l.n - 1]) {
            snprintf(why, why_size, "steps must increase ('%s' does not)", tok);
            return -EINVAL;
        }
        l.ms[l.n++] = ms;
    }
    if (l.n == 0) {
        snprintf(why, why_size, "give at least one duration, e.g. 50ms,100ms,200ms");
        return -EINVAL;
    }
    l.text = strdup(text);
    if (!l.text)
        return -ENOMEM;
    free(list->text);
    *list = l;
    return 0;
}

static int replace_string(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

/*
 * Parses value into the key's field. On a bad value, returns -EINVAL with why set to what
 * is allowed (the caller adds file:line and the key).
 */
static int key_set(struct ferry_config *cfg, const struct config_key *k, const char *value, char *why,
                   size_t why_size)
{
    void *f = field(cfg, k);
    unsigned u;
    bool b;
    int idx;

    switch (k->type) {
    case KEY_STRING:
        return replace_string(f, value);
    case KEY_PATH:
        if (value[0] != '/') {
            snprintf(why, why_size, "an absolute path is needed (starting with /)");
            return -EINVAL;
        }
        if (path_has_dotdot(value)) {
            snprintf(why, why_size, "the path must not contain '..'");
            return -EINVAL;
        }
        return replace_string(f, value);
    case KEY_CHOICE:
        if (choice_index(k->allowed, value) < 0) {
            snprintf(why, why_size, "allowed: %s", k->allowed);
            return -EINVAL;
        }
        return replace_string(f, value);
    case KEY_ENUM:
        idx = choice_index(k->allowed, value);
        if (idx < 0) {
            snprintf(why, why_size, "allowed: %s", k->allowed);
            return -EINVAL;
        }
        *(int *)f = idx;
        return 0;
    case KEY_BOOL:
        if (parse_bool(value, &b) < 0) {
            snprintf(why, why_size, "allowed: true|false (also yes|no, on|off, 1|0)");
            return -EINVAL;
        }
        *(bool *)f = b;
        return 0;
    case KEY_UINT: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (!isdigit((unsigned char)*value) || *end || errno || v < k->min || v > k->max) {
            snprintf(why, why_size, "a whole number from %u to %u is needed", k->min, k->max);
            return -EINVAL;
        }
        *(unsigned *)f = (unsigned)v;
        return 0;
    }
    case KEY_DURATION: {
        char lo[32], hi[32];
        if (config_parse_duration(value, &u) < 0 || u < k->min || u > k->max) {
            config_format_duration(k->min, lo, sizeof(lo));
            config_format_duration(k->max, hi, sizeof(hi));
            snprintf(why, why_size,
                     "a duration from %s to %s is needed: a number of seconds, or a number with ms, s, m, h or d "
                     "(e.g. 20s)",
                     lo, hi);
            return -EINVAL;
        }
        *(unsigned *)f = u;
        return 0;
    }
    case KEY_DURATION_LIST:
        return parse_duration_list(value, f, k, why, why_size);
    case KEY_URI_TEMPLATE: {
        bool only_s;
        if (count_conversions(value, &only_s) != 1 || !only_s || !strstr(value, "://")) {
            snprintf(why, why_size, "a libvirt URI with exactly one %%s for the host is needed, "
                                    "e.g. qemu+tcp://%%s/system");
            return -EINVAL;
        }
        return replace_string(f, value);
    }
    case KEY_UUID_OR_EMPTY:
        if (*value && !is_uuid(value)) {
            snprintf(why, why_size, "a UUID (as 'ferry storage init' prints) or nothing is needed");
            return -EINVAL;
        }
        return replace_string(f, value);
    }
    return -EINVAL;
}

/* The value of a key as text, for show and for error messages. */
static void key_format(const struct ferry_config *cfg, const struct config_key *k, char *buf, size_t size)
{
    const void *f = field_const(cfg, k);
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH:
    case KEY_CHOICE:
    case KEY_URI_TEMPLATE:
    case KEY_UUID_OR_EMPTY:
        snprintf(buf, size, "%s", *(char *const *)f ? *(char *const *)f : "");
        break;
    case KEY_ENUM:
        choice_name(k->allowed, *(const int *)f, buf, size);
        break;
    case KEY_BOOL:
        snprintf(buf, size, "%s", *(const bool *)f ? "true" : "false");
        break;
    case KEY_UINT:
        snprintf(buf, size, "%u", *(const unsigned *)f);
        break;
    case KEY_DURATION:
        config_format_duration(*(const unsigned *)f, buf, size);
        break;
    case KEY_DURATION_LIST:
        snprintf(buf, size, "%s", ((const struct duration_list *)f)->text);
        break;
    }
}

/* --- loading ------------------------------------------------------------------------- */

struct load_state {
    struct ferry_config *cfg;
    const char *name; /* file name for messages and sources */
    bool is_nova;
    unsigned line;    /* current line, counted by the reader */
    const char *text; /* reader position */
    unsigned error_line;
    char error[1024];
    bool *set_here; /* per key: set by this file (duplicate detection) */
    const bool *ferry_set; /* nova.conf: per key, set by ferry.conf, which wins */
};

static void load_fail(struct load_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void load_fail(struct load_state *st, const char *fmt, ...)
{
    if (st->error_line)
        return; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof(st->error), fmt, ap);
    va_end(ap);
    st->error_line = st->line;
}

/* inih reader over text in memory: one whole line per call, so st->line is always the
 * line the handler is looking at; lines longer than the buffer are cut, and reported. */
static char *load_reader(char *buf, int size, void *stream)
{
    struct load_state *st = stream;
    if (!*st->text)
        return NULL;
    const char *nl = strchr(st->text, '\n');
    size_t len = nl ? (size_t)(nl - st->text) : strlen(st->text);
    st->line++;
    if (len >= (size_t)size - 1) {
        if (!st->is_nova)
            load_fail(st, "%s:%u: line longer than %d characters", st->name, st->line, size - 2);
        len = (size_t)size - 2;
    }
    memcpy(buf, st->text, len);
    buf[len] = '\n';
    buf[len + 1] = 0;
    st->text = nl ? nl + 1 : st->text + strlen(st->text);
    return buf;
}

static void set_source(struct ferry_config *cfg, const struct config_key *k, const char *name, unsigned line)
{
    size_t i = (size_t)(k - config_keys);
    char *src;
    if (asprintf(&src, "%s:%u", name, line) < 0)
        return;
    free(cfg->sources[i]);
    cfg->sources[i] = src;
}

static void known_keys(const char *section, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_KEYS && n < size; i++)
        if (!strcmp(config_keys[i].section, section))
            n += snprintf(buf + n, size - n, "%s%s", n ? ", " : "", config_keys[i].key);
}

static void known_sections(char *buf, size_t size)
{
    size_t n = 0;
    const char *last = "";
    buf[0] = 0;
    for (size_t i = 0; i < N_KEYS && n < size; i++) {
        if (strcmp(config_keys[i].section, last))
            n += snprintf(buf + n, size - n, "%s[%s]", n ? ", " : "", config_keys[i].section);
        last = config_keys[i].section;
    }
}

static int ferry_handler(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    char why[512];
    if (!section_known(section)) {
        char list[256];
        known_sections(list, sizeof(list));
        if (!*section)
            load_fail(st, "%s:%u: '%s' is outside any section; put it under one of %s", st->name, st->line, name,
                      list);
        else
            load_fail(st, "%s:%u: unknown section [%s]; known sections: %s", st->name, st->line, section, list);
        return 0;
    }
    const struct config_key *k = key_find(section, name);
    if (!k) {
        char list[512];
        known_keys(section, list, sizeof(list));
        load_fail(st, "%s:%u: unknown key '%s' in [%s]; known keys: %s", st->name, st->line, name, section, list);
        return 0;
    }
    size_t i = (size_t)(k - config_keys);
    if (st->set_here[i]) {
        load_fail(st, "%s:%u: [%s] %s is set twice (first at %s); keep one", st->name, st->line, section, name,
                  st->cfg->sources[i]);
        return 0;
    }
    why[0] = 0;
    if (key_set(st->cfg, k, value, why, sizeof(why)) < 0) {
        load_fail(st, "%s:%u: [%s] %s = '%s' is not valid: %s", st->name, st->line, section, name, value, why);
        return 0;
    }
    st->set_here[i] = true;
    set_source(st->cfg, k, st->name, st->line);
    return 1;
}

/* nova.conf is Nova's: every other key is none of ferry's business; only the values
 * ferry mirrors must be valid. */
static int nova_handler(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    char why[512];
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct config_key *k = &config_keys[i];
        if (!k->nova_key || strcmp(k->nova_section, section) || strcmp(k->nova_key, name))
            continue;
        if (st->ferry_set && st->ferry_set[i])
            continue; /* ferry.conf's value wins, so Nova's is not ferry's concern */
        why[0] = 0;
        if (key_set(st->cfg, k, value, why, sizeof(why)) < 0) {
            load_fail(st, "%s:%u: [%s] %s = '%s' is not usable by ferry: %s (or set [%s] %s in ferry.conf)",
                      st->name, st->line, section, name, value, why, k->section, k->key);
            return 0;
        }
        set_source(st->cfg, k, st->name, st->line);
    }
    return 1;
}

static int parse_text(struct load_state *st, const char *text, ini_handler handler, char **error)
{
    st->text = text;
    st->line = 0;
    int r = ini_parse_stream(load_reader, st, handler, st);
    if (r == 0 && !st->error_line)
        return 0;
    if (r == -2)
        return -ENOMEM;
    if (st->error_line && (r <= 0 || (unsigned)r >= st->error_line)) {
        *error = strdup(st->error);
    } else if (asprintf(error, "%s:%d: syntax error: expected '[section]', 'key = value' or a comment", st->name,
                        r) < 0) {
        *error = NULL;
    }
    return -EINVAL;
}

static int config_defaults(struct ferry_config *cfg)
{
    char why[512];
    cfg->sources = calloc(N_KEYS, sizeof(char *));
    if (!cfg->sources)
        return -ENOMEM;
    for (size_t i = 0; i < N_KEYS; i++) {
        int r = key_set(cfg, &config_keys[i], config_keys[i].default_text, why, sizeof(why));
        if (r < 0)
            return r; /* a wrong default is a bug: the unit tests load the defaults */
        cfg->sources[i] = strdup("default");
        if (!cfg->sources[i])
            return -ENOMEM;
    }
    return 0;
}

/* Checks that involve several keys. The message points at the later of the two. */
static int config_check(struct ferry_config *cfg, char **error)
{
    const struct lease_config *l = &cfg->lease;
    char a[32], b[32];
    int r = 0;

    if (l->fence_after_ms <= l->renew_interval_ms) {
        config_format_duration(l->fence_after_ms, a, sizeof(a));
        config_format_duration(l->renew_interval_ms, b, sizeof(b));
        r = asprintf(error, "%s: [lease] fence_after = %s must be longer than renew_interval (%s, from %s)",
                     config_source(cfg, "lease", "fence_after"), a, b, config_source(cfg, "lease", "renew_interval"));
    } else if (l->lease_timeout_ms <= l->fence_after_ms) {
        config_format_duration(l->lease_timeout_ms, a, sizeof(a));
        config_format_duration(l->fence_after_ms, b, sizeof(b));
        r = asprintf(error,
                     "%s: [lease] lease_timeout = %s must be longer than fence_after (%s, from %s): a host must "
                     "fence itself before the others may treat its lease as expired",
                     config_source(cfg, "lease", "lease_timeout"), a, b, config_source(cfg, "lease", "fence_after"));
    } else if (cfg->storage.latency_fail_ms < cfg->storage.latency_warn_ms) {
        config_format_duration(cfg->storage.latency_fail_ms, a, sizeof(a));
        config_format_duration(cfg->storage.latency_warn_ms, b, sizeof(b));
        r = asprintf(error, "%s: [storage] latency_fail = %s must not be below latency_warn (%s, from %s)",
                     config_source(cfg, "storage", "latency_fail"), a, b,
                     config_source(cfg, "storage", "latency_warn"));
    } else {
        return 0;
    }
    if (r < 0)
        *error = NULL;
    return -EINVAL;
}

static int read_whole_file(const char *path, char **text)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return -ENOMEM;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, mem);
    int err = ferror(f) ? -EIO : 0;
    fclose(mem);
    if (err) {
        free(buf);
        return err;
    }
    *text = buf;
    return 0;
}

static int load_common(const char *ferry_text, const char *ferry_name, const char *nova_text, const char *nova_name,
                       struct ferry_config **out, char **error)
{
    struct ferry_config *cfg = calloc(1, sizeof(*cfg));
    bool set_here[N_KEYS] = { false };
    int r;

    *error = NULL;
    if (!cfg)
        return -ENOMEM;
    r = config_defaults(cfg);
    if (r < 0)
        goto fail;
    if (ferry_text) {
        struct load_state st = { .cfg = cfg, .name = ferry_name, .set_here = set_here };
        r = parse_text(&st, ferry_text, ferry_handler, error);
        if (r < 0)
            goto fail;
        cfg->ferry_conf_path = strdup(ferry_name);
    }
    if (nova_text) {
        /* Nova's values only fill what ferry.conf left at its default. */
        struct ferry_config *nova = calloc(1, sizeof(*nova));
        if (!nova) {
            r = -ENOMEM;
            goto fail;
        }
        r = config_defaults(nova);
        if (r == 0) {
            struct load_state st = { .cfg = nova, .name = nova_name, .is_nova = true, .ferry_set = set_here };
            r = parse_text(&st, nova_text, nova_handler, error);
        }
        for (size_t i = 0; r == 0 && i < N_KEYS; i++) {
            const struct config_key *k = &config_keys[i];
            if (!k->nova_key || set_here[i] || !strcmp(nova->sources[i], "default"))
                continue;
            char value[4096], why[512];
            key_format(nova, k, value, sizeof(value));
            r = key_set(cfg, k, value, why, sizeof(why));
            if (r == 0)
                r = replace_string(&cfg->sources[i], nova->sources[i]);
        }
        config_free(nova);
        if (r < 0)
            goto fail;
        cfg->nova_conf_path = strdup(nova_name);
    }
    r = config_check(cfg, error);
    if (r < 0)
        goto fail;
    *out = cfg;
    return 0;
fail:
    if (!*error && r == -ENOMEM)
        *error = strdup("out of memory while reading the configuration");
    config_free(cfg);
    return r;
}

int config_load_text(const char *ferry_text, const char *ferry_name, const char *nova_text, const char *nova_name,
                     struct ferry_config **cfg, char **error)
{
    return load_common(ferry_text, ferry_name, nova_text, nova_name, cfg, error);
}

/* The nova.conf path may itself be set in ferry.conf; find it without a full load. */
static char *nova_path_from(const char *ferry_text, const char *ferry_name)
{
    struct ferry_config *cfg = NULL;
    char *error = NULL;
    char *path = NULL;
    if (ferry_text && load_common(ferry_text, ferry_name, NULL, NULL, &cfg, &error) == 0 &&
        strcmp(config_source(cfg, "nova", "config_file"), "default") != 0)
        path = strdup(cfg->nova.config_file);
    free(error);
    config_free(cfg);
    if (!path && getenv("FERRY_NOVA_CONF"))
        path = strdup(getenv("FERRY_NOVA_CONF"));
    if (!path)
        path = strdup(NOVA_DEFAULT_CONFIG);
    return path;
}

int config_load(const char *path, struct ferry_config **cfg, char **error)
{
    _cleanup_free_ char *ferry_text = NULL, *nova_text = NULL, *nova_path = NULL;
    bool explicit_path = path != NULL;
    int r;

    *error = NULL;
    if (!path) {
        path = getenv("FERRY_CONF");
        explicit_path = path != NULL;
    }
    if (!path)
        path = FERRY_DEFAULT_CONFIG;

    r = read_whole_file(path, &ferry_text);
    if (r < 0 && (r != -ENOENT || explicit_path)) {
        if (asprintf(error, "cannot read configuration %s: %s%s", path, strerror(-r),
                     r == -ENOENT ? " (check --config or FERRY_CONF)" : "") < 0)
            *error = NULL;
        return r;
    }

    nova_path = nova_path_from(ferry_text, path);
    if (!nova_path)
        return -ENOMEM;
    r = read_whole_file(nova_path, &nova_text);
    if (r < 0 && r != -ENOENT) {
        if (asprintf(error, "cannot read Nova's configuration %s: %s", nova_path, strerror(-r)) < 0)
            *error = NULL;
        return r;
    }
    return load_common(ferry_text, path, nova_text, nova_path, cfg, error);
}

void config_free(struct ferry_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct config_key *k = &config_keys[i];
        void *f = field(cfg, k);
        if (k->type == KEY_DURATION_LIST)
            free(((struct duration_list *)f)->text);
        else if (k->type != KEY_ENUM && k->type != KEY_BOOL && k->type != KEY_UINT && k->type != KEY_DURATION)
            free(*(char **)f);
        if (cfg->sources)
            free(cfg->sources[i]);
    }
    free(cfg->sources);
    free(cfg->ferry_conf_path);
    free(cfg->nova_conf_path);
    free(cfg);
}

const char *config_source(const struct ferry_config *cfg, const char *section, const char *key)
{
    const struct config_key *k = key_find(section, key);
    if (!k || !cfg->sources)
        return "unknown";
    return cfg->sources[k - config_keys];
}

/* --- output -------------------------------------------------------------------------- */

void config_print(const struct ferry_config *cfg, FILE *out)
{
    const char *last = "";
    fprintf(out, "# ferry configuration in effect\n# read: %s\n# read: %s\n",
            cfg->ferry_conf_path ? cfg->ferry_conf_path : "(no ferry.conf; defaults)",
            cfg->nova_conf_path ? cfg->nova_conf_path : "(no nova.conf)");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct config_key *k = &config_keys[i];
        char value[4096];
        if (strcmp(k->section, last))
            fprintf(out, "\n[%s]\n", k->section);
        last = k->section;
        key_format(cfg, k, value, sizeof(value));
        char line[4200];
        snprintf(line, sizeof(line), "%s = %s", k->key, value);
        fprintf(out, "%-46s ; %s\n", line, cfg->sources[i]);
    }
}

struct json_object *config_to_json(const struct ferry_config *cfg)
{
    struct json_object *root = json_object_new_object();
    struct json_object *files = json_object_new_object();
    json_object_object_add(files, "ferry_conf",
                           cfg->ferry_conf_path ? json_object_new_string(cfg->ferry_conf_path) : NULL);
    json_object_object_add(files, "nova_conf",
                           cfg->nova_conf_path ? json_object_new_string(cfg->nova_conf_path) : NULL);
    json_object_object_add(root, "files", files);

    struct json_object *section = NULL;
    const char *last = "";
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct config_key *k = &config_keys[i];
        const void *f = field_const(cfg, k);
        char text[4096];
        if (strcmp(k->section, last)) {
            section = json_object_new_object();
            json_object_object_add(root, k->section, section);
        }
        last = k->section;

        struct json_object *entry = json_object_new_object();
        key_format(cfg, k, text, sizeof(text));
        switch (k->type) {
        case KEY_BOOL:
            json_object_object_add(entry, "value", json_object_new_boolean(*(const bool *)f));
            break;
        case KEY_UINT:
            json_object_object_add(entry, "value", json_object_new_int64(*(const unsigned *)f));
            break;
        case KEY_DURATION:
            json_object_object_add(entry, "value", json_object_new_string(text));
            json_object_object_add(entry, "ms", json_object_new_int64(*(const unsigned *)f));
            break;
        case KEY_DURATION_LIST: {
            const struct duration_list *l = f;
            struct json_object *arr = json_object_new_array();
            for (unsigned j = 0; j < l->n; j++)
                json_object_array_add(arr, json_object_new_int64(l->ms[j]));
            json_object_object_add(entry, "value", json_object_new_string(text));
            json_object_object_add(entry, "ms", arr);
            break;
        }
        default:
            json_object_object_add(entry, "value", json_object_new_string(text));
            break;
        }
        json_object_object_add(entry, "source", json_object_new_string(cfg->sources[i]));
        json_object_object_add(section, k->key, entry);
    }
    return root;
}

char *config_migrate_uri(const struct ferry_config *cfg, const char *host)
{
    /* As Nova formats live_migration_uri (Python's %): "%%" is a literal '%', as the
     * validation in key_set() counts it. */
    char *uri = NULL;
    size_t len = 0;
    bool found = false;
    FILE *f = open_memstream(&uri, &len);
    if (!f)
        return NULL;
    for (const char *p = cfg->migrate.uri_template; *p; p++) {
        if (p[0] == '%' && (p[1] == '%' || p[1] == 's')) {
            if (p[1] == 's')
                fputs(host, f);
            else
                fputc('%', f);
            found |= p[1] == 's';
            p++;
        } else {
            fputc(*p, f);
        }
    }
    if (fclose(f) != 0 || !found) {
        free(uri);
        return NULL;
    }
    return uri;
}
