/*
 * ferry: the one binary. It reads the global options, then hands the rest of the command
 * line to the command group named first (git-style): storage, migrate, copy, fsck, config.
 */
#include "command.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static const struct subcommand top_commands[] = {
    { "storage", cmd_storage, &storage_doc },
    { "migrate", cmd_migrate, &migrate_doc },
    { "copy", cmd_copy, &copy_doc },
    { "fsck", cmd_fsck, &fsck_doc },
    { "config", cmd_config, &config_doc },
    { NULL, NULL, NULL },
};

static const struct command_doc ferry_doc = {
    .name = "",
    .summary = "NFS-backed instance directories and safe live migration for KVM hosts",
    .synopsis = "ferry [--config FILE] [-v] COMMAND [ARGS...]\n"
                "ferry --version\n"
                "ferry help COMMAND",
    .description =
        "ferry keeps a compute host's Nova instance directory (/opt/stack/data/nova/instances)\n"
        "on an NFS export, proves that the export is healthy and the same on every host, fences\n"
        "hosts that lose it, and moves guests between hosts by the cheapest path that is safe:\n"
        "state-only live migration on shared storage, live block migration with ferry's own\n"
        "disk streamer when storage is not shared, or cold migration of a shut-off guest.\n"
        "\n"
        "FILES\n"
        "    /etc/ferry/ferry.conf   ferry's configuration ('ferry config show' prints it)\n"
        "    /etc/nova/nova.conf     read for instances_path, config_drive_format and\n"
        "                            live_migration_uri; ferry.conf wins where both set a value\n"
        "\n"
        "ENVIRONMENT\n"
        "    FERRY_CONF        ferry.conf to read instead of /etc/ferry/ferry.conf\n"
        "    FERRY_NOVA_CONF   nova.conf to read instead of /etc/nova/nova.conf",
    .exit_status = "0  success\n"
                   "1  the command failed (its message says why)\n"
                   "2  bad command line or bad configuration; nothing was done\n"
                   "Some commands document more: 'ferry storage validate' and 'ferry fsck'.",
    .examples = "ferry storage validate\n"
                "ferry migrate instance-00000001 --to compute2\n"
                "ferry copy disk.qcow2 nfs://10.0.0.5/srv/nova/_base/disk.qcow2\n"
                "ferry fsck -n",
    .subcommands = top_commands,
};

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool version = false, verbose = false, debug = false;
    const struct option_spec opts[] = {
        OPT_STRING('c', "config", &config_path, "FILE",
                   "Read FILE instead of /etc/ferry/ferry.conf (or $FERRY_CONF)."),
        OPT_FLAG('v', "verbose", &verbose, "Say what is being done."),
        OPT_FLAG(0, "debug", &debug, "Say even more, for bug reports."),
        OPT_FLAG(0, "version", &version, "Print ferry's version and exit."),
        OPT_END(),
    };

    log_set_program("ferry");
    int n = options_parse(argc, argv, opts, &ferry_doc, OPTIONS_STOP_AT_POSITIONAL);
    if (n < 0)
        return options_exit_code(n);
    if (version) {
        printf("ferry %s\n", FERRY_VERSION);
        return EXIT_OK;
    }
    if (verbose)
        log_set_level(LOG_LEVEL_INFO);
    if (debug)
        log_set_level(LOG_LEVEL_DEBUG);
    if (n == 0)
        return command_usage_error(&ferry_doc, "which command? ('ferry --help' lists them)");

    /* "ferry help X [SUB]" is "ferry X [SUB] --help". */
    if (!strcmp(argv[0], "help")) {
        if (n == 1) {
            command_print_help(stdout, &ferry_doc, opts);
            return EXIT_OK;
        }
        memmove(argv, argv + 1, (size_t)(n - 1) * sizeof(*argv));
        argv[n - 1] = "--help";
    }

    struct ferry_context ctx = { .config_path = config_path };
    int r = subcommand_run(n, argv, &ctx, &ferry_doc, top_commands);
    config_free(ctx.config);
    return r;
}
