/*
 * `ferry fsck`: the nightly consistency check of the instance store. This file turns the
 * command line and the configuration into fsck_options; fsck.c does the run.
 */
#include "commands.h"

#include "cleanup.h"
#include "config.h"
#include "fsck.h"
#include "host_domains.h"
#include "log.h"
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct command_doc fsck_doc = {
    .name = "fsck",
    .summary = "check the instance store: images, backing chains, leases, leftovers, ownership",
    .synopsis = "ferry fsck [--instances DIR] [-n | -y] [--deep] [--jobs N] [--json] [--prometheus FILE]",
    .description =
        "Walks the instance store (instance directories, _base, .ferry/) in parallel, reading\n"
        "metadata only: directory listings, the first 4 KiB of each image (qcow2 headers are\n"
        "parsed by ferry itself and trusted in nothing), disk.info, libvirt.xml, the lease and\n"
        "owner records. --deep also runs 'qemu-img check' on each qcow2 image. Each finding is\n"
        "one line, SEVERITY rule path: message, with a stable rule name; a summary ends the run.\n"
        "\n"
        "Without -y nothing is changed (-n says so explicitly; it writes nothing in the store,\n"
        "not even access times). -y repairs the findings marked fixable below, by moving things\n"
        "into .ferry/quarantine/<time>-<host>/ (the store's tree preserved, with a MANIFEST\n"
        "saying how to put each back) rather than deleting them. Instances whose guest is\n"
        "running (libvirt, or a process holding its files open) or migrating (a libvirt job,\n"
        "or an owner record in state incoming/outgoing) are reported, never touched; so are\n"
        "those another live host owns (their repairs are that host's: it alone sees its guests).\n"
        "\n"
        "RULES (severity; fixable with -y: how)\n"
        "    qcow2-header-invalid   error    a qcow2 header no reader should trust\n"
        "    qcow2-corrupt-flag     error    QEMU marked the image corrupt\n"
        "    qcow2-dirty-flag       warning  dirty flag, no guest running; fixable: qemu-img\n"
        "                                    check -r all, as QEMU does on the next open\n"
        "    image-truncated        error    header or metadata tables past the end of the file\n"
        "    backing-missing        error    the backing file does not exist\n"
        "    backing-outside-store  error    backing file outside the store or _base, a\n"
        "                                    protocol or json: name, or behind an escaping symlink\n"
        "    backing-loop           error    a chain loops, or is deeper than [fsck] max_chain_depth\n"
        "    format-mismatch        error    disk.info, libvirt.xml or the backing format\n"
        "                                    extension says one format, the file is another\n"
        "    orphan-instance        warning  no owner record, and this host's libvirt does not\n"
        "                                    define it (needs .ferry/owners/)\n"
        "    stale-partial          warning  *.ferry-partial, <uuid>_resize, <uuid>_del older\n"
        "                                    than [fsck] stale_partial_age; fixable: quarantine\n"
        "    unused-base            warning  a base image no image uses, older than [fsck]\n"
        "                                    unused_base_age; fixable: quarantine\n"
        "    dead-owner             warning  every host claiming the instance is dead (lease\n"
        "                                    released, fenced, absent or expired)\n"
        "    double-owner           error    two hosts claim the instance, or it is defined\n"
        "                                    here while another host owns it\n"
        "    bad-permissions        error    the qemu user (libvirt-qemu) cannot read or write\n"
        "                                    a file its guest needs\n"
        "    symlink-escape         error    a symlink leads out of the store (never followed);\n"
        "                                    fixable: the symlink itself is quarantined\n"
        "    config-drive-format    info     an iso9660 config drive; warning when neither\n"
        "                                    iso9660 nor vfat\n"
        "    missing-disk           error    a disk named in libvirt.xml is absent\n"
        "    metadata-invalid       warning  disk.info, libvirt.xml or an owner record is unreadable\n"
        "    unreadable             error    fsck itself could not read an entry\n"
        "    qcow2-check            error    --deep: qemu-img check found errors or corruptions\n"
        "                                    (leaks: warning)\n"
        "\n"
        "OWNERS AND LEASES\n"
        "    .ferry/owners/<uuid>/<host> holds one record per host claiming an instance (see\n"
        "    fsck/owner_record.h). A host is dead when its lease in .ferry/leases/ says released\n"
        "    or fenced, is absent, is seen expired by the local watch daemon, or does not move\n"
        "    for [lease] lease_timeout during the run. Without .ferry/owners/ (or without lease\n"
        "    records) the rules that need them are skipped, with a note.\n"
        "\n"
        "OUTPUT\n"
        "    --json prints {\"store\", \"mode\", \"deep\", \"started_at\", \"duration_s\", \"scanned\",\n"
        "    \"findings\": [{\"rule\", \"severity\", \"path\", \"message\", \"fixable\", \"fixed\",\n"
        "    \"instance\", \"guarded\", \"not_fixed\"}], \"counts\", \"quarantine\", \"notes\",\n"
        "    \"exit_code\"}. --prometheus writes ferry_fsck_findings{store,rule,severity},\n"
        "    ferry_fsck_findings_fixed, ferry_fsck_problems_left, ferry_fsck_instances_scanned,\n"
        "    ferry_fsck_images_scanned, ferry_fsck_duration_seconds,\n"
        "    ferry_fsck_last_run_timestamp_seconds and ferry_fsck_exit_code, atomically; FILE\n"
        "    must not be inside the store.\n"
        "\n"
        "ENVIRONMENT\n"
        "    FERRY_FSCK_LIBVIRT_URI  the libvirt to ask (default qemu:///system; \"none\": do not)\n"
        "    FERRY_QEMU_IMG          the qemu-img to run for --deep and qcow2-dirty-flag repairs",
    .exit_status = "0  clean (info findings do not count)\n"
                   "1  problems were fixed\n"
                   "4  problems were left\n"
                   "8  operational error: the store could not be read, a bad configuration, ...\n"
                   "Several apply at once as their sum, as with fsck(8): 5 = some fixed, some left.",
    .examples = "ferry fsck -n\n"
                "ferry fsck -y --prometheus /var/lib/prometheus/node-exporter/ferry-fsck.prom\n"
                "ferry fsck --instances /srv/nova --deep --json",
};

static bool inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

/* The textfile's directory, resolved, must not be the store or under it: -n writes nothing there. */
static bool prometheus_in_store(const char *file, const char *store)
{
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    return realpath(dir, real) && inside(real, store);
}

/* A configured export that is not mounted leaves an empty directory: "clean" would lie. */
static bool export_missing(const struct ferry_config *cfg, const char *store)
{
    char parent[PATH_MAX + 4];
    struct stat a, b;
    if (!cfg->storage.export_spec[0] || strcmp(store, cfg->storage.mount_point))
        return false;
    snprintf(parent, sizeof(parent), "%s/..", store);
    return stat(store, &a) == 0 && stat(parent, &b) == 0 && a.st_dev == b.st_dev;
}

int cmd_fsck(int argc, char **argv, struct ferry_context *ctx)
{
    const char *instances = NULL, *prometheus = NULL;
    bool no = false, yes = false, deep = false, json = false;
    unsigned jobs = 0;
    const struct option_spec opts[] = {
        OPT_STRING(0, "instances", &instances, "DIR", "The store to check (default: [storage] mount_point)."),
        OPT_FLAG('n', "no", &no, "Report only; write nothing."),
        OPT_FLAG('y', "yes", &yes, "Repair what is marked fixable."),
        OPT_FLAG(0, "deep", &deep, "Also run 'qemu-img check' on each qcow2 image."),
        OPT_UINT('j', "jobs", &jobs, "N", "Parallel workers (default: [fsck] jobs, one per CPU)."),
        OPT_FLAG(0, "json", &json, "Print every finding as JSON."),
        OPT_STRING(0, "prometheus", &prometheus, "FILE", "Write a node_exporter textfile, atomically."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &fsck_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&fsck_doc, "unexpected argument '%s'", argv[0]);
    if (no && yes)
        return command_usage_error(&fsck_doc, "-n and -y contradict each other: choose one");
    if (jobs > 256)
        return command_usage_error(&fsck_doc, "--jobs %u is more than 256", jobs);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return FSCK_EXIT_OPERATIONAL;

    const char *dir = instances ? instances : cfg->storage.mount_point;
    char store[PATH_MAX];
    if (!realpath(dir, store)) {
        log_error_errno(-errno, "the instance store %s: %m; pass --instances DIR or set [storage] mount_point", dir);
        return FSCK_EXIT_OPERATIONAL;
    }
    struct stat st;
    if (stat(store, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_error("the instance store %s is not a directory; pass --instances DIR", store);
        return FSCK_EXIT_OPERATIONAL;
    }
    if (export_missing(cfg, store)) {
        log_error("the export %s is not mounted at %s; run 'ferry storage mount' first, or pass --instances DIR",
                  cfg->storage.export_spec, store);
        return FSCK_EXIT_OPERATIONAL;
    }
    if (prometheus && prometheus_in_store(prometheus, store)) {
        log_error("--prometheus %s is inside the instance store %s; write it elsewhere (fsck writes nothing in the "
                  "store but its quarantine)",
                  prometheus, store);
        return FSCK_EXIT_OPERATIONAL;
    }

    const char *uri = getenv("FERRY_FSCK_LIBVIRT_URI");
    if (!uri || !uri[0])
        uri = HOST_DOMAINS_DEFAULT_URI;
    else if (!strcmp(uri, "none"))
        uri = NULL;

    struct fsck_options o = {
        .instances = store,
        .mount_point = cfg->storage.mount_point,
        .repair = yes,
        .deep = deep,
        .json = json,
        .prometheus = prometheus,
        .jobs = jobs ? jobs : cfg->fsck.jobs,
        .limits = {
            .stale_partial_age_s = cfg->fsck.stale_partial_age_ms / 1000,
            .unused_base_age_s = cfg->fsck.unused_base_age_ms / 1000,
            .max_chain_depth = cfg->fsck.max_chain_depth,
            .lease_timeout_ms = cfg->lease.lease_timeout_ms,
            .config_drive_format = cfg->nova.config_drive_format,
        },
        .libvirt_uri = uri,
        .runtime_dir = cfg->storage.runtime_dir,
    };
    return fsck_run(&o, stdout);
}
