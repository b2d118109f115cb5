/*
 * Command-line options from a table, in the manner of git's parse-options: each command
 * declares its options once, and the same table parses argv and prints the OPTIONS section
 * of the command's man-page-like --help. Every command also describes itself in a
 * command_doc (NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS, EXAMPLES), so `ferry X --help`
 * and docs/ read the same.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

enum option_type {
    OPTION_END = 0,
    OPTION_FLAG,   /* bool *, set to true */
    OPTION_STRING, /* const char **, points into argv */
    OPTION_UINT,   /* unsigned *, decimal */
};

struct option_spec {
    enum option_type type;
    char short_name; /* 0: long form only */
    const char *long_name;
    void *value;
    const char *arg_name; /* shown in help: --at DIR */
    const char *help;
};

#define OPT_FLAG(s, l, v, h) { OPTION_FLAG, (s), (l), (v), NULL, (h) }
#define OPT_STRING(s, l, v, a, h) { OPTION_STRING, (s), (l), (v), (a), (h) }
#define OPT_UINT(s, l, v, a, h) { OPTION_UINT, (s), (l), (v), (a), (h) }
#define OPT_END() { OPTION_END, 0, NULL, NULL, NULL, NULL }

struct subcommand;

struct command_doc {
    const char *name;        /* "storage validate": printed as "ferry storage validate" */
    const char *summary;     /* one line, for NAME and for the parent's list */
    const char *synopsis;    /* one usage per line */
    const char *description; /* paragraphs; lines are printed as written, indented */
    const char *exit_status;
    const char *examples;
    const struct subcommand *subcommands; /* for command groups, listed under COMMANDS */
};

/* Results of options_parse() other than a count of positional arguments. */
enum {
    OPTIONS_HELP_SHOWN = -1, /* --help was asked for and printed: exit 0 */
    OPTIONS_USAGE_ERROR = -2, /* a one-line error and the usage were printed: exit 2 */
};

/* Stop at the first positional argument (for command groups, whose first positional
 * argument names the subcommand and the rest belong to it). */
#define OPTIONS_STOP_AT_POSITIONAL 1u

/*
 * Parses argv[1..argc) against opts (argv[0] is the command's name). On success returns
 * the number of positional arguments, moved to argv[0..n). "--" ends the options.
 * -h/--help is always understood.
 */
int options_parse(int argc, char **argv, const struct option_spec *opts, const struct command_doc *doc,
                  unsigned flags);

/* Exit code for a negative result of options_parse(). */
int options_exit_code(int parse_result);

void command_print_help(FILE *out, const struct command_doc *doc, const struct option_spec *opts);
void command_print_usage(FILE *out, const struct command_doc *doc);

/* Prints "error: MESSAGE" and the usage lines; returns 2, the exit code for usage errors. */
int command_usage_error(const struct command_doc *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
