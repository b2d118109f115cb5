/*
 * Shared test plumbing: CUnit runner, process capture, scratch directories.
 */
#include "test_support.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int test_run_suite(const char *suite_name, const struct test_case *cases)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite)
        return 2;
    for (const struct test_case *c = cases; c->name; c++)
        if (!CU_add_test(suite, c->name, c->fn))
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0)
        return 2;
    return failed ? 1 : 0;
}

struct buffer {
    char *data;
    size_t len, cap;
};

static void buffer_append(struct buffer *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

int command_run(struct command_result *res, const char *const *argv, const char *stdin_text)
{
    int out[2], err[2], in[2];
    memset(res, 0, sizeof(*res));
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(in, O_CLOEXEC))
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    close(in[0]);
    if (stdin_text) {
        size_t n = strlen(stdin_text);
        if (write(in[1], stdin_text, n) != (ssize_t)n)
            perror("write to child stdin");
    }
    close(in[1]);

    struct buffer bo = { 0 }, be = { 0 };
    buffer_append(&bo, "", 0);
    buffer_append(&be, "", 0);
    struct pollfd fds[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            buffer_append(i == 0 ? &bo : &be, chunk, (size_t)n);
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res->out = bo.data;
    res->err = be.data;
    return 0;
}

int command_run_shell(struct command_result *res, const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        cmd = NULL;
    va_end(ap);
    if (!cmd)
        return -ENOMEM;
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    int r = command_run(res, argv, NULL);
    free(cmd);
    return r;
}

void command_result_free(struct command_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

const char *test_ferry_bin(void)
{
    const char *b = getenv("FERRY_BIN");
    return b ? b : "ferry";
}

const char *test_source_dir(void)
{
    const char *s = getenv("FERRY_SOURCE_DIR");
    return s ? s : ".";
}

char *test_tmpdir_create(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *dir = test_strf("%s/ferry-test-%s-XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

void test_tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    struct command_result r;
    /* Only ever a directory this program made with mkdtemp. */
    if (strstr(dir, "/ferry-test-") && command_run_shell(&r, "rm -rf '%s'", dir) == 0)
        command_result_free(&r);
    free(dir);
}

int test_write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(content, f);
    return fclose(f) ? -errno : 0;
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct buffer b = { 0 };
    buffer_append(&b, "", 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buffer_append(&b, chunk, n);
    fclose(f);
    return b.data;
}

char *test_strf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}
