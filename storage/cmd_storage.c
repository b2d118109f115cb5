/*
 * `ferry storage ...`: mount, check, guard and fence the NFS export behind the instance
 * directory. Each subcommand parses its options here and calls the storage library.
 */
#include "commands.h"
#include "config.h"

#include <stdio.h>

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
    .exit_status = "0  healthy\n1  degraded (warnings)\n2  unhealthy (a check failed)\n3  could not run",
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
    return command_pending(argc, argv, ctx, &mount_doc, opts, 0, 0, 0);
}

static int cmd_umount(int argc, char **argv, struct ferry_context *ctx)
{
    const char *at = NULL;
    const struct option_spec opts[] = {
        OPT_STRING(0, "at", &at, "DIR", "The mount point (default: [storage] mount_point)."),
        OPT_END(),
    };
    return command_pending(argc, argv, ctx, &umount_doc, opts, 0, 0, 0);
}

static int cmd_init(int argc, char **argv, struct ferry_context *ctx)
{
    const char *spec = NULL;
    const struct option_spec opts[] = {
        OPT_STRING(0, "export", &spec, "SPEC", "The export to initialise."),
        OPT_END(),
    };
    return command_pending(argc, argv, ctx, &init_doc, opts, 0, 0, 0);
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
    return command_pending(argc, argv, ctx, &validate_doc, opts, 0, 0, 3);
}

static int cmd_watch(int argc, char **argv, struct ferry_context *ctx)
{
    const struct option_spec opts[] = { OPT_END() };
    return command_pending(argc, argv, ctx, &watch_doc, opts, 0, 0, 0);
}

static int cmd_status(int argc, char **argv, struct ferry_context *ctx)
{
    bool json = false;
    const struct option_spec opts[] = {
        OPT_FLAG(0, "json", &json, "Print JSON."),
        OPT_END(),
    };
    return command_pending(argc, argv, ctx, &status_doc, opts, 0, 0, 0);
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
    return command_pending(argc, argv, ctx, &fence_doc, opts, 0, 0, 0);
}

static int cmd_unfence(int argc, char **argv, struct ferry_context *ctx)
{
    const struct option_spec opts[] = { OPT_END() };
    return command_pending(argc, argv, ctx, &unfence_doc, opts, 0, 0, 0);
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
