/*
 * What every ferry test program shares: a CUnit main that returns non-zero when any
 * assertion failed, running a real command and capturing what it printed, and scratch
 * directories that are removed afterwards.
 */
#pragma once

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>

#include <stdio.h>
#include <string.h>

/* String assertions that say what they got when they fail. */
#define ASSERT_STR(actual, expected)                                                                  \
    do {                                                                                              \
        const char *a_ = (actual), *e_ = (expected);                                                  \
        int ok_ = a_ && e_ && !strcmp(a_, e_);                                                        \
        if (!ok_)                                                                                     \
            fprintf(stderr, "\n    %s:%d: got '%s', expected '%s'\n", __FILE__, __LINE__,              \
                    a_ ? a_ : "(null)", e_ ? e_ : "(null)");                                          \
        CU_ASSERT(ok_);                                                                               \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                                  \
    do {                                                                                              \
        const char *h_ = (hay), *n_ = (needle);                                                       \
        int ok_ = h_ && strstr(h_, n_);                                                               \
        if (!ok_)                                                                                     \
            fprintf(stderr, "\n    %s:%d: '%s' not found in: <<%s>>\n", __FILE__, __LINE__, n_,        \
                    h_ ? h_ : "(null)");                                                              \
        CU_ASSERT(ok_);                                                                               \
    } while (0)

#define ASSERT_NOT_CONTAINS(hay, needle)                                                              \
    do {                                                                                              \
        const char *h_ = (hay), *n_ = (needle);                                                       \
        int ok_ = h_ && !strstr(h_, n_);                                                              \
        if (!ok_)                                                                                     \
            fprintf(stderr, "\n    %s:%d: '%s' unexpectedly in: <<%s>>\n", __FILE__, __LINE__, n_,     \
                    h_ ? h_ : "(null)");                                                              \
        CU_ASSERT(ok_);                                                                               \
    } while (0)

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
