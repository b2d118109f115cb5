/*
 * Gathering the facts for `ferry storage validate`, all against one deadline.
 *
 * Two sides run at once. The mount side — writing a probe file, reading the export's
 * identity through the mount, checking that the qemu and nova users can write — runs in a
 * child process, because a call into a hung mount can block in the kernel, and only a
 * process can be abandoned there. The server side goes through libnfs (nfs_client), whose
 * every call ends by the deadline. Whatever has not answered by then is a failure that says
 * so.
 */
#include "validate.h"

#include "cleanup.h"
#include "clock.h"
#include "export_spec.h"
#include "guard.h"
#include "mount_table.h"
#include "nfs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LATENCY_SAMPLES 20
#define PROBE_SIZE 4096
#define ID_MAX 64

/* ---- the mount side, in a child ---------------------------------------------------- */

enum write_step { STEP_NONE, STEP_MKDIR, STEP_CREATE, STEP_WRITE, STEP_FSYNC, STEP_READ, STEP_COMPARE, STEP_RENAME,
                  STEP_UNLINK };

static const char *write_step_name(enum write_step s)
{
    static const char *const names[] = { "none", "mkdir", "create", "write", "fsync", "read back", "compare",
                                         "rename", "unlink" };
    return names[s];
}

enum user_result { USER_OK, USER_ABSENT, USER_CHOWN_FAILED, USER_WRITE_FAILED };

struct user_probe {
    enum user_result result;
    int err;
};

struct mount_probe {
    bool finished;
    enum write_step failed_step;
    int write_err;
    unsigned write_us;
    int id_err; /* 0: id read; -ENOENT: none */
    char id[ID_MAX];
    struct user_probe qemu, nova;
};

static const char *const probe_users[] = { "libvirt-qemu", "nova" };

static int write_probe(const char *dir, const char *host, struct mount_probe *p)
{
    char area[4096], probe_dir[4096], path[4200], renamed[4300];
    unsigned char data[PROBE_SIZE], back[PROBE_SIZE];
    uint64_t t0 = clock_monotonic_us();

    snprintf(area, sizeof(area), "%s/" FERRY_AREA, dir);
    snprintf(probe_dir, sizeof(probe_dir), "%s/" FERRY_PROBE_DIR, dir);
    snprintf(path, sizeof(path), "%s/%s.%d", probe_dir, host, (int)getpid());
    snprintf(renamed, sizeof(renamed), "%s.renamed", path);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + (unsigned)getpid());

    p->failed_step = STEP_MKDIR;
    if ((mkdir(area, 0755) < 0 && errno != EEXIST) || (mkdir(probe_dir, 0755) < 0 && errno != EEXIST))
        return -errno;
    p->failed_step = STEP_CREATE;
    _cleanup_close_ int fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    p->failed_step = STEP_WRITE;
    if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
        return errno ? -errno : -EIO;
    p->failed_step = STEP_FSYNC;
    if (fsync(fd) < 0)
        return -errno;
    p->failed_step = STEP_READ;
    if (pread(fd, back, sizeof(back), 0) != (ssize_t)sizeof(back))
        return errno ? -errno : -EIO;
    p->failed_step = STEP_COMPARE;
    if (memcmp(data, back, sizeof(data)))
        return -EIO;
    p->failed_step = STEP_RENAME;
    if (rename(path, renamed) < 0)
        return -errno;
    p->failed_step = STEP_UNLINK;
    if (unlink(renamed) < 0)
        return -errno;
    p->failed_step = STEP_NONE;
    p->write_us = (unsigned)(clock_monotonic_us() - t0);
    return 0;
}

/* Does USER manage to write a file that root created and gave to it, as libvirt does with
 * guest disks (dynamic ownership)? */
static void user_probe(const char *dir, const char *host, const char *user, struct user_probe *out)
{
    struct passwd *pw = getpwnam(user);
    char path[4200];
    if (!pw) {
        out->result = USER_ABSENT;
        return;
    }
    snprintf(path, sizeof(path), "%s/" FERRY_PROBE_DIR "/%s.%d.%s", dir, host, (int)getpid(), user);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        out->result = USER_CHOWN_FAILED;
        out->err = -errno;
        return;
    }
    close(fd);
    if (chown(path, pw->pw_uid, pw->pw_gid) < 0) {
        out->result = USER_CHOWN_FAILED;
        out->err = -errno;
        unlink(path);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
            _exit(EPERM);
        int ufd = open(path, O_WRONLY | O_CLOEXEC);
        if (ufd < 0)
            _exit(errno);
        const char data[] = "ferry owner probe\n";
        if (write(ufd, data, sizeof(data)) != (ssize_t)sizeof(data) || fsync(ufd) < 0)
            _exit(errno ? errno : EIO);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        out->result = USER_WRITE_FAILED;
        out->err = -errno;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        out->result = USER_WRITE_FAILED;
        out->err = WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
    } else {
        out->result = USER_OK;
    }
    unlink(path);
}

static void read_id_through_mount(const char *dir, struct mount_probe *p)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/" FERRY_EXPORT_ID, dir);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        p->id_err = -errno;
        return;
    }
    ssize_t n = read(fd, p->id, sizeof(p->id) - 1);
    if (n < 0) {
        p->id_err = -errno;
        return;
    }
    p->id[n] = 0;
    p->id[strcspn(p->id, "\r\n \t")] = 0;
}

static void mount_probe_child(const char *dir, int out_fd)
{
    struct mount_probe p = { 0 };
    char host[256] = "host";
    gethostname(host, sizeof(host));
    p.write_err = write_probe(dir, host, &p);
    read_id_through_mount(dir, &p);
    user_probe(dir, host, probe_users[0], &p.qemu);
    user_probe(dir, host, probe_users[1], &p.nova);
    p.finished = true;
    if (write(out_fd, &p, sizeof(p)) != (ssize_t)sizeof(p))
        _exit(1);
    _exit(0);
}

static pid_t mount_probe_start(const char *dir, int *read_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -errno;
    }
    if (pid == 0) {
        /* Its own process group, so a late probe and any user probe it forked die together;
         * and none of our output streams, so a probe stuck in the kernel holds no pipe of
         * whoever reads ferry's output. */
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        close(fds[0]);
        mount_probe_child(dir, fds[1]);
    }
    setpgid(pid, pid);
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

/* Collects the child's report by the deadline; a child that is late is killed and left. */
static void mount_probe_collect(pid_t pid, int fd, uint64_t deadline_ms, struct mount_probe *p)
{
    size_t got = 0;
    memset(p, 0, sizeof(*p));
    while (got < sizeof(*p)) {
        uint64_t left = clock_remaining_ms(deadline_ms);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (left == 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t n = read(fd, (char *)p + got, sizeof(*p) - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got < sizeof(*p)) {
        memset(p, 0, sizeof(*p));
        kill(-pid, SIGKILL);
    }
    /* Reap if it is gone; one stuck in the kernel is reaped by init after we exit. */
    waitpid(pid, NULL, WNOHANG);
}

/* ---- helpers for results ----------------------------------------------------------- */

static struct check_result *add_check(struct validate_report *r, const char *name)
{
    struct check_result *c = &r->checks[r->n++];
    memset(c, 0, sizeof(*c));
    c->name = name;
    return c;
}

static const char *errstr(int r)
{
    return strerror(r < 0 ? -r : r);
}

/* ---- the server side, through libnfs ------------------------------------------------ */

struct server_facts {
    bool connected;
    char error[400];
    unsigned connect_ms;
    int id_err;
    char id[ID_MAX];
    int statvfs_err;
    struct nfs_client_statvfs vfs;
    uint32_t samples_us[LATENCY_SAMPLES];
    size_t n_samples;
};

static void server_probe(const struct export_spec *spec, uint64_t deadline_ms, struct server_facts *f)
{
    struct nfs_client *c = NULL;
    char *error = NULL;
    uint64_t t0 = clock_monotonic_ms();
    struct nfs_client_stat st;

    memset(f, 0, sizeof(*f));
    f->id_err = -ENOTCONN;
    f->statvfs_err = -ENOTCONN;
    int r = nfs_client_connect(spec, deadline_ms, &c, &error);
    if (r == 0)
        r = nfs_client_null(c, deadline_ms);
    if (r == 0)
        r = nfs_client_stat(c, "/", &st, deadline_ms);
    f->connect_ms = (unsigned)(clock_monotonic_ms() - t0);
    if (r < 0) {
        snprintf(f->error, sizeof(f->error), "%s", error ? error : c ? nfs_client_last_error(c) : errstr(r));
        free(error);
        nfs_client_free(c);
        return;
    }
    f->connected = true;

    size_t len = 0;
    f->id_err = nfs_client_read_file(c, "/" FERRY_EXPORT_ID, f->id, sizeof(f->id) - 1, &len, deadline_ms);
    if (f->id_err == 0) {
        f->id[len] = 0;
        f->id[strcspn(f->id, "\r\n \t")] = 0;
    }
    f->statvfs_err = nfs_client_statvfs(c, "/", &f->vfs, deadline_ms);
    for (size_t i = 0; i < LATENCY_SAMPLES && clock_remaining_ms(deadline_ms) > 0; i++) {
        uint64_t s = clock_monotonic_us();
        if (nfs_client_stat(c, "/", &st, deadline_ms) < 0)
            break;
        f->samples_us[f->n_samples++] = (uint32_t)(clock_monotonic_us() - s);
    }
    nfs_client_free(c);
}

/* ---- the checks --------------------------------------------------------------------- */

static void check_identity(struct check_result *c, const char *expected, const struct server_facts *s,
                           const struct mount_probe *m, bool mounted)
{
    const char *want = expected && *expected ? expected : s->id_err == 0 ? s->id : NULL;
    if (!mounted) {
        check_result_set(c, c->name, CHECK_SKIP, "nothing mounted");
    } else if (!m->finished) {
        check_result_set(c, c->name, CHECK_FAIL, "reading %s through the mount did not finish before the deadline", FERRY_EXPORT_ID);
    } else if (!want && m->id_err == -ENOENT) {
        check_result_set(c, c->name, CHECK_WARN, "the export has no identity yet: run 'ferry storage init' once, then set "
                                 "[storage] export_id on every host");
    } else if (m->id_err < 0) {
        check_result_set(c, c->name, CHECK_FAIL, "the mounted export has no readable identity (%s: %s), expected %s",
                  FERRY_EXPORT_ID, errstr(m->id_err), want ? want : "one");
    } else if (!want) {
        check_result_set(c, c->name, CHECK_WARN, "the mount shows identity %s, which nothing confirms: set [storage] export_id",
                  m->id);
    } else if (strcmp(m->id, want) != 0) {
        check_result_set(c, c->name, CHECK_FAIL, "the mount shows export identity %s, but %s expects %s: a different export is "
                                 "mounted here",
                  m->id, expected && *expected ? "[storage] export_id" : "the configured export", want);
    } else if (!expected || !*expected) {
        check_result_set(c, c->name, CHECK_WARN, "%s, the same as the configured export; set [storage] export_id = %s on every host "
                                 "so that a wrong export cannot pass",
                  m->id, m->id);
    } else {
        check_result_set(c, c->name, CHECK_PASS, "%s, as expected", m->id);
    }
}

static void check_write(struct check_result *c, const struct mount_probe *m, bool mounted)
{
    if (!mounted)
        check_result_set(c, c->name, CHECK_SKIP, "nothing mounted");
    else if (!m->finished)
        check_result_set(c, c->name, CHECK_FAIL, "the write probe through the mount did not finish before the deadline (hung mount?)");
    else if (m->write_err < 0)
        check_result_set(c, c->name, CHECK_FAIL, "write probe failed at %s: %s", write_step_name(m->failed_step),
                  errstr(m->write_err));
    else
        check_result_set(c, c->name, CHECK_PASS, "create, write, fsync, read back, rename, unlink in %.1f ms", m->write_us / 1000.0);
}

static void describe_user(char *buf, size_t size, const char *user, const struct user_probe *u)
{
    switch (u->result) {
    case USER_OK:
        snprintf(buf, size, "%s can write its files", user);
        break;
    case USER_ABSENT:
        snprintf(buf, size, "no user %s here", user);
        break;
    case USER_CHOWN_FAILED:
        snprintf(buf, size, "giving a file to %s fails (%s): root squashed on the server?", user, errstr(u->err));
        break;
    case USER_WRITE_FAILED:
        snprintf(buf, size, "%s cannot write a file it owns (%s)", user, errstr(u->err));
        break;
    }
}

static void check_owners(struct check_result *c, const struct mount_probe *m, bool mounted)
{
    char a[200], b[200];
    if (!mounted) {
        check_result_set(c, c->name, CHECK_SKIP, "nothing mounted");
        return;
    }
    if (!m->finished) {
        check_result_set(c, c->name, CHECK_FAIL, "the owner probe through the mount did not finish before the deadline");
        return;
    }
    describe_user(a, sizeof(a), probe_users[0], &m->qemu);
    describe_user(b, sizeof(b), probe_users[1], &m->nova);
    bool failed = (m->qemu.result != USER_OK && m->qemu.result != USER_ABSENT) ||
                  (m->nova.result != USER_OK && m->nova.result != USER_ABSENT);
    if (failed)
        check_result_set(c, c->name, CHECK_FAIL, "%s; %s", a, b);
    else if (m->qemu.result == USER_ABSENT)
        check_result_set(c, c->name, CHECK_WARN, "%s (is libvirt installed?); %s", a, b);
    else
        check_result_set(c, c->name, CHECK_PASS, "root is not squashed; %s; %s", a, b);
}

static void check_options(struct check_result *c, const struct mount_entry *e, bool mounted)
{
    char vers[16];
    if (!mounted) {
        check_result_set(c, c->name, CHECK_SKIP, "nothing mounted");
        return;
    }
    enum mount_kind kind = mount_entry_kind(e);
    if (kind == MOUNT_KIND_FERRY_FUSE) {
        check_result_set(c, c->name, CHECK_PASS, "ferry's FUSE bridge over libnfs NFSv3 (waits for the server, as a hard mount)");
    } else if (kind != MOUNT_KIND_KERNEL_NFS) {
        check_result_set(c, c->name, CHECK_FAIL, "%s is not an NFS mount", e->fstype);
    } else if (!mount_entry_is_hard(e)) {
        check_result_set(c, c->name, CHECK_FAIL, "soft mount: QEMU gets I/O errors when the server is slow; remount with hard");
    } else {
        const char *v = mount_entry_nfs_version(e, vers, sizeof(vers));
        check_result_set(c, c->name, CHECK_PASS, "hard, NFS version %s", v ? v : "unknown");
    }
}

/* The watch daemon writes RUNTIME_DIR/watch.json after every renewal. */
static void check_lease(struct check_result *c, const struct ferry_config *cfg)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/watch.json", cfg->storage.runtime_dir);
    struct json_object *status = json_object_from_file(path);
    struct json_object *v;
    if (!status) {
        check_result_set(c, c->name, CHECK_WARN, "no lease: 'ferry storage watch' is not running on this host, so it cannot fence "
                                 "itself if it loses the export");
        return;
    }
    int64_t pid = json_object_object_get_ex(status, "pid", &v) ? json_object_get_int64(v) : 0;
    int64_t last = json_object_object_get_ex(status, "last_renew_ok_ms", &v) ? json_object_get_int64(v) : 0;
    json_object_put(status);
    if (pid <= 0 || kill((pid_t)pid, 0) < 0) {
        check_result_set(c, c->name, CHECK_WARN, "no lease: the watch daemon (pid %lld) is not running", (long long)pid);
        return;
    }
    uint64_t now = clock_monotonic_ms();
    uint64_t age = last > 0 && (uint64_t)last <= now ? now - (uint64_t)last : UINT64_MAX;
    if (age == UINT64_MAX)
        check_result_set(c, c->name, CHECK_FAIL, "the watch daemon (pid %lld) has not renewed the lease yet", (long long)pid);
    else if (age >= cfg->lease.fence_after_ms)
        check_result_set(c, c->name, CHECK_FAIL, "last renewal %.1f s ago, beyond fence_after", age / 1000.0);
    else if (age > 2 * (uint64_t)cfg->lease.renew_interval_ms)
        check_result_set(c, c->name, CHECK_WARN, "last renewal %.1f s ago (renew interval %.1f s)", age / 1000.0,
                  cfg->lease.renew_interval_ms / 1000.0);
    else
        check_result_set(c, c->name, CHECK_PASS, "renewed %.1f s ago by the watch daemon (pid %lld)", age / 1000.0, (long long)pid);
}

static void check_fenced(struct check_result *c, const struct ferry_config *cfg)
{
    char path[4200], since[128] = "";
    snprintf(path, sizeof(path), "%s/fenced", cfg->storage.state_dir);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f) {
        check_result_set(c, c->name, CHECK_PASS, "not fenced");
        return;
    }
    if (fgets(since, sizeof(since), f))
        since[strcspn(since, "\n")] = 0;
    check_result_set(c, c->name, CHECK_FAIL, "this host is fenced (%s); once everything else is healthy: ferry storage unfence",
              since[0] ? since : "no reason recorded");
}

/* ---- the whole run ------------------------------------------------------------------- */

int storage_validate(const struct ferry_config *cfg, const char *dir, struct validate_report *report, char **error)
{
    struct export_spec configured, mounted_spec;
    bool have_configured = false, have_mounted_spec = false;
    struct mount_entry entry = { 0 };
    struct mount_probe mprobe = { 0 };
    struct server_facts server;
    uint64_t start = clock_monotonic_ms();
    uint64_t deadline = start + cfg->storage.probe_timeout_ms;
    char *perr = NULL;

    *error = NULL;
    memset(report, 0, sizeof(*report));
    if (!dir)
        dir = cfg->storage.mount_point;

    if (cfg->storage.export_spec[0]) {
        if (export_spec_parse(cfg->storage.export_spec, &configured, &perr) < 0) {
            if (asprintf(error, "[storage] export: %s", perr ? perr : "invalid") < 0)
                *error = NULL;
            free(perr);
            return -EINVAL;
        }
        have_configured = true;
    }

    /* mounted: from the mount table only. This process never touches the mount itself: a
     * stat of a hung mount point blocks in the kernel, deaf even to SIGKILL. */
    struct check_result *c = add_check(report, CHECK_MOUNTED);
    int r = mount_table_find(dir, &entry);
    bool mounted = r == 0;
    struct stat st;
    if (r == -ENOENT && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
        if (asprintf(error, "%s is not a directory: check --at or [storage] mount_point", dir) < 0)
            *error = NULL;
        return -ENOTDIR;
    }
    if (r == -ENOENT) {
        struct guard_state g;
        bool guarded = guard_read(dir, &g) == 0 && g.mode_zero && (g.immutable || !g.immutable_supported);
        check_result_set(c, c->name, CHECK_FAIL, "nothing is mounted on %s (%s); run 'ferry storage mount'", dir,
                  guarded ? "the directory is guarded" : "and the directory is NOT guarded");
    } else if (r < 0) {
        if (asprintf(error, "cannot read the mount table: %s", errstr(r)) < 0)
            *error = NULL;
        return r;
    } else {
        check_result_set(c, c->name, CHECK_PASS, "%s (%s) on %s", entry.source, entry.fstype, dir);
        have_mounted_spec = export_spec_parse(entry.source, &mounted_spec, &perr) == 0;
        free(perr);
        perr = NULL;
    }

    /* The mount side starts now and runs while the server is probed. */
    int probe_fd = -1;
    pid_t probe_pid = mounted ? mount_probe_start(dir, &probe_fd) : -1;

    /* source */
    c = add_check(report, CHECK_SOURCE);
    char want[EXPORT_SPEC_FORMAT_SIZE] = "", got[EXPORT_SPEC_FORMAT_SIZE] = "";
    if (have_configured)
        export_spec_format(&configured, want, sizeof(want));
    if (!mounted)
        check_result_set(c, c->name, CHECK_SKIP, "nothing mounted");
    else if (!have_configured)
        check_result_set(c, c->name, CHECK_WARN, "%s is mounted, but no [storage] export is configured to compare it with",
                  entry.source);
    else if (!have_mounted_spec || !export_spec_equal(&mounted_spec, &configured))
        check_result_set(c, c->name, CHECK_FAIL, "%s is mounted on %s, but the configured export is %s", entry.source, dir, want);
    else
        check_result_set(c, c->name, CHECK_PASS, "%s, as configured", entry.source);

    /* The server side: the configured export, else the one that is mounted. */
    const struct export_spec *target = have_configured ? &configured : have_mounted_spec ? &mounted_spec : NULL;
    if (target) {
        server_probe(target, deadline, &server);
        export_spec_format(target, got, sizeof(got));
    } else {
        memset(&server, 0, sizeof(server));
        server.id_err = server.statvfs_err = -ENOTCONN;
    }

    c = add_check(report, CHECK_REACHABLE);
    if (!target)
        check_result_set(c, c->name, CHECK_FAIL, "no export to probe: set [storage] export in ferry.conf");
    else if (!server.connected)
        check_result_set(c, c->name, CHECK_FAIL, "%s", server.error);
    else
        check_result_set(c, c->name, CHECK_PASS, "%s answered MOUNT, NULL and GETATTR through libnfs in %u ms", got,
                  server.connect_ms);

    if (probe_pid > 0)
        mount_probe_collect(probe_pid, probe_fd, deadline, &mprobe);

    check_identity(add_check(report, CHECK_IDENTITY), cfg->storage.export_id, &server, &mprobe, mounted);
    check_write(add_check(report, CHECK_WRITE), &mprobe, mounted);
    check_owners(add_check(report, CHECK_OWNERS), &mprobe, mounted);

    c = add_check(report, CHECK_SPACE);
    struct check_result *ci = add_check(report, CHECK_INODES);
    if (server.statvfs_err < 0) {
        check_result_set(c, c->name, CHECK_FAIL, "no answer about space: %s", server.connected ? errstr(server.statvfs_err) :
                                                                                 "export unreachable");
        check_result_set(ci, ci->name, CHECK_FAIL, "no answer about inodes");
    } else {
        check_space(c, server.vfs.total_bytes, server.vfs.avail_bytes, cfg->storage.min_free_percent);
        check_inodes(ci, server.vfs.total_inodes, server.vfs.free_inodes, cfg->storage.min_free_inodes_percent);
    }
    check_latency(add_check(report, CHECK_LATENCY), server.samples_us, server.n_samples,
                  cfg->storage.latency_warn_ms, cfg->storage.latency_fail_ms);
    check_options(add_check(report, CHECK_OPTIONS), &entry, mounted);
    check_lease(add_check(report, CHECK_LEASE), cfg);
    check_fenced(add_check(report, CHECK_FENCED), cfg);

    if (mounted)
        mount_entry_clear(&entry);
    report->verdict = verdict_aggregate(report->checks, report->n);
    report->elapsed_ms = clock_monotonic_ms() - start;
    return 0;
}
