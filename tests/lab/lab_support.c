/*
 * Test-side helpers for the lab: everything goes through scripts/lab, the same entry
 * point operators and the demo use.
 */
#include "lab_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *vstrf(const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

int lab_run(struct command_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args = vstrf(fmt, ap);
    va_end(ap);
    int r = command_run_shell(res, "'%s/scripts/lab' %s", test_source_dir(), args);
    free(args);
    return r;
}

int lab_exec(struct command_result *res, const char *host, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vstrf(fmt, ap);
    va_end(ap);
    /* The command goes to sh -c inside the host; single quotes in it are escaped. */
    size_t n = strlen(cmd);
    char *quoted = malloc(n * 4 + 3);
    char *q = quoted;
    *q++ = '\'';
    for (size_t i = 0; i < n; i++) {
        if (cmd[i] == '\'') {
            memcpy(q, "'\\''", 4);
            q += 4;
        } else {
            *q++ = cmd[i];
        }
    }
    *q++ = '\'';
    *q = 0;
    int r = lab_run(res, "exec %s sh -c %s", host, quoted);
    free(quoted);
    free(cmd);
    return r;
}

char *lab_env(const char *key)
{
    struct command_result r;
    if (lab_run(&r, "env") < 0)
        return NULL;
    char *value = NULL;
    size_t klen = strlen(key);
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, key, klen) && line[klen] == '=') {
            char *v = line + klen + 1;
            size_t vlen = strlen(v);
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v[vlen - 1] = 0;
                v++;
            }
            value = strdup(v);
            break;
        }
    }
    command_result_free(&r);
    return value;
}

static long counter_from(const char *name, const char *host, bool first)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    if (!dir)
        return -1;
    char *path = test_strf("%s/%s/var-log-libvirt/qemu/%s-console.log", dir, host, name);
    char *log = test_read_file(path);
    long value = -1;
    free(path);
    free(dir);
    if (!log)
        return -1;
    for (char *line = strtok(log, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        long n;
        char tail;
        if (sscanf(line, "ferry-guest counter %ld%c", &n, &tail) == 1) {
            value = n;
            if (first)
                break;
        }
    }
    free(log);
    return value;
}

long lab_guest_counter(const char *name, const char *host)
{
    return counter_from(name, host, false);
}

long lab_guest_first_counter(const char *name, const char *host)
{
    return counter_from(name, host, true);
}

long lab_guest_wait_counter(const char *name, const char *host, long min, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        long n = lab_guest_counter(name, host);
        if (n >= min)
            return n;
        usleep(100 * 1000);
    }
    return -1;
}

long lab_guest_disk_counter(const char *name, const char *host, const char *dir)
{
    struct command_result r;
    long n = -1;
    if (lab_run(&r, "guest disk-counter '%s' %s '%s'", name, host, dir) < 0)
        return -1;
    if (r.status == 0)
        n = strtol(r.out, NULL, 10);
    command_result_free(&r);
    return n;
}

char *lab_unique_name(const char *prefix)
{
    return test_strf("%s-%d", prefix, (int)getpid());
}

void lab_log(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    printf("[%02d:%02d:%02d.%03ld] ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}
