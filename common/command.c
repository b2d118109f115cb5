/*
 * Routing of `ferry GROUP SUB ...` to the subcommand's entry point, with the group's own
 * --help listing what it holds.
 */
#include "command.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

static const struct subcommand *subcommand_find(const struct subcommand *table, const char *name)
{
    for (const struct subcommand *s = table; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

int subcommand_dispatch(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *group_doc,
                        const struct subcommand *table)
{
    static const struct option_spec no_options[] = { OPT_END() };
    int n = options_parse(argc, argv, no_options, group_doc, OPTIONS_STOP_AT_POSITIONAL);
    if (n < 0)
        return options_exit_code(n);
    if (n == 0)
        return command_usage_error(group_doc, "which command? ('ferry %s --help' lists them)", group_doc->name);
    return subcommand_run(n, argv, ctx, group_doc, table);
}

int subcommand_run(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *group_doc,
                   const struct subcommand *table)
{
    const struct subcommand *s = subcommand_find(table, argv[0]);
    if (!s)
        return command_usage_error(group_doc, "unknown command '%s%s%s'", group_doc->name,
                                   *group_doc->name ? " " : "", argv[0]);

    char program[128];
    snprintf(program, sizeof(program), "ferry %s", s->doc->name);
    log_set_program(program);
    return s->run(argc, argv, ctx);
}

int command_pending(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *doc,
                    const struct option_spec *opts, int min_args, int max_args, int could_not_run)
{
    int n = options_parse(argc, argv, opts, doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n < min_args)
        return command_usage_error(doc, "missing argument");
    if (n > max_args)
        return command_usage_error(doc, "unexpected argument '%s'", argv[max_args]);
    if (!context_config(ctx))
        return could_not_run ? could_not_run : EXIT_USAGE;
    log_error("'ferry %s' is not implemented yet in this version of ferry", doc->name);
    return could_not_run ? could_not_run : EXIT_FAILED;
}
