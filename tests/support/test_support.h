/*
 * What every ferry test program shares: a CUnit main that returns non-zero when any
 * assertion failed, running a real command and capturing what it printed, and scratch
 * directories that are removed afterwards.
 */
#pragma once

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>

struct test_case {
    const char *name;
    CU_TestFunc fn;
};

/* Runs one suite made of the NULL-terminated cases; returns the process exit code. */
int test_run_suite(const char *suite, const struct test_case *cases);

struct command_result {
    int status;   /* exit code, or 128+signal */
    char *out;    /* everything on stdout, NUL-terminated */
    char *err;    /* everything on stderr */
};

/* Runs argv (NULL-terminated) with optional stdin text, waits, captures both streams. */
int command_run(struct command_result *res, const char *const *argv, const char *stdin_text);
/* Runs a shell command line through /bin/sh -c. */
int command_run_shell(struct command_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void command_result_free(struct command_result *res);

/* The ferry binary under test ($FERRY_BIN), and the source tree ($FERRY_SOURCE_DIR). */
const char *test_ferry_bin(void);
const char *test_source_dir(void);

/* Creates a fresh directory under $TMPDIR; test_tmpdir_remove() deletes it recursively. */
char *test_tmpdir_create(const char *tag);
void test_tmpdir_remove(char *dir);

int test_write_file(const char *path, const char *content);
char *test_read_file(const char *path);
/* printf into a malloc'd string. */
char *test_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
