/*
 * `ferry migrate DOMAIN --to HOST` and `ferry migrate check`: move a guest by the cheapest
 * safe path, after the checks an operator would make by hand.
 */
#include "commands.h"

#include <string.h>

static const char migrate_exit_status[] =
    "0  the guest runs on the destination (result ok)\n"
    "1  the migration failed; the guest runs on the source (result rolled-back or failed)\n"
    "2  bad usage or configuration, or a pre-flight check refused the move; nothing changed";

static const struct command_doc migrate_check_doc = {
    .name = "migrate check",
    .summary = "print the migration plan and every pre-flight check; change nothing",
    .synopsis = "ferry migrate check DOMAIN --to HOST [--mode auto|shared|block|cold] [--disk-overcommit] [--json]",
    .description = "Runs every pre-flight check (cpu, libvirt-version, hostname, uri, config-drive,\n"
                   "disk-space, memory, network, fenced, shared-storage) and prints the path ferry\n"
                   "would take. Nothing is changed on either host.",
    .exit_status = "0  the move would go ahead\n2  a check refuses it, or bad usage",
    .examples = "ferry migrate check instance-00000001 --to compute2",
};

const struct command_doc migrate_doc = {
    .name = "migrate",
    .summary = "move a guest to another host: shared, block or cold, whichever is safe",
    .synopsis = "ferry migrate DOMAIN --to HOST [--mode auto|shared|block|cold] [--disk-overcommit] [--dry-run] [--json]\n"
                "ferry migrate check DOMAIN --to HOST [--mode MODE] [--json]",
    .description =
        "Run on the source host. ferry checks what an operator would check by hand, then takes\n"
        "the state-only live path when both hosts see the same healthy export, falls back by\n"
        "itself to live block migration (its own streamer copies what QEMU does not mirror)\n"
        "when they do not, and moves a shut-off guest cold. The destination's libvirt URI is\n"
        "[migrate] uri_template (nova.conf's live_migration_uri; qemu+tcp://%s/system).\n"
        "Any failure leaves the guest running on the source with its disks intact, and removes\n"
        "what ferry made on the destination.",
    .exit_status = migrate_exit_status,
    .examples = "ferry migrate instance-00000001 --to compute2\n"
                "ferry migrate instance-00000001 --to compute2 --mode block --json\n"
                "ferry migrate check instance-00000001 --to compute2",
};

int cmd_migrate(int argc, char **argv, struct ferry_context *ctx)
{
    const char *to = NULL, *mode = NULL;
    bool dry_run = false, json = false, overcommit = false;
    const struct option_spec opts[] = {
        OPT_STRING(0, "to", &to, "HOST", "The destination host, as its name resolves here."),
        OPT_STRING(0, "mode", &mode, "auto|shared|block|cold", "Force a path; an unsafe one is refused (default auto)."),
        OPT_FLAG(0, "disk-overcommit", &overcommit, "Count disks by allocation, not virtual size."),
        OPT_FLAG(0, "dry-run", &dry_run, "Run the checks and print the plan; change nothing."),
        OPT_FLAG(0, "json", &json, "Print the plan, the checks and the result as JSON."),
        OPT_END(),
    };
    if (argc > 1 && !strcmp(argv[1], "check"))
        return command_pending(argc - 1, argv + 1, ctx, &migrate_check_doc, opts, 1, 1, 0);
    return command_pending(argc, argv, ctx, &migrate_doc, opts, 1, 1, 0);
}
