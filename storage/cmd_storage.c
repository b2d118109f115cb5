/*
 * `ferry storage ...`: mount, check, guard and fence the NFS export behind the instance
 * directory. Each subcommand parses its options here and calls the storage library.
 */
#include "commands.h"
#include "config.h"
#include "export_identity.h"
#include "fence_request.h"
#include "json_output.h"
#include "log.h"
#include "mount.h"
#include "mount_table.h"
#include "validate.h"
#include "watch.h"

#include <signal.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The export from --export, else [storage] export; prints the error and returns -EINVAL. */
static int resolve_export(const char *given, const struct ferry_config *cfg, struct export_spec *spec)
{
    const char *text = given ? given : cfg->storage.export_spec;
    char *error = NULL;
    if (!text || !*text) {
        log_error("no export given: use --export SERVER:/PATH, or set [storage] export in %s",
                  cfg->ferry_conf_path ? cfg->ferry_conf_path : FERRY_DEFAULT_CONFIG);
        return -EINVAL;
    }
    if (export_spec_parse(text, spec, &error) < 0) {
        log_error("%s%s", given ? "" : "[storage] export: ", error ? error : "invalid export");
        free(error);
        return -EINVAL;
    }
    return 0;
}

static int parse_driver(const char *text, int fallback)
{
    if (!text)
        return fallback;
    if (!strcmp(text, "auto"))
        return STORAGE_DRIVER_AUTO;
    if (!strcmp(text, "kernel"))
        return STORAGE_DRIVER_KERNEL;
    if (!strcmp(text, "fuse"))
        return STORAGE_DRIVER_FUSE;
    return -1;
}

static const struct command_doc mount_doc = {
    .name = "storage mount",
    .summary = "mount the NFS export onto the instance directory",
    .synopsis = "ferry storage mount [--export SPEC] [--at DIR] [--driver auto|kernel|fuse] [-o OPTIONS] [--force]",
    .description =
        "Mounts SPEC (server:/path or nfs://server/path[?version=3]; default [storage] export) at\n"
        "DIR (default [storage] mount_point, /opt/stack/data/nova/instances). The kernel driver\n"
        "mounts with ferry's options for VM images (hard); the fuse driver runs ferry's FUSE\n"
        "bridge over libnfs in the background, one per mount. The same export already mounted\n"
        "at DIR is success; anything else there is an error naming both.",
    .exit_status = "0  mounted (or already mounted)\n1  not mounted; the message says why\n2  bad usage or configuration",
    .examples = "ferry storage mount --export 10.0.0.5:/srv/nova\nferry storage mount --driver fuse",
};

static const struct command_doc umount_doc = {
    .name = "storage umount",
    .summary = "unmount the instance directory and guard the mount point",
    .synopsis = "ferry storage umount [--at DIR]",
    .description = "Unmounts DIR (stopping ferry's FUSE bridge if it serves it) and guards the empty mount\n"
                   "point so nothing can be written onto the local disk underneath. A busy mount is\n"
                   "left mounted, and the error names the processes holding it.",
    .exit_status = "0  unmounted (or was not mounted)\n1  still mounted; the message says why\n2  bad usage",
    .examples = "ferry storage umount",
};

static const struct command_doc init_doc = {
    .name = "storage init",
    .summary = "give an export its identity",
    .synopsis = "ferry storage init --export SPEC",
    .description = "Writes .ferry/export-id (a UUID) on the export, once. Every host's validate compares\n"
                   "the mounted export's identity with [storage] export_id.",
    .exit_status = "0  written, or already there (the UUID is printed)\n1  failed\n2  bad usage",
    .examples = "ferry storage init --export 10.0.0.5:/srv/nova",
};

static const struct command_doc validate_doc = {
    .name = "storage validate",
    .summary = "check that the export behind the instance directory can be trusted",
    .synopsis = "ferry storage validate [--at DIR] [--json]",
    .description =
        "Runs named checks, each pass, warn or fail with a detail: mounted, source, reachable,\n"
        "identity, write probe, owner mapping, space, inodes, latency, mount options, lease and\n"
        "fence state. Every probe has a deadline ([storage] probe_timeout), probes of the server\n"
        "go through libnfs, and a hung mount cannot hold validate past its deadline.",
    .exit_status = "0  healthy\n1  degraded (warnings)\n2  unhealthy (a check failed), or a bad command line\n"
                   "3  could not run (bad configuration, no mount table)",
    .examples = "ferry storage validate\nferry storage validate --json | jq .verdict",
};

static const struct command_doc watch_doc = {
    .name = "storage watch",
    .summary = "renew this host's lease on the export and fence when it cannot",
    .synopsis = "ferry storage watch",
    .description = "The long-running daemon (foreground; see scripts/ferry-watch.service). It renews this\n"
                   "host's lease record through libnfs every [lease] renew_interval, and fences the host\n"
                   "when it could not renew for [lease] fence_after.",
    .exit_status = "0  stopped by a signal\n1  could not start",
    .examples = "ferry storage watch",
};

static const struct command_doc status_doc = {
    .name = "storage status",
    .summary = "show every host on the export, and this host's mount, verdict and fence state",
    .synopsis = "ferry storage status [--json]",
    .exit_status = "0  shown\n1  could not read the export",
    .examples = "ferry storage status --json",
};

static const struct command_doc fence_doc = {
    .name = "storage fence",
    .summary = "ask a host to fence itself",
    .synopsis = "ferry storage fence --host HOST [--wait]",
    .description = "Writes a fence request for HOST on the export. With --wait, returns when HOST\n"
                   "acknowledges or when its lease has expired, and says which.",
    .exit_status = "0  acknowledged, or lease expired\n1  failed or timed out\n2  bad usage",
    .examples = "ferry storage fence --host compute1 --wait",
};

static const struct command_doc unfence_doc = {
    .name = "storage unfence",
    .summary = "end this host's fenced state once the export is healthy again",
    .synopsis = "ferry storage unfence",
    .exit_status = "0  unfenced\n1  refused: validate is not healthy",
    .examples = "ferry storage unfence",
};

static int cmd_mount(int argc, char **argv, struct ferry_context *ctx)
{
    const char *spec = NULL, *at = NULL, *driver = NULL, *options = NULL;
    bool force = false;
    const struct option_spec opts[] = {
        OPT_STRING(0, "export", &spec, "SPEC", "The export: server:/path or nfs://server/path[?version=3]."),
        OPT_STRING(0, "at", &at, "DIR", "The mount point (default: [storage] mount_point)."),
        OPT_STRING(0, "driver", &driver, "auto|kernel|fuse", "How to mount (default: [storage] driver)."),
        OPT_STRING('o', "options", &options, "OPTIONS", "Extra mount options for the kernel driver."),
        OPT_FLAG(0, "force", &force, "Accept unsafe options such as soft."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &mount_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&mount_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    struct storage_mount_request req = {
        .mountpoint = at ? at : cfg->storage.mount_point,
        .driver = parse_driver(driver, cfg->storage.driver),
        .extra_options = options ? options : cfg->storage.mount_options,
        .nfs_version = cfg->storage.nfs_version,
        .force = force,
        .runtime_dir = cfg->storage.runtime_dir,
        .log_dir = cfg->storage.log_dir,
        .timeout_ms = cfg->storage.probe_timeout_ms,
    };
    if (req.driver < 0)
        return command_usage_error(&mount_doc, "--driver is auto, kernel or fuse, not '%s'", driver);
    if (req.mountpoint[0] != '/')
        return command_usage_error(&mount_doc, "--at needs an absolute path, not '%s'", req.mountpoint);
    if (resolve_export(spec, cfg, &req.spec) < 0)
        return EXIT_USAGE;

    struct storage_mount_result res;
    char *error = NULL;
    char source[EXPORT_SPEC_FORMAT_SIZE];
    export_spec_format(&req.spec, source, sizeof(source));
    if (storage_mount(&req, &res, &error) < 0) {
        log_error("%s", error ? error : "mount failed");
        free(error);
        return EXIT_FAILED;
    }
    if (res.already_mounted)
        printf("%s is already mounted on %s\n", source, req.mountpoint);
    else if (res.driver == STORAGE_DRIVER_FUSE)
        printf("mounted %s on %s with ferry's FUSE bridge (pid %d)\n", source, req.mountpoint, (int)res.bridge_pid);
    else
        printf("mounted %s on %s with the kernel client (%s)\n", source, req.mountpoint, res.options);
    return EXIT_OK;
}

static int cmd_umount(int argc, char **argv, struct ferry_context *ctx)
{
    const char *at = NULL;
    const struct option_spec opts[] = {
        OPT_STRING(0, "at", &at, "DIR", "The mount point (default: [storage] mount_point)."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &umount_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&umount_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    const char *dir = at ? at : cfg->storage.mount_point;
    bool was_mounted = false;
    char *error = NULL;
    if (storage_umount(dir, cfg->storage.runtime_dir, &was_mounted, &error) < 0) {
        log_error("%s", error ? error : "unmount failed");
        free(error);
        return EXIT_FAILED;
    }
    printf("%s %s; the mount point is guarded\n", dir, was_mounted ? "unmounted" : "was not mounted");
    return EXIT_OK;
}

static int cmd_init(int argc, char **argv, struct ferry_context *ctx)
{
    const char *spec = NULL;
    const struct option_spec opts[] = {
        OPT_STRING(0, "export", &spec, "SPEC", "The export to initialise (default: [storage] export)."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &init_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&init_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    struct export_spec es;
    if (resolve_export(spec, cfg, &es) < 0)
        return EXIT_USAGE;
    char id[EXPORT_ID_SIZE], label[EXPORT_SPEC_FORMAT_SIZE];
    bool created = false;
    char *error = NULL;
    export_spec_format(&es, label, sizeof(label));
    if (export_identity_init(&es, cfg->storage.probe_timeout_ms, id, &created, &error) < 0) {
        log_error("%s", error ? error : "init failed");
        free(error);
        return EXIT_FAILED;
    }
    printf("export %s %s identity %s\nset on every host, in /etc/ferry/ferry.conf:\n[storage]\nexport_id = %s\n",
           label, created ? "now has" : "already has", id, id);
    return EXIT_OK;
}

static int cmd_validate(int argc, char **argv, struct ferry_context *ctx)
{
    const char *at = NULL;
    bool json = false;
    const struct option_spec opts[] = {
        OPT_STRING(0, "at", &at, "DIR", "The mount point (default: [storage] mount_point)."),
        OPT_FLAG(0, "json", &json, "Print {\"verdict\", \"checks\": [{\"name\", \"status\", \"detail\"}...]}."),
        OPT_END(),
    };
    enum { COULD_NOT_RUN = 3 };
    /* A bad command line exits 2 as everywhere in ferry (which reads as "unhealthy" to a
     * monitor: a check that cannot be asked properly must not look healthy). */
    int n = options_parse(argc, argv, opts, &validate_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&validate_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return COULD_NOT_RUN;
    struct validate_report report;
    char *error = NULL;
    if (storage_validate(cfg, at, &report, &error) < 0) {
        log_error("%s", error ? error : "validate could not run");
        free(error);
        return COULD_NOT_RUN;
    }
    if (json) {
        struct json_object *o = verdict_to_json(report.verdict, report.checks, report.n);
        json_object_object_add(o, "mount_point", json_object_new_string(at ? at : cfg->storage.mount_point));
        json_object_object_add(o, "elapsed_ms", json_object_new_int64((int64_t)report.elapsed_ms));
        json_output_print(stdout, o);
    } else {
        verdict_print(stdout, report.verdict, report.checks, report.n);
    }
    return verdict_exit_code(report.verdict);
}

static int cmd_watch(int argc, char **argv, struct ferry_context *ctx)
{
    const struct option_spec opts[] = { OPT_END() };
    int n = options_parse(argc, argv, opts, &watch_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&watch_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    return storage_watch_run(cfg);
}

/* The local watch daemon's status file, if the daemon is alive. */
static struct json_object *watch_status(const struct ferry_config *cfg)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/watch.json", cfg->storage.runtime_dir);
    struct json_object *o = json_object_from_file(path), *pid;
    if (o && json_object_object_get_ex(o, "pid", &pid) && kill((pid_t)json_object_get_int64(pid), 0) == 0)
        return o;
    json_object_put(o);
    return NULL;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t jint(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static int cmd_status(int argc, char **argv, struct ferry_context *ctx)
{
    bool json = false;
    const struct option_spec opts[] = {
        OPT_FLAG(0, "json", &json, "Print JSON: {\"host\", \"mount\", \"fenced\", \"watch\", \"peers\": [...]}."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &status_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&status_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;

    char host[LEASE_HOST_MAX + 1] = "?", reason[512] = "";
    watch_host_name(host);
    bool fenced = watch_is_fenced(cfg, reason, sizeof(reason));
    struct mount_entry me;
    bool mounted = mount_table_find(cfg->storage.mount_point, &me) == 0;
    struct json_object *out = json_object_new_object();
    json_object_object_add(out, "host", json_object_new_string(host));
    json_object_object_add(out, "export", json_object_new_string(cfg->storage.export_spec));
    json_object_object_add(out, "mount_point", json_object_new_string(cfg->storage.mount_point));
    json_object_object_add(out, "mounted", mounted ? json_object_new_string(me.source) : NULL);
    json_object_object_add(out, "fenced", json_object_new_boolean(fenced));
    json_object_object_add(out, "fenced_reason", fenced ? json_object_new_string(reason) : NULL);

    struct json_object *peers = json_object_new_array();
    struct json_object *w = watch_status(cfg);
    if (w) {
        struct json_object *list;
        int64_t now = jint(w, "now_ms");
        json_object_object_add(out, "observer", json_object_new_string("watch daemon"));
        struct json_object *self = json_object_new_object();
        json_object_object_add(self, "pid", json_object_new_int64(jint(w, "pid")));
        json_object_object_add(self, "counter", json_object_new_int64(jint(w, "counter")));
        json_object_object_add(self, "since_renewal_ms",
                               json_object_new_int64(jint(w, "last_renew_ok_ms") ? now - jint(w, "last_renew_ok_ms") : -1));
        json_object_object_add(self, "renew_error", json_object_new_string(jstr(w, "renew_error")));
        json_object_object_add(self, "fence_step", json_object_new_string(jstr(w, "fence_step")));
        json_object_object_add(out, "watch", self);
        if (json_object_object_get_ex(w, "peers", &list))
            for (size_t i = 0; i < json_object_array_length(list); i++)
                json_object_array_add(peers, json_object_get(json_object_array_get_idx(list, i)));
        json_object_put(w);
    } else {
        /* No daemon here: look for ourselves, over one renew interval. */
        struct sampled_host hosts[MAX_SAMPLED_HOSTS];
        size_t count = 0;
        char *error = NULL;
        unsigned window = cfg->lease.renew_interval_ms + 500;
        json_object_object_add(out, "observer", json_object_new_string("sampled"));
        json_object_object_add(out, "watch", NULL);
        if (storage_sample_leases(cfg, window, hosts, &count, &error) < 0) {
            log_error("%s", error ? error : "cannot read the leases");
            free(error);
            json_object_put(out);
            if (mounted)
                mount_entry_clear(&me);
            return EXIT_FAILED;
        }
        for (size_t i = 0; i < count; i++) {
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "host", json_object_new_string(hosts[i].host));
            json_object_object_add(e, "liveness", json_object_new_string(peer_liveness_name(hosts[i].liveness)));
            json_object_object_add(e, "counter", json_object_new_int64((int64_t)hosts[i].obs.counter));
            json_object_object_add(e, "state", json_object_new_string(lease_state_name(hosts[i].obs.state)));
            json_object_object_add(e, "since_change_ms", json_object_new_int64(-1));
            json_object_object_add(e, "record", json_object_new_string(hosts[i].record_problem[0] ? hosts[i].record_problem
                                                                                                  : "ok"));
            json_object_array_add(peers, e);
        }
    }
    json_object_object_add(out, "peers", peers);
    if (mounted)
        mount_entry_clear(&me);

    if (json)
        return json_output_print(stdout, out) < 0 ? EXIT_FAILED : EXIT_OK;

    struct json_object *v;
    printf("host %s: %s; %s\n", host,
           mounted ? jstr(out, "mounted") : "nothing mounted", fenced ? "FENCED" : "not fenced");
    if (fenced)
        printf("  fenced %s\n", reason);
    printf("  mount point %s, export %s\n", cfg->storage.mount_point,
           cfg->storage.export_spec[0] ? cfg->storage.export_spec : "(none configured)");
    if (json_object_object_get_ex(out, "watch", &v) && v)
        printf("  watch daemon pid %lld, lease counter %lld, renewed %.1f s ago%s%s\n", (long long)jint(v, "pid"),
               (long long)jint(v, "counter"), jint(v, "since_renewal_ms") / 1000.0,
               *jstr(v, "renew_error") ? "; last error: " : "", jstr(v, "renew_error"));
    else
        printf("  no watch daemon on this host: hosts below were sampled over %.1f s\n",
               (cfg->lease.renew_interval_ms + 500) / 1000.0);
    printf("\n%-20s %-10s %-10s %-14s %s\n", "HOST", "LIVENESS", "STATE", "SINCE-CHANGE", "COUNTER");
    for (size_t i = 0; i < json_object_array_length(peers); i++) {
        struct json_object *e = json_object_array_get_idx(peers, i);
        char since[32] = "-";
        if (jint(e, "since_change_ms") >= 0)
            snprintf(since, sizeof(since), "%.1f s", jint(e, "since_change_ms") / 1000.0);
        printf("%-20s %-10s %-10s %-14s %lld\n", jstr(e, "host"), jstr(e, "liveness"), jstr(e, "state"), since,
               (long long)jint(e, "counter"));
        if (strcmp(jstr(e, "record"), "ok"))
            printf("%-20s record not trusted: %s\n", "", jstr(e, "record"));
    }
    json_object_put(out);
    return EXIT_OK;
}

static int cmd_fence(int argc, char **argv, struct ferry_context *ctx)
{
    const char *host = NULL;
    bool wait = false;
    const struct option_spec opts[] = {
        OPT_STRING(0, "host", &host, "HOST", "The host that must fence itself."),
        OPT_FLAG(0, "wait", &wait, "Wait for its acknowledgement or its lease's expiry."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &fence_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&fence_doc, "unexpected argument '%s'", argv[0]);
    if (!host)
        return command_usage_error(&fence_doc, "which host? (--host HOST)");
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    struct fence_wait_result res;
    char *error = NULL;
    if (storage_fence_host(cfg, host, wait, &res, &error) < 0) {
        log_error("%s", error ? error : "fence request failed");
        free(error);
        return EXIT_FAILED;
    }
    switch (res.outcome) {
    case FENCE_REQUESTED:
        printf("asked %s to fence itself (request %s)\n", host, res.request_id);
        return EXIT_OK;
    case FENCE_ACKNOWLEDGED:
        printf("%s acknowledged request %s after %.1f s: it is fenced\n", host, res.request_id, res.waited_s);
        return EXIT_OK;
    case FENCE_LEASE_EXPIRED:
        printf("%s did not answer, and its lease expired after %.1f s: it has fenced itself (or is gone)\n", host,
               res.waited_s);
        return EXIT_OK;
    case FENCE_WAIT_TIMED_OUT:
        break;
    }
    log_error("%s neither acknowledged request %s nor let its lease expire within %.1f s", host, res.request_id,
              res.waited_s);
    return EXIT_FAILED;
}

static int cmd_unfence(int argc, char **argv, struct ferry_context *ctx)
{
    const struct option_spec opts[] = { OPT_END() };
    int n = options_parse(argc, argv, opts, &unfence_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&unfence_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    char reason[512];
    if (!watch_is_fenced(cfg, reason, sizeof(reason))) {
        printf("this host is not fenced\n");
        return EXIT_OK;
    }
    /* Everything but the fence itself must be healthy again. */
    struct validate_report report;
    char *error = NULL;
    if (storage_validate(cfg, NULL, &report, &error) < 0) {
        log_error("cannot validate the storage: %s", error ? error : "?");
        free(error);
        return EXIT_FAILED;
    }
    bool blocked = false;
    for (size_t i = 0; i < report.n; i++)
        if (report.checks[i].status == CHECK_FAIL && strcmp(report.checks[i].name, CHECK_FENCED)) {
            log_error("refusing to unfence: check %s fails: %s", report.checks[i].name, report.checks[i].detail);
            blocked = true;
        }
    if (blocked)
        return EXIT_FAILED;
    /* A request that asked for this fencing is spent: a watch daemon starting later must
     * not obey it again. */
    char host[LEASE_HOST_MAX + 1];
    if (watch_host_name(host) == 0 && storage_fence_request_clear(cfg, host, &error) < 0) {
        log_error("%s", error ? error : "cannot remove the fence request");
        free(error);
        return EXIT_FAILED;
    }
    int r = watch_clear_fenced(cfg);
    if (r < 0) {
        log_error_errno(r, "cannot clear %s/fenced: %m", cfg->storage.state_dir);
        return EXIT_FAILED;
    }
    printf("unfenced (was fenced %s); guests that fencing paused stay paused: resume them with 'virsh resume' "
           "or restart them\n",
           reason);
    return EXIT_OK;
}

static const struct subcommand storage_commands[] = {
    { "mount", cmd_mount, &mount_doc },
    { "umount", cmd_umount, &umount_doc },
    { "init", cmd_init, &init_doc },
    { "validate", cmd_validate, &validate_doc },
    { "watch", cmd_watch, &watch_doc },
    { "status", cmd_status, &status_doc },
    { "fence", cmd_fence, &fence_doc },
    { "unfence", cmd_unfence, &unfence_doc },
    { NULL, NULL, NULL },
};

const struct command_doc storage_doc = {
    .name = "storage",
    .summary = "mount, validate, guard and fence the NFS export behind the instance directory",
    .synopsis = "ferry storage COMMAND [OPTIONS]",
    .description = "Storage admins set up the shared instance directory with these commands, and every\n"
                   "other part of ferry asks storage whether the export can be trusted.",
    .subcommands = storage_commands,
};

int cmd_storage(int argc, char **argv, struct ferry_context *ctx)
{
    return subcommand_dispatch(argc, argv, ctx, &storage_doc, storage_commands);
}
