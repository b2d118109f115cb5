/*
 * What every ferry command receives, and the table that routes `ferry GROUP SUB ...` to
 * the function that implements it (git's cmd_<name>(argc, argv) entry points).
 */
#pragma once

#include "options.h"

struct ferry_config;

struct ferry_context {
    const char *config_path; /* --config or FERRY_CONF; NULL: /etc/ferry/ferry.conf */
    struct ferry_config *config;
};

typedef int (*command_fn)(int argc, char **argv, struct ferry_context *ctx);

struct subcommand {
    const char *name;
    command_fn run;
    const struct command_doc *doc;
};

/* Exit codes shared by every command; commands with contracts of their own (validate,
 * fsck) document theirs in their help. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2, /* bad command line or bad configuration: nothing was done */
};

/*
 * Runs the subcommand named by argv[1] from table (terminated by a NULL name).
 * argv[0] is the group's name. No subcommand, or an unknown one, is a usage error;
 * `GROUP --help` prints the group's help with its list of subcommands.
 */
int subcommand_dispatch(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *group_doc,
                        const struct subcommand *table);

/* Runs the subcommand named by argv[0] (the group's options are already parsed). */
int subcommand_run(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *group_doc,
                   const struct subcommand *table);

/* The configuration, loaded on first use. NULL (after printing the one-line error) when
 * the files are bad: the caller exits without doing anything. */
struct ferry_config *context_config(struct ferry_context *ctx);

/*
 * For commands that a later capability fills: parses the options and min..max positional
 * arguments, loads the configuration, then says it is not implemented. Never a fake
 * success. could_not_run: the command's own exit code for "could not run" (validate 3,
 * fsck 8), used for a bad configuration and for this; 0 for the generic codes (2 for a
 * bad configuration, 1 for not implemented).
 */
int command_pending(int argc, char **argv, struct ferry_context *ctx, const struct command_doc *doc,
                    const struct option_spec *opts, int min_args, int max_args, int could_not_run);
