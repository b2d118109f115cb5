/*
 * `ferry config show|check`: the configuration in effect, and where each value came from.
 */
#include "commands.h"
#include "config.h"
#include "json_output.h"

#include <stdio.h>

static const struct command_doc config_show_doc = {
    .name = "config show",
    .summary = "print the configuration in effect and where each value came from",
    .synopsis = "ferry config show [--json]",
    .description =
        "Prints every setting ferry uses, as a ferry.conf would hold it, each with its source:\n"
        "'default', or FILE:LINE of /etc/ferry/ferry.conf or /etc/nova/nova.conf. ferry reads\n"
        "instances_path and config_drive_format from nova.conf's [DEFAULT], and\n"
        "live_migration_uri from its [libvirt] section; ferry.conf wins where both set a value.",
    .exit_status = "0  printed\n2  the configuration is bad (the error names file:line and the key)",
    .examples = "ferry config show\nferry --config /tmp/test.conf config show --json",
};

static const struct command_doc config_check_doc = {
    .name = "config check",
    .summary = "check the configuration files and say what is wrong",
    .synopsis = "ferry config check",
    .description = "Reads ferry.conf and nova.conf as every command does and reports the first problem\n"
                   "with its file, line, key and the values that would be accepted.",
    .exit_status = "0  the configuration is good\n1  it is not (the error says where and why)",
    .examples = "ferry config check && systemctl restart ferry-watch",
};

static int cmd_config_show(int argc, char **argv, struct ferry_context *ctx)
{
    bool json = false;
    const struct option_spec opts[] = {
        OPT_FLAG(0, "json", &json, "Print JSON: {\"files\": {...}, SECTION: {KEY: {\"value\", \"source\"}}}."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &config_show_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&config_show_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;
    if (json)
        return json_output_print(stdout, config_to_json(cfg)) < 0 ? EXIT_FAILED : EXIT_OK;
    config_print(cfg, stdout);
    return EXIT_OK;
}

static int cmd_config_check(int argc, char **argv, struct ferry_context *ctx)
{
    const struct option_spec opts[] = { OPT_END() };
    int n = options_parse(argc, argv, opts, &config_check_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n > 0)
        return command_usage_error(&config_check_doc, "unexpected argument '%s'", argv[0]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_FAILED;
    printf("configuration is good (%s, %s)\n", cfg->ferry_conf_path ? cfg->ferry_conf_path : "no ferry.conf",
           cfg->nova_conf_path ? cfg->nova_conf_path : "no nova.conf");
    return EXIT_OK;
}

static const struct subcommand config_commands[] = {
    { "show", cmd_config_show, &config_show_doc },
    { "check", cmd_config_check, &config_check_doc },
    { NULL, NULL, NULL },
};

const struct command_doc config_doc = {
    .name = "config",
    .summary = "show and check ferry's configuration",
    .synopsis = "ferry config show [--json]\nferry config check",
    .description = "ferry reads /etc/ferry/ferry.conf (or --config FILE, or $FERRY_CONF) and the few\n"
                   "settings it shares with Nova from /etc/nova/nova.conf. See ferry.conf(5) in docs/.",
    .subcommands = config_commands,
};

int cmd_config(int argc, char **argv, struct ferry_context *ctx)
{
    return subcommand_dispatch(argc, argv, ctx, &config_doc, config_commands);
}
