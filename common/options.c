/*
 * Table-driven option parsing and man-page-like help. A command's option table is the
 * single source of both: what argv may hold, and what --help says about it.
 */
#include "options.h"

#include "command.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct option_spec help_option = OPT_FLAG('h', "help", NULL, "Show this help and exit.");

static void print_indented(FILE *out, const char *text, int indent)
{
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0)
            fprintf(out, "%*s%.*s\n", indent, "", (int)len, line);
        else
            fputc('\n', out);
        if (!end)
            break;
        line = end + 1;
    }
}

static void print_option(FILE *out, const struct option_spec *o)
{
    char left[128];
    int n = 0;
    if (o->short_name)
        n += snprintf(left + n, sizeof(left) - n, "-%c", o->short_name);
    if (o->long_name)
        n += snprintf(left + n, sizeof(left) - n, "%s--%s", o->short_name ? ", " : "", o->long_name);
    if (o->arg_name)
        snprintf(left + n, sizeof(left) - n, " %s", o->arg_name);
    fprintf(out, "    %s\n", left);
    print_indented(out, o->help, 8);
}

void command_print_usage(FILE *out, const struct command_doc *doc)
{
    const char *line = doc->synopsis;
    bool first = true;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        fprintf(out, "%s%.*s\n", first ? "usage: " : "       ", (int)len, line);
        first = false;
        if (!end)
            break;
        line = end + 1;
    }
    fprintf(out, "Try 'ferry%s%s --help' for more.\n", *doc->name ? " " : "", doc->name);
}

void command_print_help(FILE *out, const struct command_doc *doc, const struct option_spec *opts)
{
    fprintf(out, "NAME\n    ferry%s%s - %s\n\nSYNOPSIS\n", *doc->name ? " " : "", doc->name, doc->summary);
    print_indented(out, doc->synopsis, 4);
    if (doc->description) {
        fputs("\nDESCRIPTION\n", out);
        print_indented(out, doc->description, 4);
    }
    if (doc->subcommands) {
        fputs("\nCOMMANDS\n", out);
        for (const struct subcommand *s = doc->subcommands; s->name; s++)
            fprintf(out, "    %-10s %s\n", s->name, s->doc->summary);
        fprintf(out, "\n    'ferry%s%s COMMAND --help' describes each command.\n", *doc->name ? " " : "",
                doc->name);
    }
    fputs("\nOPTIONS\n", out);
    for (const struct option_spec *o = opts; o && o->type != OPTION_END; o++)
        print_option(out, o);
    print_option(out, &help_option);
    if (doc->exit_status) {
        fputs("\nEXIT STATUS\n", out);
        print_indented(out, doc->exit_status, 4);
    }
    if (doc->examples) {
        fputs("\nEXAMPLES\n", out);
        print_indented(out, doc->examples, 4);
    }
}

int command_usage_error(const struct command_doc *doc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_error("%s", msg);
    command_print_usage(stderr, doc);
    return EXIT_USAGE;
}

int options_exit_code(int parse_result)
{
    return parse_result == OPTIONS_HELP_SHOWN ? EXIT_OK : EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT_MAX)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

/* Stores value into the option's target; the error names the option as the user wrote it. */
static int option_store(const struct option_spec *o, const char *value, const char *spelled,
                        const struct command_doc *doc)
{
    switch (o->type) {
    case OPTION_FLAG:
        *(bool *)o->value = true;
        return 0;
    case OPTION_STRING:
        *(const char **)o->value = value;
        return 0;
    case OPTION_UINT:
        if (parse_uint(value, o->value) < 0) {
            command_usage_error(doc, "option '%s' wants a non-negative whole number, not '%s'", spelled, value);
            return OPTIONS_USAGE_ERROR;
        }
        return 0;
    case OPTION_END:
        break;
    }
    return OPTIONS_USAGE_ERROR;
}

static const struct option_spec *find_long(const struct option_spec *opts, const char *name, size_t len)
{
    for (const struct option_spec *o = opts; o && o->type != OPTION_END; o++)
        if (o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
            return o;
    return NULL;
}

static const struct option_spec *find_short(const struct option_spec *opts, char c)
{
    for (const struct option_spec *o = opts; o && o->type != OPTION_END; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

static int parse_long(int argc, char **argv, int *i, const struct option_spec *opts,
                      const struct command_doc *doc)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

    if (len == 4 && !strncmp(arg, "help", 4)) {
        command_print_help(stdout, doc, opts);
        return OPTIONS_HELP_SHOWN;
    }
    const struct option_spec *o = find_long(opts, arg, len);
    if (!o) {
        command_usage_error(doc, "unknown option '--%.*s'", (int)len, arg);
        return OPTIONS_USAGE_ERROR;
    }
    if (o->type == OPTION_FLAG) {
        if (eq) {
            command_usage_error(doc, "option '--%s' takes no value", o->long_name);
            return OPTIONS_USAGE_ERROR;
        }
        return option_store(o, NULL, argv[*i], doc);
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc) {
            command_usage_error(doc, "option '--%s' needs a value (%s)", o->long_name, o->arg_name);
            return OPTIONS_USAGE_ERROR;
        }
        value = argv[++*i];
    }
    char spelled[64];
    snprintf(spelled, sizeof(spelled), "--%s", o->long_name);
    return option_store(o, value, spelled, doc);
}

static int parse_short_cluster(int argc, char **argv, int *i, const struct option_spec *opts,
                               const struct command_doc *doc)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        if (*p == 'h') {
            command_print_help(stdout, doc, opts);
            return OPTIONS_HELP_SHOWN;
        }
        const struct option_spec *o = find_short(opts, *p);
        if (!o) {
            command_usage_error(doc, "unknown option '-%c'", *p);
            return OPTIONS_USAGE_ERROR;
        }
        char spelled[3] = { '-', *p, 0 };
        if (o->type == OPTION_FLAG) {
            option_store(o, NULL, spelled, doc);
            continue;
        }
        /* -oVALUE or -o VALUE; a value ends the cluster. */
        const char *value = p[1] ? p + 1 : NULL;
        if (!value) {
            if (*i + 1 >= argc) {
                command_usage_error(doc, "option '-%c' needs a value (%s)", *p, o->arg_name);
                return OPTIONS_USAGE_ERROR;
            }
            value = argv[++*i];
        }
        return option_store(o, value, spelled, doc);
    }
    return 0;
}

int options_parse(int argc, char **argv, const struct option_spec *opts, const struct command_doc *doc,
                  unsigned flags)
{
    int npos = 0;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            argv[npos++] = argv[i];
            if (flags & OPTIONS_STOP_AT_POSITIONAL) {
                i++;
                break;
            }
            continue;
        }
        if (a[1] == '-')
            r = parse_long(argc, argv, &i, opts, doc);
        else
            r = parse_short_cluster(argc, argv, &i, opts, doc);
        if (r < 0)
            return r;
    }
    for (; i < argc; i++)
        argv[npos++] = argv[i];
    return npos;
}
