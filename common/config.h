/*
 * ferry's configuration: /etc/ferry/ferry.conf (INI), the few settings ferry shares with
 * Nova read from /etc/nova/nova.conf, and built-in defaults, in that order of precedence.
 * Every value remembers where it came from ("default", "/etc/ferry/ferry.conf:12"), so
 * `ferry config show` can answer "why is it this?" and errors can point at the line.
 *
 * The keys are one table (config.c): parsing, validation, defaults, `config show` and the
 * documentation all read it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FERRY_DEFAULT_CONFIG "/etc/ferry/ferry.conf"
#define NOVA_DEFAULT_CONFIG "/etc/nova/nova.conf"
#define FERRY_DEFAULT_INSTANCES "/opt/stack/data/nova/instances"

enum storage_driver { STORAGE_DRIVER_AUTO, STORAGE_DRIVER_KERNEL, STORAGE_DRIVER_FUSE };
enum fence_action { FENCE_ACTION_SUSPEND, FENCE_ACTION_DESTROY };
enum fence_last_resort { FENCE_LAST_RESORT_NONE, FENCE_LAST_RESORT_WATCHDOG, FENCE_LAST_RESORT_REBOOT };
enum version_match { VERSION_MATCH_EXACT, VERSION_MATCH_MINOR };

#define CONFIG_MAX_DOWNTIME_STEPS 16

struct duration_list {
    char *text; /* as written: "50ms,100ms,200ms" */
    unsigned ms[CONFIG_MAX_DOWNTIME_STEPS];
    unsigned n;
};

struct storage_config {
    char *export_spec;   /* server:/path or nfs://server/path; "" when unset */
    char *mount_point;
    int driver;          /* enum storage_driver */
    char *mount_options; /* extra options for kernel mounts */
    char *nfs_version;   /* "3", "4", "4.1", "4.2" */
    char *export_id;     /* expected identity of the export (UUID); "" when unset */
    char *state_dir;     /* persistent host state (/var/lib/ferry) */
    char *runtime_dir;   /* pid files, watch status (/run/ferry) */
    char *log_dir;       /* background processes' logs (/var/log/ferry) */
    unsigned probe_timeout_ms;
    unsigned min_free_percent;
    unsigned min_free_inodes_percent;
    unsigned latency_warn_ms;
    unsigned latency_fail_ms;
};

struct lease_config {
    unsigned renew_interval_ms;
    unsigned fence_after_ms;
    unsigned lease_timeout_ms;
    int fence_action;      /* enum fence_action */
    int fence_last_resort; /* enum fence_last_resort */
    unsigned fence_step_timeout_ms;
};

struct migrate_config {
    char *uri_template; /* one %s, replaced by the destination host */
    bool disk_overcommit;
    unsigned completion_timeout_ms;
    struct duration_list downtime_steps; /* increasing */
    unsigned bandwidth_mib; /* MiB/s for memory and disk copy; 0: no limit */
    bool allow_post_copy;
    int libvirt_version_match; /* enum version_match */
    unsigned shutdown_timeout_ms;
    bool allow_destroy;
};

struct fsck_config {
    unsigned stale_partial_age_ms;
    unsigned unused_base_age_ms;
    unsigned max_chain_depth;
    unsigned jobs; /* 0: one per CPU */
};

struct nova_config {
    char *config_file;         /* where Nova's own configuration is */
    char *config_drive_format; /* iso9660 or vfat */
};

struct ferry_config {
    struct storage_config storage;
    struct lease_config lease;
    struct migrate_config migrate;
    struct fsck_config fsck;
    struct nova_config nova;

    char *ferry_conf_path; /* the file that was read, or NULL when none existed */
    char *nova_conf_path;  /* NULL when none existed */
    char **sources;        /* per key in config_keys order: "default", "FILE:LINE" */
};

/*
 * Loads the configuration. path: the ferry.conf to read; NULL means $FERRY_CONF or else
 * /etc/ferry/ferry.conf, and a missing default file is not an error (defaults apply).
 * The Nova file is [nova] config_file, else $FERRY_NOVA_CONF, else /etc/nova/nova.conf,
 * and is read only if it exists.
 * On error, returns a negative errno with *error set to one line naming file:line, the key
 * and what is allowed; *cfg is untouched.
 */
int config_load(const char *path, struct ferry_config **cfg, char **error);

/* The same, from text in memory (for tests): name is what errors call the text. */
int config_load_text(const char *ferry_text, const char *ferry_name, const char *nova_text, const char *nova_name,
                     struct ferry_config **cfg, char **error);

void config_free(struct ferry_config *cfg);

/* Where KEY ("section.key") got its value: "default", "/etc/ferry/ferry.conf:12", … */
const char *config_source(const struct ferry_config *cfg, const char *section, const char *key);

/* Writes the effective configuration, each value with its source. */
void config_print(const struct ferry_config *cfg, FILE *out);
struct json_object;
struct json_object *config_to_json(const struct ferry_config *cfg);

/* "qemu+tcp://%s/system" with host → newly allocated URI. */
char *config_migrate_uri(const struct ferry_config *cfg, const char *host);

/* The shortest exact spelling of a duration, as ferry.conf takes it: 20000 -> "20s". */
const char *config_format_duration(uint64_t ms, char *buf, size_t size);

/* Parses "20s", "500ms", "2m", "1h" or a bare number of seconds into milliseconds. */
int config_parse_duration(const char *text, unsigned *ms);
