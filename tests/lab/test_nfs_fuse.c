/*
 * The fuse mount driver against the lab's real nfs-ganesha: the bridge (storage/nfs_fuse.c)
 * is started inside hostA and hostB through nfs_fuse_tool, both mount the same export, and
 * what one host writes the other reads byte for byte; file operations, ownership, O_DIRECT,
 * QEMU with cache=none, sparse files, a server restart under I/O (hard mount), an outage that
 * blocked I/O waits through at almost no CPU cost, creates and removes whose answer was lost,
 * and every way of stopping or failing to start leave the hosts clean.
 */
#include "lab_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *run_name; /* unique per run: names the mount points and the directory on the export */
static char *scratch;  /* local directory for logs, pid files and reference data */
static char *export_url, *export_name;

struct bridge_host {
    const char *host;
    char *mountpoint;
    char *log;
    char *pidfile;
    pid_t pid;
};
static struct bridge_host host_a = { .host = "hostA" }, host_b = { .host = "hostB" };
static struct bridge_host host_a_failing = { .host = "hostA" }; /* for starts that must fail */

static const char *tool(void)
{
    const char *t = getenv("NFS_FUSE_TOOL");
    return t ? t : "nfs_fuse_tool";
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The working directory of this run on HOST's mount. */
static char *work_dir(const struct bridge_host *h)
{
    return test_strf("%s/%s", h->mountpoint, run_name);
}

/* Runs a shell command in HOST, logs it when it fails, returns its exit status. */
static int host_sh(const struct bridge_host *h, char **out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int host_sh(const struct bridge_host *h, char **out, const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        cmd = NULL;
    va_end(ap);
    struct command_result r;
    if (!cmd || lab_exec(&r, h->host, "%s", cmd) < 0) {
        free(cmd);
        return -1;
    }
    if (r.status != 0)
        lab_log("%s: `%s` exited %d: %s%s", h->host, cmd, r.status, r.out, r.err);
    int status = r.status;
    if (out)
        *out = strdup(r.out);
    command_result_free(&r);
    free(cmd);
    return status;
}

static int bridge_start(struct bridge_host *h, const char *mountpoint, unsigned timeout_ms, struct command_result *r)
{
    return lab_exec(r, h->host, "'%s' start '%s' '%s' '%s' '%s' '%s' %u", tool(), export_url, mountpoint,
                    export_name, h->log, h->pidfile, timeout_ms);
}

static pid_t pidfile_pid(const char *path)
{
    char *text = test_read_file(path);
    pid_t pid = text ? (pid_t)atoi(text) : 0;
    free(text);
    return pid;
}

/* Alive and not a zombie (the lab's bridges are reparented to a reaper that may be slow). */
static bool process_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    char *path = test_strf("/proc/%d/stat", (int)pid);
    char *stat = test_read_file(path);
    free(path);
    bool alive = false;
    if (stat) {
        char *s = strrchr(stat, ')');
        alive = s && s[1] && s[2] != 'Z' && s[2] != 'X';
        free(stat);
    }
    return alive;
}

/* Any process whose command line names this mount point (they are unique to this run). */
static int processes_naming(const char *mountpoint)
{
    int found = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
            continue;
        char *path = test_strf("/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        free(path);
        if (fd < 0)
            continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (!buf[i])
                buf[i] = ' ';
        if (n > 0) {
            buf[n] = 0;
            if (strstr(buf, mountpoint) && process_alive(atoi(e->d_name)))
                found++;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* "FSTYPE SOURCE" of the topmost mount at MOUNTPOINT in HOST, "" when none. */
static char *mount_at(const struct bridge_host *h, const char *mountpoint)
{
    char *out = NULL;
    host_sh(h, &out,
            "awk -v m='%s' '$5 == m { for (i = 7; i <= NF; i++) if ($i == \"-\") { line = $(i+1) \" \" $(i+2); break } }"
            " END { print line }' /proc/self/mountinfo",
            mountpoint);
    if (out)
        out[strcspn(out, "\n")] = 0;
    return out ? out : strdup("?");
}

static bool wait_gone(pid_t pid, int timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        if (!process_alive(pid))
            return true;
        usleep(50000);
    }
    return !process_alive(pid);
}

/* utime + stime of PID, in seconds; -1 if it cannot be read. */
static double process_cpu_seconds(pid_t pid)
{
    char *path = test_strf("/proc/%d/stat", (int)pid);
    char *stat = test_read_file(path);
    free(path);
    double seconds = -1;
    char *end = stat ? strrchr(stat, ')') : NULL;
    unsigned long utime, stime;
    /* After the command: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (end && sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        seconds = (double)(utime + stime) / sysconf(_SC_CLK_TCK);
    free(stat);
    return seconds;
}

/* How many file descriptors PID has open; -1 if it cannot be read. */
static int process_fd_count(pid_t pid)
{
    char *path = test_strf("/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    free(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* How many times NEEDLE occurs in the file at PATH. */
static int count_in_file(const char *path, const char *needle)
{
    char *text = test_read_file(path);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

/* Starts a shell command in HOST in the background, its output going to OUT_PATH. */
static void host_background(const struct bridge_host *h, const char *out_path, const char *command)
{
    struct command_result r;
    CU_ASSERT_EQUAL(command_run_shell(&r, "'%s/scripts/lab' exec %s sh -c '%s' > '%s' 2>&1 &", test_source_dir(), h->host,
                                      command, out_path),
                    0);
    command_result_free(&r);
}

/* What the background command wrote to OUT_PATH once it contains NEEDLE (or after TIMEOUT_S). */
static char *wait_output(const char *out_path, const char *needle, int timeout_s)
{
    char *out = NULL;
    for (int i = 0; i < timeout_s * 10; i++) {
        free(out);
        out = test_read_file(out_path);
        if (out && strstr(out, needle))
            break;
        usleep(100000);
    }
    return out;
}

/* lab nfs stop|start, which must work. */
static void lab_nfs(const char *verb)
{
    struct command_result r;
    lab_run(&r, "nfs %s", verb);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

/* ---------------------------------------------------------------------------------------- */

static void check_bridge_up(struct bridge_host *h, struct command_result *r)
{
    lab_log("%s: start -> exit %d, stdout '%s' stderr '%s'", h->host, r->status, r->out, r->err);
    CU_ASSERT_EQUAL(r->status, 0);
    h->pid = (pid_t)atoi(r->out);
    CU_ASSERT(h->pid > 0);
    CU_ASSERT_EQUAL(pidfile_pid(h->pidfile), h->pid);
    CU_ASSERT(process_alive(h->pid));
    char *mount = mount_at(h, h->mountpoint);
    char *want = test_strf("fuse.ferry %s", export_name);
    lab_log("%s: mountinfo at %s: '%s'", h->host, h->mountpoint, mount);
    CU_ASSERT_STRING_EQUAL(mount, want);
    free(want);
    free(mount);
}

static void test_start_mounts_on_both_hosts(void)
{
    struct bridge_host *hosts[] = { &host_a, &host_b };
    for (size_t i = 0; i < 2; i++) {
        struct bridge_host *h = hosts[i];
        struct command_result r;
        CU_ASSERT_EQUAL_FATAL(host_sh(h, NULL, "mkdir -p '%s'", h->mountpoint), 0);
        double t0 = now_s();
        CU_ASSERT_EQUAL_FATAL(bridge_start(h, h->mountpoint, 10000, &r), 0);
        lab_log("%s: bridge started in %.0f ms", h->host, (now_s() - t0) * 1000);
        check_bridge_up(h, &r);
        command_result_free(&r);
    }
    /* The run's directory, on the export only: never on a bare mount point. */
    char *mount = mount_at(&host_a, host_a.mountpoint);
    char *dir = work_dir(&host_a);
    if (!strncmp(mount, "fuse.ferry ", 11))
        CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "mkdir '%s' && chmod 755 '%s'", dir, dir), 0);
    free(dir);
    free(mount);
}

static void test_bytes_match_across_hosts_and_libnfs(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *base = strdup(export_url);
    *strchr(base, '?') = 0;
    char *sum_a = NULL, *sum_b = NULL, *sum_nfs = NULL, *text = NULL;

    CU_ASSERT_EQUAL(host_sh(&host_a, NULL,
                            "head -c 3000000 /dev/urandom > '%s/ref.bin' && cp '%s/ref.bin' '%s/data.bin' && "
                            "echo 'written on hostA' > '%s/hello.txt'",
                            scratch, scratch, a, a),
                    0);
    host_sh(&host_a, &sum_a, "md5sum < '%s/ref.bin'", scratch);
    host_sh(&host_b, &sum_b, "md5sum < '%s/data.bin'", b);
    host_sh(&host_b, &sum_nfs, "nfs-cat '%s/%s/data.bin?version=3' | md5sum", base, run_name);
    host_sh(&host_b, &text, "cat '%s/hello.txt'", b);
    lab_log("md5 written %s read on hostB %s through libnfs %s", sum_a, sum_b, sum_nfs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sum_a);
    CU_ASSERT_STRING_EQUAL(sum_a, sum_b ? sum_b : "");
    CU_ASSERT_STRING_EQUAL(sum_a, sum_nfs ? sum_nfs : "");
    CU_ASSERT_STRING_EQUAL(text ? text : "", "written on hostA\n");

    /* And the other way, overwriting in place: hostA sees hostB's bytes once it opens again. */
    CU_ASSERT_EQUAL(host_sh(&host_b, NULL, "printf 'hostB was here' | dd of='%s/data.bin' conv=notrunc status=none", b),
                    0);
    free(text);
    text = NULL;
    host_sh(&host_a, &text, "head -c 14 '%s/data.bin'", a);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "hostB was here");
    free(text);
    free(sum_a);
    free(sum_b);
    free(sum_nfs);
    free(base);
    free(a);
    free(b);
}

/* hostB has just looked at a file, so it holds the file's size for a second; hostA appends to
 * it; hostB reads the new part at once, with a new buffered open (close-to-open) and with
 * O_DIRECT (QEMU cache=none, e.g. the destination of a live migration). */
static void test_growth_is_seen_at_once(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    const char *readers[] = { "status=none", "iflag=direct status=none" };
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "head -c 1048576 /dev/urandom > '%s/grow'", a), 0);
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        host_sh(&host_b, NULL, "stat -c %%s '%s/grow'", b);
        host_sh(&host_a, NULL, "dd if=/dev/urandom of='%s/grow' bs=1M count=1 seek=%d oflag=direct conv=notrunc status=none",
                a, i + 1);
        host_sh(&host_b, &out, "dd if='%s/grow' bs=1M skip=%d count=1 %s | wc -c", b, i + 1, readers[i]);
        lab_log("hostB read %s bytes of what hostA appended (%s)", out ? strtok(out, "\n") : "?", readers[i]);
        CU_ASSERT_EQUAL(out ? atoi(out) : -1, 1048576);
        free(out);
    }
    free(a);
    free(b);
}

static void test_file_operations(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *out = NULL;

    CU_ASSERT_EQUAL(host_sh(&host_a, NULL,
                            "cd '%s' && mkdir ops && echo content > ops/f && mv ops/f ops/g && ln -s g ops/link && "
                            "chmod 640 ops/g && chown 1234:2345 ops/g && truncate -s 12345 ops/g && "
                            "mkdir ops/gone && rmdir ops/gone && echo x > ops/tmp && rm ops/tmp && "
                            "ln ops/g ops/hard",
                            a),
                    0);
    host_sh(&host_a, &out, "cd '%s/ops' && readlink link && cat link | head -c 7 && echo && ls | tr '\\n' ' '", a);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "g\ncontent\ng hard link ");
    free(out);

    /* Seen the same way from the other host. */
    host_sh(&host_b, &out, "cd '%s/ops' && stat -c '%%s %%a %%u:%%g %%h' g && readlink link && ls | tr '\\n' ' '", b);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "12345 640 1234:2345 2\ng\ng hard link ");
    free(out);

    /* RENAME_NOREPLACE: NFSv3 cannot do it atomically, so the bridge refuses it (EINVAL) and
     * nothing moves; mv -n falls back to its own check, and the target survives. */
    host_sh(&host_a, &out,
            "cd '%s/ops' && echo one > r1 && echo two > r2 && "
            "perl -e 'require \"syscall.ph\"; my ($f, $t) = @ARGV; "
            "print syscall(&SYS_renameat2, -100, $f, -100, $t, 1) < 0 ? $! + 0 : 0, \"\\n\"' r1 r3; "
            "mv -n r1 r2; cat r2; test -e r1 && ! test -e r3 && echo nothing-moved",
            a);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "22\ntwo\nnothing-moved\n");
    free(out);

    /* utimens, explicit and "now". */
    host_sh(&host_a, &out, "cd '%s/ops' && touch -d @1577934245 g && stat -c %%Y g", a);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "1577934245\n");
    free(out);
    host_sh(&host_a, &out, "cd '%s/ops' && touch g && echo $(( $(date +%%s) - $(stat -c %%Y g) ))", a);
    long age = out ? atol(out) : -1000;
    CU_ASSERT(age >= -5 && age <= 5);
    free(out);

    /* statfs: the export's size, as the server reports it. */
    host_sh(&host_a, &out, "stat -f -c '%%b %%f %%a %%S' '%s'", a);
    unsigned long long blocks = 0, bfree = 0, bavail = 0, bsize = 0;
    CU_ASSERT_EQUAL(sscanf(out ? out : "", "%llu %llu %llu %llu", &blocks, &bfree, &bavail, &bsize), 4);
    lab_log("statfs: %llu blocks of %llu bytes, %llu free, %llu available", blocks, bsize, bfree, bavail);
    CU_ASSERT(blocks > 0 && bsize > 0 && bfree <= blocks && bavail <= bfree);
    free(out);

    /* The removals are seen by the other host. */
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "rm '%s/ops/hard'", a), 0);
    CU_ASSERT_NOT_EQUAL(host_sh(&host_b, NULL, "test -e '%s/ops/hard'", b), 0);
    free(a);
    free(b);
}

static void test_new_files_belong_to_the_caller(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *out = NULL, *group = NULL;
    host_sh(&host_a, &group, "id -gn libvirt-qemu");
    CU_ASSERT_PTR_NOT_NULL_FATAL(group);
    group[strcspn(group, "\n")] = 0;

    CU_ASSERT_EQUAL(host_sh(&host_a, NULL,
                            "cd '%s' && mkdir -m 1777 shared && runuser -u libvirt-qemu -- touch shared/qemu.txt && "
                            "runuser -u libvirt-qemu -- mkdir shared/qemu.d && "
                            "runuser -u libvirt-qemu -- ln -s qemu.txt shared/qemu.link",
                            a),
                    0);
    char *want = test_strf("libvirt-qemu:%s libvirt-qemu:%s libvirt-qemu:%s\n", group, group, group);
    host_sh(&host_b, &out, "cd '%s/shared' && stat -c '%%U:%%G' qemu.txt qemu.d | tr '\\n' ' '; stat -c '%%U:%%G' qemu.link",
            b);
    lab_log("owners seen on hostB: %s", out);
    CU_ASSERT_STRING_EQUAL(out ? out : "", want);
    free(out);
    /* The kernel checks permissions: libvirt-qemu cannot write into root's 755 directory. */
    CU_ASSERT_NOT_EQUAL(host_sh(&host_a, NULL, "runuser -u libvirt-qemu -- touch '%s/denied'", a), 0);
    free(want);
    free(group);
    free(a);
    free(b);
}

static void test_o_direct(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL,
                            "head -c 8388608 /dev/urandom > '%s/direct.ref' && "
                            "dd if='%s/direct.ref' of='%s/direct.bin' bs=1M oflag=direct status=none && "
                            "dd if='%s/direct.bin' of='%s/direct.back' bs=1M iflag=direct status=none && "
                            "cmp '%s/direct.ref' '%s/direct.back' && "
                            "dd if='%s/direct.bin' of='%s/direct.back4k' bs=4k iflag=direct status=none && "
                            "cmp '%s/direct.ref' '%s/direct.back4k'",
                            scratch, scratch, a, a, scratch, scratch, scratch, a, scratch, scratch, scratch),
                    0);
    CU_ASSERT_EQUAL(host_sh(&host_b, NULL, "dd if='%s/direct.bin' bs=1M iflag=direct status=none | cmp - '%s/direct.ref'",
                            b, scratch),
                    0);
    free(a);
    free(b);
}

static void test_64mib_round_trip(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *out = NULL;
    double t0 = now_s();
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL,
                            "head -c 67108864 /dev/urandom > '%s/big.ref' && "
                            "dd if='%s/big.ref' of='%s/big.bin' bs=1M conv=fsync status=none",
                            scratch, scratch, a),
                    0);
    double t1 = now_s();
    CU_ASSERT_EQUAL(host_sh(&host_b, NULL, "dd if='%s/big.bin' bs=1M iflag=direct status=none | cmp - '%s/big.ref'", b,
                            scratch),
                    0);
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "cmp '%s/big.bin' '%s/big.ref'", a, scratch), 0);
    lab_log("64 MiB: written on hostA (with fsync) and compared from hostB in %.2f s + %.2f s", t1 - t0, now_s() - t1);
    host_sh(&host_a, &out, "stat -c %%s '%s/big.bin'", a);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "67108864\n");
    free(out);
    host_sh(&host_a, NULL, "rm -f '%s/big.bin' '%s/big.ref'", a, scratch);
    free(a);
    free(b);
}

/* QEMU with cache=none opens with O_DIRECT; write a pattern on hostA, read it on both. */
static void test_qemu_cache_none(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *out = NULL;
    CU_ASSERT_EQUAL(host_sh(&host_a, &out,
                            "qemu-img create -q -f qcow2 '%s/disk.qcow2' 64M && "
                            "qemu-io -t none -f qcow2 -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 32M 64k' '%s/disk.qcow2' && "
                            "qemu-io -t none -f qcow2 -c 'read -P 0xab 0 1M' -c 'read -P 0 1M 1M' '%s/disk.qcow2'",
                            a, a, a),
                    0);
    CU_ASSERT_PTR_NULL(strstr(out ? out : "", "failed"));
    free(out);
    out = NULL;
    CU_ASSERT_EQUAL(host_sh(&host_b, &out,
                            "qemu-io -t none -f qcow2 -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 32M 64k' '%s/disk.qcow2' && "
                            "qemu-img check -q '%s/disk.qcow2'",
                            b, b),
                    0);
    CU_ASSERT_PTR_NULL(strstr(out ? out : "", "failed"));
    free(out);
    free(a);
    free(b);
}

static void test_sparse_file_reads_zeros(void)
{
    char *a = work_dir(&host_a);
    char *out = NULL;
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "truncate -s 1G '%s/sparse'", a), 0);
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "dd if='%s/sparse' bs=1M skip=512 count=1 status=none | cmp -n 1048576 - /dev/zero",
                            a),
                    0);
    host_sh(&host_a, &out, "stat -c '%%s %%b' '%s/sparse'", a);
    unsigned long long size = 0, blocks = ~0ULL;
    sscanf(out ? out : "", "%llu %llu", &size, &blocks);
    lab_log("sparse: size %llu, %llu blocks allocated", size, blocks);
    CU_ASSERT_EQUAL(size, 1ULL << 30);
    CU_ASSERT(blocks < 2048); /* still a hole: under 1 MiB allocated */
    free(out);
    free(a);
}

/* A hard mount: I/O blocks while the server is away and goes on when it is back, no EIO. A
 * writer loops on hostA (O_DIRECT writes, COMMIT, compare) until told to stop, across a stop
 * and start of nfs-ganesha. */
static void test_io_survives_server_restart(void)
{
    char *a = work_dir(&host_a);
    char *done_path = test_strf("%s/restart.out", scratch), *stop_path = test_strf("%s/restart.stop", scratch);
    struct command_result r;
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "head -c 4194304 /dev/urandom > '%s/restart.ref'", scratch), 0);
    CU_ASSERT_EQUAL(command_run_shell(&r,
                                      "'%s/scripts/lab' exec hostA sh -c 'n=0; while [ ! -e %s ] && [ $n -lt 3000 ]; do "
                                      "n=$((n+1)); dd if=%s/restart.ref of=%s/restart.bin bs=1M oflag=direct conv=fsync "
                                      "status=none || echo DD-FAILED; cmp %s/restart.bin %s/restart.ref || echo CMP-FAILED; "
                                      "done; echo LOOP-DONE' > '%s' 2>&1 &",
                                      test_source_dir(), stop_path, scratch, a, a, scratch, done_path),
                    0);
    command_result_free(&r);
    sleep(1);
    lab_nfs("stop");
    sleep(3);
    lab_nfs("start");
    sleep(1);
    char *out = test_read_file(done_path);
    CU_ASSERT(!out || !strstr(out, "LOOP-DONE")); /* the writer was busy the whole time */
    free(out);
    out = NULL;
    test_write_file(stop_path, "");
    for (int i = 0; i < 600; i++) {
        free(out);
        out = test_read_file(done_path);
        if (out && strstr(out, "LOOP-DONE"))
            break;
        usleep(100000);
    }
    lab_log("I/O across the server restart: %s", out ? out : "(nothing)");
    CU_ASSERT_STRING_EQUAL(out ? out : "", "LOOP-DONE\n");
    free(out);
    free(done_path);
    free(stop_path);
    free(a);
}

/* Waits up to TIMEOUT_S for the background writer that printed to OUT_PATH: it must have
 * printed WRITTEN, and NAME (in hostA's work directory) must read on hostB as the reference
 * NAME.ref in the scratch directory. Both files are removed afterwards. */
static void check_written_through(const char *what, const char *out_path, int timeout_s, const char *name)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    char *out = wait_output(out_path, "\n", timeout_s);
    lab_log("%s: after the server came back the writer printed '%s'", what, out ? out : "");
    CU_ASSERT_STRING_EQUAL(out ? out : "", "WRITTEN\n");
    CU_ASSERT_EQUAL(host_sh(&host_b, NULL, "dd if='%s/%s.bin' bs=1M iflag=direct status=none | cmp - '%s/%s.ref'", b,
                            name, scratch, name),
                    0);
    host_sh(&host_a, NULL, "rm -f '%s/%s.bin' '%s/%s.ref'", a, name, scratch, name);
    free(out);
    free(a);
    free(b);
}

/* While nfs-ganesha is stopped, its host still answers: every connect is refused at once.
 * libnfs's own endless reconnect spun there at a full core (~2,400 connects a second); the
 * bridge waits with a backoff, and keeps no socket of the lost connection. A listing, a stat and an O_DIRECT write blocked on the mount must cost the
 * bridge under 0.3 s of CPU over 4 s, the outage is logged once when it starts and once when
 * it ends, and both complete when the server is back, with the data intact. */
static void test_outage_waits_without_spinning(void)
{
    struct bridge_host *h = &host_a;
    char *a = work_dir(h);
    char *out_path = test_strf("%s/outage.out", scratch);
    CU_ASSERT_EQUAL(host_sh(h, NULL, "head -c 4194304 /dev/urandom > '%s/outage.ref' && echo before > '%s/outage.bin'",
                            scratch, a),
                    0);
    int down_logged = count_in_file(h->log, "unreachable since"), back_logged = count_in_file(h->log, "reachable again");
    int fds_before = process_fd_count(h->pid);

    lab_nfs("stop");
    char *writer = test_strf("ls %s > /dev/null && stat -c %%s %s/outage.bin > /dev/null && dd if=%s/outage.ref "
                             "of=%s/outage.bin bs=1M oflag=direct conv=fsync status=none && echo WRITTEN || echo FAILED",
                             a, a, scratch, a);
    host_background(h, out_path, writer);
    sleep(1);
    double cpu0 = process_cpu_seconds(h->pid), t0 = now_s();
    sleep(4);
    double cpu = process_cpu_seconds(h->pid) - cpu0, took = now_s() - t0;
    char *during = test_read_file(out_path);
    lab_nfs("start");
    lab_log("outage: the bridge used %.2f s of CPU in %.1f s; the writer had printed '%s'", cpu, took,
            during ? during : "");
    CU_ASSERT(cpu0 >= 0 && cpu >= 0 && cpu < 0.3);
    CU_ASSERT_STRING_EQUAL(during ? during : "", ""); /* still waiting */

    check_written_through("outage", out_path, 60, "outage");
    CU_ASSERT_EQUAL(count_in_file(h->log, "unreachable since") - down_logged, 1);
    CU_ASSERT_EQUAL(count_in_file(h->log, "reachable again") - back_logged, 1);
    /* The lost connection's socket is not left behind (libnfs 4.0 sets it aside: context_destroy). */
    int fds_after = process_fd_count(h->pid);
    lab_log("outage: the bridge had %d descriptors open before, %d after", fds_before, fds_after);
    CU_ASSERT(fds_before > 0 && fds_after <= fds_before);
    free(during);
    free(writer);
    free(out_path);
    free(a);
}

/* A 64 MiB buffered write (conv=fsync) runs into an outage halfway: it waits, then finishes
 * without an error, and the file is the same bytes as its source, seen from the other host. */
static void test_64mib_write_through_an_outage(void)
{
    struct bridge_host *h = &host_a;
    char *a = work_dir(h);
    char *out_path = test_strf("%s/outage64.out", scratch);
    CU_ASSERT_EQUAL(host_sh(h, NULL, "head -c 67108864 /dev/urandom > '%s/outage64.ref'", scratch), 0);
    /* Fed 1 MiB every 50 ms or so, the write lasts about 4 s. */
    char *writer = test_strf("for i in $(seq 0 63); do dd if=%s/outage64.ref bs=1M skip=$i count=1 status=none; "
                             "sleep 0.05; done | dd of=%s/outage64.bin bs=1M iflag=fullblock conv=fsync status=none "
                             "&& echo WRITTEN || echo FAILED",
                             scratch, a);
    host_background(h, out_path, writer);
    sleep(1);
    lab_nfs("stop");
    char *during = test_read_file(out_path);
    sleep(2);
    lab_nfs("start");
    CU_ASSERT_STRING_EQUAL(during ? during : "", ""); /* the outage came in the middle */

    check_written_through("64 MiB write through an outage", out_path, 90, "outage64");
    free(during);
    free(writer);
    free(out_path);
    free(a);
}

/* Runs COMMAND in hostA while the server's answers to hostA are dropped from the moment an
 * NFSv3 call with procedure PROC reaches it (so the server carries the call out but hostA
 * never hears), then resets hostA's connection: the bridge's libnfs connects again and sends
 * the call a second time, which finds its own work done. Returns what COMMAND printed, or NULL
 * (a failed test) when the lab cannot drop packets (iptables with u32 and recent). */
static char *run_with_answer_lost(int proc, const char *command)
{
    char *hosta = lab_env("FERRY_LAB_HOSTA_ADDR");
    char *out_path = test_strf("%s/replay-%d.out", scratch, proc);
    char *set = test_strf("INPUT -p tcp --dport 2049 -s %s -m u32 --u32 '0>>22&0x3C@12>>26&0x3C@16=100003 && "
                          "0>>22&0x3C@12>>26&0x3C@24=%d' -m recent --set --name ferry-replay",
                          hosta, proc);
    const char *drop = "OUTPUT -p tcp --sport 2049 -m recent --rcheck --rdest --name ferry-replay -j DROP";
    struct command_result r;
    char *out = NULL;
    lab_exec(&r, "nfs", "iptables -I %s && iptables -I %s", drop, set);
    int installed = r.status == 0;
    if (!installed)
        CU_FAIL("cannot drop the server's answers in the lab's NFS namespace (iptables with u32 and recent)");
    command_result_free(&r);
    if (installed) {
        host_background(&host_a, out_path, command);
        /* The call has reached the server once hostA is on the list. */
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++) {
            lab_exec(&r, "nfs", "cat /proc/net/xt_recent/ferry-replay");
            seen = strstr(r.out, hosta) != NULL;
            command_result_free(&r);
            usleep(100000);
        }
        lab_log("call %d reached the server: %s", proc, seen ? "yes" : "no");
        CU_ASSERT(seen);
        sleep(1);
        lab_exec(&r, "nfs", "ss -tnK dst %s sport = :2049 >/dev/null", hosta);
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
        lab_exec(&r, "nfs", "iptables -D %s; iptables -D %s", set, drop);
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
        out = wait_output(out_path, "\n", 60);
    }
    free(set);
    free(out_path);
    free(hosta);
    return out;
}

/* A mkdir and a rm whose first answer was lost are sent again and find their own work done
 * (EEXIST, ENOENT): the bridge reports success, as the server's duplicate request cache would
 * have for the kernel's NFS client. */
static void test_create_and_remove_sent_twice(void)
{
    char *a = work_dir(&host_a), *b = work_dir(&host_b);
    const char *judgement = "sent twice after the server was lost";
    int judged_before = count_in_file(host_a.log, judgement);
    CU_ASSERT_EQUAL(host_sh(&host_a, NULL, "mkdir '%s/replay' && echo x > '%s/replay/file'", a, a), 0);
    char *mkdir_cmd = test_strf("mkdir %s/replay/dir && echo MADE || echo FAILED", a);
    char *out = run_with_answer_lost(9 /* MKDIR */, mkdir_cmd);
    if (out) {
        lab_log("mkdir with its answer lost: '%s'", out);
        CU_ASSERT_STRING_EQUAL(out, "MADE\n");
        CU_ASSERT_EQUAL(host_sh(&host_b, NULL, "test -d '%s/replay/dir'", b), 0);
        free(out);
        char *rm_cmd = test_strf("rm %s/replay/file && echo REMOVED || echo FAILED", a);
        out = run_with_answer_lost(12 /* REMOVE */, rm_cmd);
        lab_log("rm with its answer lost: '%s'", out ? out : "");
        CU_ASSERT_STRING_EQUAL(out ? out : "", "REMOVED\n");
        CU_ASSERT_NOT_EQUAL(host_sh(&host_b, NULL, "test -e '%s/replay/file'", b), 0);
        free(rm_cmd);
    }
    int judged = count_in_file(host_a.log, judgement) - judged_before;
    lab_log("the bridge judged %d request%s sent twice", judged, judged == 1 ? "" : "s");
    CU_ASSERT_EQUAL(judged, 2);
    CU_ASSERT_EQUAL(count_in_file(host_a.log, "error: mkdir") + count_in_file(host_a.log, "error: unlink"), 0);
    host_sh(&host_a, NULL, "rm -rf '%s/replay'", a);
    free(out);
    free(mkdir_cmd);
    free(a);
    free(b);
}

static void test_sigterm_unmounts(void)
{
    struct bridge_host *h = &host_b;
    CU_ASSERT_FATAL(process_alive(h->pid));
    CU_ASSERT_EQUAL(kill(h->pid, SIGTERM), 0);
    CU_ASSERT(wait_gone(h->pid, 10));
    char *mount = mount_at(h, h->mountpoint);
    CU_ASSERT_STRING_EQUAL(mount, "");
    free(mount);
    CU_ASSERT_NOT_EQUAL(access(h->pidfile, F_OK), 0);
    char *log = test_read_file(h->log);
    CU_ASSERT_PTR_NOT_NULL(log && strstr(log, "stopped:"));
    free(log);
}

static void test_umount_from_outside_stops_the_bridge(void)
{
    struct bridge_host *h = &host_a;
    CU_ASSERT_FATAL(process_alive(h->pid));
    char *dir = work_dir(h);
    CU_ASSERT_EQUAL(host_sh(h, NULL, "rm -rf '%s'", dir), 0);
    free(dir);
    CU_ASSERT_EQUAL(host_sh(h, NULL, "umount '%s'", h->mountpoint), 0);
    CU_ASSERT(wait_gone(h->pid, 10));
    CU_ASSERT_NOT_EQUAL(access(h->pidfile, F_OK), 0);
    char *mount = mount_at(h, h->mountpoint);
    CU_ASSERT_STRING_EQUAL(mount, "");
    free(mount);
}

/* A failed start leaves no process, no mount and no pid file behind. */
static void check_nothing_left(struct bridge_host *h, const char *mountpoint)
{
    CU_ASSERT_NOT_EQUAL(access(h->pidfile, F_OK), 0);
    CU_ASSERT_EQUAL(processes_naming(mountpoint), 0);
    char *mount = mount_at(h, mountpoint);
    CU_ASSERT(!strstr(mount, "fuse.ferry"));
    free(mount);
}

static void test_start_fails_cleanly_when_the_server_is_down(void)
{
    struct bridge_host *h = &host_a_failing;
    struct command_result r;
    char *mountpoint = test_strf("%s-down", h->mountpoint);
    host_sh(h, NULL, "mkdir -p '%s'", mountpoint);
    lab_run(&r, "nfs stop");
    command_result_free(&r);

    double t0 = now_s();
    bridge_start(h, mountpoint, 3000, &r);
    double took = now_s() - t0;
    struct command_result s;
    lab_run(&s, "nfs start"); /* before any assertion can stop this test */
    lab_log("start with the server down: exit %d after %.2f s: %s", r.status, took, r.err);
    CU_ASSERT_EQUAL(s.status, 0);
    command_result_free(&s);

    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT(took < 4.0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, export_name));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, mountpoint));
    CU_ASSERT(strstr(r.err, "no NFS service") || strstr(r.err, "does not answer"));
    command_result_free(&r);
    check_nothing_left(h, mountpoint);
    host_sh(h, NULL, "rmdir '%s'", mountpoint);
    free(mountpoint);
}

static void test_start_fails_cleanly_without_a_mount_point(void)
{
    struct bridge_host *h = &host_a_failing;
    struct command_result r;
    char *mountpoint = test_strf("%s-missing", h->mountpoint);
    bridge_start(h, mountpoint, 3000, &r);
    lab_log("start on a missing mount point: exit %d: %s", r.status, r.err);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, mountpoint));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "No such file or directory"));
    command_result_free(&r);
    check_nothing_left(h, mountpoint);
    free(mountpoint);
}

/* Whatever failed above, no bridge of this run outlives it. */
static void teardown(void)
{
    struct bridge_host *hosts[] = { &host_a, &host_b, &host_a_failing };
    for (size_t i = 0; i < 3; i++) {
        struct bridge_host *h = hosts[i];
        pid_t pid = pidfile_pid(h->pidfile);
        if (pid > 0 && process_alive(pid)) {
            kill(pid, SIGTERM);
            if (!wait_gone(pid, 5))
                kill(pid, SIGKILL);
        }
        if (h != &host_a_failing)
            host_sh(h, NULL, "umount -l '%s' 2>/dev/null; rmdir '%s'", h->mountpoint, h->mountpoint);
        free(h->mountpoint);
        free(h->log);
        free(h->pidfile);
    }
}

int main(void)
{
    run_name = lab_unique_name("nfs-fuse");
    scratch = test_tmpdir_create("nfs-fuse");
    export_url = lab_env("FERRY_LAB_EXPORT_URL");
    export_name = lab_env("FERRY_LAB_EXPORT");
    if (!scratch || !export_url || !export_name || !strchr(export_url, '?')) {
        fprintf(stderr, "test_nfs_fuse: the lab is not up (scripts/lab env has no export)\n");
        return 2;
    }
    chmod(scratch, 0755); /* libvirt-qemu and the hosts read reference files from it */
    struct bridge_host *hosts[] = { &host_a, &host_b, &host_a_failing };
    for (size_t i = 0; i < 3; i++) {
        hosts[i]->mountpoint = test_strf("/tmp/%s-%s", run_name, hosts[i]->host);
        hosts[i]->log = test_strf("%s/bridge-%s%s.log", scratch, hosts[i]->host, i == 2 ? "-failing" : "");
        hosts[i]->pidfile = test_strf("%s/bridge-%s%s.pid", scratch, hosts[i]->host, i == 2 ? "-failing" : "");
    }
    static const struct test_case cases[] = {
        { "start mounts fuse.ferry on hostA and hostB, pid file names a live bridge", test_start_mounts_on_both_hosts },
        { "bytes written on one host read the same on the other and through libnfs",
          test_bytes_match_across_hosts_and_libnfs },
        { "a file grown on one host reads whole on the other at once", test_growth_is_seen_at_once },
        { "mkdir rename unlink symlink readlink link chmod chown truncate utimens statfs", test_file_operations },
        { "files made by libvirt-qemu belong to libvirt-qemu", test_new_files_belong_to_the_caller },
        { "O_DIRECT reads and writes", test_o_direct },
        { "64 MiB write/read round trip", test_64mib_round_trip },
        { "qemu-img and qemu-io with cache=none", test_qemu_cache_none },
        { "a hole in a sparse file reads as zeros", test_sparse_file_reads_zeros },
        { "I/O waits across an NFS server restart (hard mount)", test_io_survives_server_restart },
        { "an outage costs the bridge almost no CPU; blocked I/O then completes intact",
          test_outage_waits_without_spinning },
        { "a 64 MiB write runs through an outage without an error", test_64mib_write_through_an_outage },
        { "a mkdir and a rm whose answer was lost succeed when sent again", test_create_and_remove_sent_twice },
        { "SIGTERM unmounts and removes the pid file", test_sigterm_unmounts },
        { "umount from outside stops the bridge", test_umount_from_outside_stops_the_bridge },
        { "start with the NFS server stopped fails in time, leaving nothing",
          test_start_fails_cleanly_when_the_server_is_down },
        { "start on a missing mount point fails, leaving nothing", test_start_fails_cleanly_without_a_mount_point },
        { NULL, NULL },
    };
    int rc = test_run_suite("nfs fuse bridge", cases);
    teardown();
    test_tmpdir_remove(scratch);
    free(run_name);
    free(export_url);
    free(export_name);
    return rc;
}
