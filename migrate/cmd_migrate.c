/*
 * `ferry migrate DOMAIN --to HOST` and `ferry migrate check`: move a guest by the cheapest
 * safe path, after the checks an operator would make by hand. This file parses and prints;
 * migrate.c decides and does.
 */
#include "commands.h"
#include "config.h"
#include "json_output.h"
#include "log.h"
#include "migrate.h"
#include "text.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char migrate_exit_status[] =
    "0  the guest runs on the destination (result ok), or the plan was printed (check, --dry-run)\n"
    "1  the migration failed; the result says rolled-back (the guest runs on the source, nothing left on\n"
    "   the destination) or failed (ferry could not restore everything: the cause says what to check)\n"
    "2  bad usage or configuration, or a pre-flight check refused the move; nothing was changed";

static const struct command_doc migrate_check_doc = {
    .name = "migrate check",
    .summary = "print the migration plan and every pre-flight check; change nothing",
    .synopsis = "ferry migrate check DOMAIN --to HOST [--mode auto|shared|block|cold] [--disk-overcommit] [--json]",
    .description = "Runs every pre-flight check (cpu, libvirt-version, hostname, uri, config-drive,\n"
                   "disk-space, memory, network, fenced, shared-storage) and prints the path ferry\n"
                   "would take. Nothing is changed on either host (the sharing proof writes a small\n"
                   "token file through the destination's libvirt and removes it).",
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
        "the state-only live path when both hosts see the same healthy export (ferry proves it:\n"
        "a token written through the destination's libvirt must appear here), falls back by\n"
        "itself to live block migration (its own streamer copies what QEMU does not mirror)\n"
        "when they do not, and moves a shut-off guest cold. The destination's libvirt URI is\n"
        "[migrate] uri_template (nova.conf's live_migration_uri; qemu+tcp://%s/system).\n"
        "A fenced host neither sends nor receives guests. Ctrl-C aborts cleanly.\n"
        "Any failure leaves the guest running on the source with its disks intact, and removes\n"
        "what ferry made on the destination.",
    .exit_status = migrate_exit_status,
    .examples = "ferry migrate instance-00000001 --to compute2\n"
                "ferry migrate instance-00000001 --to compute2 --mode block --json\n"
                "ferry migrate check instance-00000001 --to compute2",
};

/* Set by SIGINT; lock-free, so a signal handler may store it. */
static atomic_bool cancel_requested;

static void on_interrupt(int sig)
{
    (void)sig;
    atomic_store(&cancel_requested, true);
}


/* One line, redrawn in place on a terminal. */
static void show_progress(const struct live_progress *p, void *arg)
{
    const char *name = arg;
    char left[32], total[32];
    uint64_t remaining = p->memory_remaining + p->disk_remaining;
    text_bytes(left, sizeof(left), remaining);
    text_bytes(total, sizeof(total), p->memory_total + p->disk_total);
    double eta = p->bytes_per_second ? (double)remaining / (double)p->bytes_per_second : 0;
    fprintf(stderr, "\r  %s: %s, %s of %s left, %.0f MB/s, ETA %.1f s, max downtime %u ms   ", name, p->phase, left,
            total, p->bytes_per_second / 1e6, eta, p->downtime_ms);
    fflush(stderr);
}

static void print_outcome(const struct migrate_request *req, const struct migrate_outcome *o)
{
    printf("guest %s: %s -> %s (mode %s)\n", o->facts.guest.name, o->facts.src.hostname[0] ? o->facts.src.hostname
                                                                                              : "this host",
           req->host, migrate_mode_name(req->mode));
    printf("checks:\n");
    for (size_t i = 0; i < o->n_checks; i++)
        printf("  %-5s %-16s %s\n", check_status_name(o->checks[i].status), o->checks[i].name, o->checks[i].detail);
    if (o->plan.path != MIGRATE_PATH_NONE) {
        printf("plan: %s", migrate_path_name(o->plan.path));
        if (o->plan.path == MIGRATE_PATH_SHARED)
            printf(" (memory and device state only; sharing proven by ferry%s)",
                   o->plan.unsafe_flag ? ", VIR_MIGRATE_UNSAFE since libvirt cannot recognise this filesystem" : "");
        printf("\n");
    }
    printf("result: %s", migrate_result_name(o->result));
    if (o->cause[0])
        printf(": %s", o->cause);
    printf("\n");
    if (o->result == MIGRATE_RESULT_OK)
        printf("timings: checks %.2f s, stream %.2f s, migrate %.2f s, downtime %llu ms, total %.2f s\n",
               o->timings.checks_ms / 1000.0, o->timings.stream_ms / 1000.0, o->timings.migrate_ms / 1000.0,
               (unsigned long long)o->timings.downtime_ms, o->timings.total_ms / 1000.0);
}

static int exit_code(const struct migrate_outcome *o)
{
    switch (o->result) {
    case MIGRATE_RESULT_OK:
    case MIGRATE_RESULT_PLANNED:
        return EXIT_OK;
    case MIGRATE_RESULT_REFUSED:
        return EXIT_USAGE;
    default:
        return EXIT_FAILED;
    }
}

static int run(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *doc, bool check_only)
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
    int n = options_parse(argc, argv, opts, doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n != 1)
        return command_usage_error(doc, n == 0 ? "which guest? (DOMAIN)" : "unexpected argument '%s'", argv[1]);
    if (!to)
        return command_usage_error(doc, "where to? (--to HOST)");
    struct migrate_request req = {
        .domain = argv[0],
        .host = to,
        .dry_run = dry_run || check_only,
        .disk_overcommit = overcommit,
        .cancel = &cancel_requested,
    };
    if (migrate_mode_parse(mode ? mode : "auto", &req.mode) < 0)
        return command_usage_error(doc, "--mode is auto, shared, block or cold, not '%s'", mode);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    if (!json && isatty(STDERR_FILENO)) {
        req.progress = show_progress;
        req.progress_arg = argv[0];
    }
    struct sigaction sa = { .sa_handler = on_interrupt };
    sigaction(SIGINT, &sa, NULL);

    struct migrate_outcome *o = malloc(sizeof(*o));
    char *error = NULL;
    if (!o)
        return EXIT_FAILED;
    if (migrate_run(cfg, &req, o, &error) < 0) {
        log_error("%s", error ? error : "migration could not start");
        free(error);
        free(o);
        return EXIT_FAILED;
    }
    if (req.progress)
        fprintf(stderr, "\r%80s\r", "");
    if (json)
        json_output_print(stdout, migrate_outcome_to_json(&req, o));
    else
        print_outcome(&req, o);
    int code = exit_code(o);
    free(o);
    return code;
}

int cmd_migrate(int argc, char **argv, struct ferry_context *ctx)
{
    if (argc > 1 && !strcmp(argv[1], "check"))
        return run(argc - 1, argv + 1, ctx, &migrate_check_doc, true);
    return run(argc, argv, ctx, &migrate_doc, false);
}
