/*
 * Running qemu-img: posix_spawn with both streams captured (bounded), from worker threads
 * that take images by an atomic counter, as the scan does.
 */
#include "deep.h"

#include "cleanup.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *deep_qemu_img(void)
{
    const char *q = getenv("FERRY_QEMU_IMG");
    return q && q[0] ? q : "qemu-img";
}

char *deep_image_spec(const char *path)
{
    struct json_object *o = json_object_new_object(), *file = json_object_new_object();
    json_object_object_add(file, "driver", json_object_new_string("file"));
    json_object_object_add(file, "filename", json_object_new_string(path));
    json_object_object_add(o, "driver", json_object_new_string("qcow2"));
    json_object_object_add(o, "file", file);
    json_object_object_add(o, "backing", NULL);
    char *spec;
    if (asprintf(&spec, "json:%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
        spec = NULL;
    json_object_put(o);
    return spec;
}

static int64_t get_int(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

void deep_parse(const char *json_text, int exit_status, struct deep_result *d)
{
    d->ran = true;
    d->exit_status = exit_status;
    d->check_errors = d->corruptions = d->leaks = -1;
    struct json_object *o = json_text ? json_tokener_parse(json_text) : NULL;
    if (o && json_object_is_type(o, json_type_object)) {
        d->check_errors = get_int(o, "check-errors");
        d->corruptions = get_int(o, "corruptions");
        d->leaks = get_int(o, "leaks");
    } else if (exit_status != 0 && !d->error[0]) {
        snprintf(d->error, sizeof(d->error), "no JSON report");
    }
    json_object_put(o);
}

/* Runs argv, capturing stdout into out and stderr into err (both NUL-terminated, cut to
 * their size). Returns 0 with *status the exit code (128+signal), or -errno. */
static int run_capture(const char *const *argv, char *out, size_t out_size, char *err, size_t err_size, int *status)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        close(po[0]);
        close(po[1]);
        return -e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    if (r != 0) {
        close(po[0]);
        close(pe[0]);
        return -r;
    }
    size_t used[2] = { 0, 0 }, size[2] = { out_size, err_size };
    char *buf[2] = { out, err };
    struct pollfd fds[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
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
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            size_t room = size[i] - 1 - used[i];
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(buf[i] + used[i], chunk, take);
            used[i] += take;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    out[used[0]] = 0;
    err[used[1]] = 0;
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -errno;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

/* The first line of qemu-img's stderr, for messages. */
static void first_line(const char *text, char *dst, size_t size)
{
    size_t n = strcspn(text, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(dst, text, n);
    dst[n] = 0;
}

static void check_one(const char *path, struct deep_result *d)
{
    _cleanup_free_ char *spec = deep_image_spec(path);
    _cleanup_free_ char *out = malloc(64 << 10);
    char err[1024];
    int status;
    if (!spec || !out) {
        snprintf(d->error, sizeof(d->error), "out of memory");
        return;
    }
    const char *argv[] = { deep_qemu_img(), "check", "--output=json", spec, NULL };
    int r = run_capture(argv, out, 64 << 10, err, sizeof(err), &status);
    if (r < 0) {
        snprintf(d->error, sizeof(d->error), "cannot run %s: %s", argv[0], strerror(-r));
        return;
    }
    if (status != 0 && status != 2 && status != 3)
        first_line(err, d->error, sizeof(d->error));
    deep_parse(out, status, d);
}

struct deep_work {
    struct store_facts *f;
    size_t *todo;
    size_t n;
    atomic_size_t next;
};

static void *deep_worker(void *arg)
{
    struct deep_work *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->n)
            return NULL;
        struct image_facts *im = &w->f->images[w->todo[i]];
        char *path;
        if (asprintf(&path, "%s/%s", w->f->root, im->rel) < 0)
            continue;
        check_one(path, &im->deep);
        free(path);
    }
}

size_t deep_check_store(struct store_facts *f, unsigned jobs)
{
    struct deep_work w = { .f = f };
    w.todo = calloc(f->n_images ? f->n_images : 1, sizeof(size_t));
    if (!w.todo)
        return 0;
    char why[160];
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!im->qcow2 || im->qcow2->status != QCOW2_VALID || im->qcow2->truncated || im->read_errno)
            continue;
        const char *uuid = im->instance != FSCK_NO_INDEX ? f->instances[im->instance].uuid : NULL;
        if ((uuid && instance_guarded(f, uuid, why, sizeof(why))) || store_is_held(f, im->rel, false))
            continue; /* a running guest's image changes under the check */
        w.todo[w.n++] = i;
    }
    atomic_init(&w.next, 0);
    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 ? (unsigned)cpus : 1;
    }
    pthread_t threads[256];
    unsigned started = 0;
    for (unsigned i = 1; i < jobs && i < 256 && i < w.n; i++)
        if (pthread_create(&threads[started], NULL, deep_worker, &w) == 0)
            started++;
    deep_worker(&w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    size_t n = w.n;
    free(w.todo);
    return n;
}

int deep_repair(const char *path, char *why, size_t size)
{
    _cleanup_free_ char *spec = deep_image_spec(path);
    _cleanup_free_ char *out = malloc(64 << 10);
    char err[1024];
    int status;
    if (!spec || !out)
        return -ENOMEM;
    const char *argv[] = { deep_qemu_img(), "check", "-r", "all", "--output=json", spec, NULL };
    int r = run_capture(argv, out, 64 << 10, err, sizeof(err), &status);
    if (r < 0) {
        snprintf(why, size, "cannot run %s: %s", argv[0], strerror(-r));
        return r;
    }
    if (status != 0) {
        char line[200];
        first_line(err, line, sizeof(line));
        snprintf(why, size, "qemu-img check -r all exited %d%s%s", status, line[0] ? ": " : "", line);
        return -EIO;
    }
    return 0;
}
