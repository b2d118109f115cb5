/*
 * Messages for people, on stderr, each prefixed with the program that printed it.
 * Errors and warnings always print; info and debug only at the verbosity asked for.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *program = "ferry";
static enum log_level level = LOG_LEVEL_WARN;

void log_set_program(const char *name)
{
    program = name;
}

const char *log_program(void)
{
    return program;
}

void log_set_level(enum log_level l)
{
    level = l;
}

enum log_level log_get_level(void)
{
    return level;
}

static const char *level_prefix(enum log_level l)
{
    switch (l) {
    case LOG_LEVEL_ERROR:
        return "error: ";
    case LOG_LEVEL_WARN:
        return "warning: ";
    default:
        return "";
    }
}

static void log_vmessage(enum log_level l, const char *fmt, va_list ap)
{
    if (l > level)
        return;
    /* One fprintf per line keeps lines whole when several threads log. */
    char buf[4096];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    fprintf(stderr, "%s: %s%s\n", program, level_prefix(l), buf);
}

void log_message(enum log_level l, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_vmessage(l, fmt, ap);
    va_end(ap);
    errno = saved;
}

int log_message_errno(enum log_level l, int err, const char *fmt, ...)
{
    int e = abs(err);
    va_list ap;
    /* glibc's %m prints strerror(errno): set errno to the error being reported. */
    errno = e;
    va_start(ap, fmt);
    log_vmessage(l, fmt, ap);
    va_end(ap);
    errno = e;
    return -e;
}
