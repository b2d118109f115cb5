/*
 * The disk streamer on local files: tricky layouts (empty, holes at the start, middle and
 * end, sizes off the chunk, data only in the last byte, zeros that must become holes, a
 * 4 GiB sparse file), each checked for identical content, bounded allocation and a checksum
 * equal to an independent XXH3-128 (libxxhash's own). Then interruption and resume (the
 * cancel flag at a chunk boundary, a child killed with SIGKILL, ENOSPC on a small tmpfs),
 * bad inputs with no side effects, the manifest and spec parsers, and the command line.
 */
#include "test_support.h"

#include "stream/stream.h"
#include "stream/stream_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MiB (1024ull * 1024)
#define CHUNK (256u * 1024) /* small chunks, so that small files span several */

static char *dir;

static char *path_in(const char *name)
{
    return test_strf("%s/%s", dir, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Writes len bytes of a pattern (never all zero in a 64 KiB block) at offset. */
static void put_data(const char *path, uint64_t offset, uint64_t len, unsigned seed)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    char buf[65536];
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)((offset + done + i) * 2654435761u >> 13 ^ seed) | 1;
        CU_ASSERT_EQUAL_FATAL(pwrite(fd, buf, n, (off_t)(offset + done)), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static void put_zeros(const char *path, uint64_t offset, uint64_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    static const char zeros[65536];
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < sizeof(zeros) ? (size_t)(len - done) : sizeof(zeros);
        CU_ASSERT_EQUAL_FATAL(pwrite(fd, zeros, n, (off_t)(offset + done)), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static void set_size(const char *path, uint64_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    CU_ASSERT_EQUAL(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

/* XXH3-128 of the whole file through libxxhash; holes (found with SEEK_HOLE) are fed as
 * zeros, read data as read. */
static void file_xxh128(const char *path, char out[33])
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_128bits_reset(st);
    int fd = open(path, O_RDONLY);
    char *buf = malloc(MiB), *zeros = calloc(1, MiB);
    struct stat s;
    fstat(fd, &s);
    off_t pos = 0;
    while (pos < s.st_size) {
        off_t d = lseek(fd, pos, SEEK_DATA);
        if (d < 0)
            d = s.st_size;
        for (; pos < d; pos += d - pos < (off_t)MiB ? d - pos : (off_t)MiB)
            XXH3_128bits_update(st, zeros, d - pos < (off_t)MiB ? (size_t)(d - pos) : MiB);
        off_t h = d < s.st_size ? lseek(fd, d, SEEK_HOLE) : s.st_size;
        while (pos < h) {
            size_t n = h - pos < (off_t)MiB ? (size_t)(h - pos) : MiB;
            CU_ASSERT_EQUAL_FATAL(pread(fd, buf, n, pos), (ssize_t)n);
            XXH3_128bits_update(st, buf, n);
            pos += (off_t)n;
        }
    }
    XXH128_hash_t h = XXH3_128bits_digest(st);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
    free(buf);
    free(zeros);
    close(fd);
    XXH3_freeState(st);
}

/* cmp, but holes in both files are skipped (a 4 GiB sparse file must not cost 4 GiB of reads). */
static bool same_content(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    struct stat sa, sb;
    bool same = fa >= 0 && fb >= 0 && fstat(fa, &sa) == 0 && fstat(fb, &sb) == 0 && sa.st_size == sb.st_size;
    char *ba = malloc(MiB), *bb = malloc(MiB);
    off_t pos = 0;
    while (same && pos < sa.st_size) {
        off_t da = lseek(fa, pos, SEEK_DATA), db = lseek(fb, pos, SEEK_DATA);
        off_t d = da < 0 ? sa.st_size : da;
        if (db >= 0 && db < d)
            d = db;
        if (d >= sa.st_size)
            break;
        size_t n = sa.st_size - d < (off_t)MiB ? (size_t)(sa.st_size - d) : MiB;
        same = pread(fa, ba, n, d) == (ssize_t)n && pread(fb, bb, n, d) == (ssize_t)n && !memcmp(ba, bb, n);
        pos = d + (off_t)n;
    }
    free(ba);
    free(bb);
    close(fa);
    close(fb);
    return same;
}

static uint64_t allocated(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static int copy(const char *src, const char *dst, struct stream_result *res, char **error)
{
    struct stream_request req = { .source = src, .destination = dst, .chunk_size = CHUNK };
    return stream_copy(&req, res, error);
}

/* Copies src to a fresh destination and checks everything the streamer promises. */
static void check_copy(const char *name, uint64_t data_bytes)
{
    char *src = path_in(name), *dst = test_strf("%s/%s.copy", dir, name);
    struct stream_result res;
    char *error = NULL, want[33];
    unlink(dst);
    int r = copy(src, dst, &res, &error);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", name, error);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT_TRUE(same_content(src, dst));
    file_xxh128(src, want);
    CU_ASSERT_STRING_EQUAL(res.checksum, want);
    struct stat st;
    stat(src, &st);
    CU_ASSERT_EQUAL(res.bytes_total, (uint64_t)st.st_size);
    CU_ASSERT_EQUAL(res.data_bytes + res.hole_bytes, res.bytes_total);
    /* The copy's allocation stays within one chunk of the source's data. */
    CU_ASSERT(allocated(dst) <= data_bytes + CHUNK);
    if (allocated(dst) > data_bytes + CHUNK)
        fprintf(stderr, "%s: %llu bytes allocated for %llu bytes of data\n", name,
                (unsigned long long)allocated(dst), (unsigned long long)data_bytes);
    char *partial = test_strf("%s" STREAM_PARTIAL_SUFFIX, dst), *manifest = test_strf("%s" STREAM_MANIFEST_SUFFIX, dst);
    CU_ASSERT_FALSE(exists(partial));
    CU_ASSERT_FALSE(exists(manifest));
    free(partial);
    free(manifest);
    CU_ASSERT_EQUAL(stat(dst, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
    free(error);
    free(src);
    free(dst);
}

/* ---- layouts ----------------------------------------------------------------------------- */

static void test_empty_file(void)
{
    char *p = path_in("empty");
    set_size(p, 0);
    check_copy("empty", 0);
    free(p);
}

static void test_holes_start_middle_end(void)
{
    char *p = path_in("holes");
    set_size(p, 10 * MiB + 12345);
    put_data(p, 2 * MiB, 1 * MiB, 1);           /* hole at the start */
    put_data(p, 5 * MiB + 4096, 300 * 1024, 2); /* hole in the middle, off alignment */
    /* and a hole at the end */
    check_copy("holes", 1 * MiB + 300 * 1024);
    free(p);
}

static void test_size_not_multiple_of_chunk(void)
{
    char *p = path_in("odd");
    put_data(p, 0, 3 * CHUNK + 777, 3);
    check_copy("odd", 3 * CHUNK + 777);
    free(p);
}

static void test_data_only_in_last_byte(void)
{
    char *p = path_in("lastbyte");
    set_size(p, 8 * MiB);
    put_data(p, 8 * MiB - 1, 1, 4);
    check_copy("lastbyte", 4096);
    free(p);
}

static void test_zero_data_becomes_holes(void)
{
    char *p = path_in("zeros");
    put_zeros(p, 0, 6 * MiB);
    put_data(p, 6 * MiB, 64 * 1024, 5);
    put_zeros(p, 6 * MiB + 64 * 1024, 2 * MiB);
    CU_ASSERT(allocated(p) >= 8 * MiB); /* the source really holds its zeros */
    check_copy("zeros", 64 * 1024);
    free(p);
}

static void test_big_sparse_file(void)
{
    char *p = path_in("big");
    set_size(p, 4096 * MiB);
    for (int i = 0; i < 4; i++)
        put_data(p, (uint64_t)i * 1000 * MiB + 12345, 1 * MiB, 6);
    put_data(p, 4096 * MiB - 100, 100, 7);
    char *copy = test_strf("%s.copy", p);
    struct stream_result res;
    char *error = NULL;
    CU_ASSERT_EQUAL(stream_copy(&(struct stream_request){ .source = p, .destination = copy }, &res, &error), 0);
    CU_ASSERT(res.seconds < 3); /* tracks the data, not the size */
#ifndef __SANITIZE_ADDRESS__ /* ASan's shadow and quarantine are not the streamer's */
    /* Bounded memory: the ring (8 chunks of 4 MiB) and little else, whatever the size. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    CU_ASSERT(ru.ru_maxrss < 64 * 1024);
    if (ru.ru_maxrss >= 64 * 1024)
        fprintf(stderr, "4 GiB sparse copy: max RSS %ld KiB\n", ru.ru_maxrss);
#endif
    unlink(copy);
    free(error);
    check_copy("big", 4 * MiB + 4096 * 5);
    unlink(copy);
    unlink(p);
    free(copy);
    free(p);
}

/* ---- interruption and resume ---------------------------------------------------------------- */

struct stopper {
    atomic_bool flag;
    uint64_t after;
};

static void stop_after(const struct stream_progress *p, void *arg)
{
    struct stopper *s = arg;
    if (p->done >= s->after)
        atomic_store(&s->flag, true);
}

static void test_cancel_and_resume(void)
{
    char *src = path_in("resume"), *dst = path_in("resume.copy");
    char *partial = test_strf("%s" STREAM_PARTIAL_SUFFIX, dst), *manifest = test_strf("%s" STREAM_MANIFEST_SUFFIX, dst);
    char want[33], *error = NULL;
    put_data(src, 0, 40 * MiB, 8);
    set_size(src, 48 * MiB);
    file_xxh128(src, want);

    struct stopper stop = { .after = 8 * MiB };
    struct stream_request req = { .source = src, .destination = dst, .chunk_size = CHUNK, .bwlimit = 40 * MiB,
                                  .progress = stop_after, .progress_arg = &stop, .cancel = &stop.flag };
    struct stream_result res;
    int r = stream_copy(&req, &res, &error);
    CU_ASSERT_EQUAL(r, -ECANCELED);
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error, "run the same copy again"));
    CU_ASSERT_FALSE(exists(dst));
    CU_ASSERT_TRUE(exists(partial));
    CU_ASSERT_TRUE(exists(manifest));
    free(error);
    error = NULL;

    /* The manifest says how far; the rerun resumes there and ends identical. */
    char *text = test_read_file(manifest);
    struct manifest m;
    char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(manifest_parse(text, &m, &why), 0);
    CU_ASSERT(m.done >= 8 * MiB && m.done < 48 * MiB && m.done % CHUNK == 0);
    manifest_clear(&m);
    free(text);

    r = copy(src, dst, &res, &error);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT(res.resumed_from >= 8 * MiB);
    CU_ASSERT_STRING_EQUAL(res.checksum, want);
    CU_ASSERT_EQUAL(res.data_bytes, 40 * MiB);
    CU_ASSERT_TRUE(same_content(src, dst));
    CU_ASSERT_FALSE(exists(partial));
    CU_ASSERT_FALSE(exists(manifest));
    free(error);
    free(src);
    free(dst);
    free(partial);
    free(manifest);
}

/* Drops the manifest's checksum state, as a resume under another xxhash finds it: the
 * resumed prefix is then read again to rebuild the checksum, and not written. */
static void drop_hash_state(const char *manifest)
{
    char *text = test_read_file(manifest);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char *line = strstr(text, "hash_state = ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    *line = 0;
    FILE *f = fopen(manifest, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    free(text);
}

/*
 * Long holes pass as few slots (up to 256 chunks each), ending on chunk boundaries: data
 * around and between them, the first chunk starting with a hole (its checksum, the source's
 * identity, comes from the reader then), a cancel and a resume past them, and a resume that
 * rebuilds the checksum from the source across them.
 */
static void test_long_holes_and_resume(void)
{
    char *src = path_in("longholes"), *dst = path_in("longholes.copy");
    char *manifest = test_strf("%s" STREAM_MANIFEST_SUFFIX, dst), *error = NULL, want[33];
    set_size(src, 600 * MiB + 777);
    put_data(src, 100 * 1024, 1 * MiB, 20);      /* a hole first, in the first chunk */
    put_data(src, 90 * MiB + 4096, 2 * MiB, 21); /* after 89 MiB of hole: two slots of it */
    put_data(src, 500 * MiB, 8 * MiB, 22);       /* after 408 MiB of hole; a hole to the end */
    file_xxh128(src, want);
    check_copy("longholes", 11 * MiB);

    for (int rebuild = 0; rebuild < 2; rebuild++) {
        unlink(dst);
        struct stopper stop = { .after = 200 * MiB };
        struct stream_request req = { .source = src, .destination = dst, .chunk_size = CHUNK, .bwlimit = 8 * MiB,
                                      .progress = stop_after, .progress_arg = &stop, .cancel = &stop.flag };
        struct stream_result res;
        CU_ASSERT_EQUAL(stream_copy(&req, &res, &error), -ECANCELED);
        free(error);
        error = NULL;
        char *text = test_read_file(manifest);
        struct manifest m;
        char *why = NULL;
        CU_ASSERT_EQUAL_FATAL(manifest_parse(text, &m, &why), 0);
        CU_ASSERT(m.done >= 92 * MiB && m.done < 600 * MiB && m.done % CHUNK == 0);
        uint64_t done = m.done;
        manifest_clear(&m);
        free(text);
        if (rebuild)
            drop_hash_state(manifest);
        CU_ASSERT_EQUAL_FATAL(copy(src, dst, &res, &error), 0);
        CU_ASSERT_EQUAL(res.resumed_from, done);
        CU_ASSERT_STRING_EQUAL(res.checksum, want);
        CU_ASSERT_EQUAL(res.data_bytes, res.bytes_total - res.hole_bytes);
        CU_ASSERT_TRUE(same_content(src, dst));
        CU_ASSERT_FALSE(exists(manifest));
        free(error);
        error = NULL;
    }
    unlink(dst);
    unlink(src);
    free(src);
    free(dst);
    free(manifest);
}

/* A stale partial: --no-resume, or a changed source, starts over. */
static void test_no_resume_and_changed_source(void)
{
    char *src = path_in("again"), *dst = path_in("again.copy"), *error = NULL;
    char *partial = test_strf("%s" STREAM_PARTIAL_SUFFIX, dst);
    put_data(src, 0, 16 * MiB, 9);
    struct stopper stop = { .after = 4 * MiB };
    struct stream_request req = { .source = src, .destination = dst, .chunk_size = CHUNK, .bwlimit = 40 * MiB,
                                  .progress = stop_after, .progress_arg = &stop, .cancel = &stop.flag };
    struct stream_result res;
    CU_ASSERT_EQUAL(stream_copy(&req, &res, &error), -ECANCELED);
    free(error);
    CU_ASSERT_TRUE(exists(partial));

    struct stream_request again = { .source = src, .destination = dst, .chunk_size = CHUNK, .no_resume = true };
    CU_ASSERT_EQUAL(stream_copy(&again, &res, &error), 0);
    CU_ASSERT_EQUAL(res.resumed_from, 0);
    CU_ASSERT_TRUE(same_content(src, dst));
    free(error);

    /* Interrupt again, then change the source: the partial is of another file now. */
    unlink(dst);
    atomic_store(&stop.flag, false);
    CU_ASSERT_EQUAL(stream_copy(&req, &res, &error), -ECANCELED);
    free(error);
    put_data(src, 0, 4096, 10);
    struct timespec times[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
    utimensat(AT_FDCWD, src, times, 0);
    CU_ASSERT_EQUAL(copy(src, dst, &res, &error), 0);
    CU_ASSERT_EQUAL(res.resumed_from, 0);
    CU_ASSERT_TRUE(same_content(src, dst));
    free(error);
    free(src);
    free(dst);
    free(partial);
}

/* A copy killed with SIGKILL at any point resumes and ends identical. */
static void test_sigkill_and_resume(void)
{
    char *src = path_in("killed"), *dst = path_in("killed.copy"), *error = NULL, want[33];
    put_data(src, 0, 24 * MiB, 11);
    set_size(src, 32 * MiB);
    put_data(src, 30 * MiB, 1 * MiB, 12);
    file_xxh128(src, want);
    pid_t pid = fork();
    if (pid == 0) {
        struct stream_request req = { .source = src, .destination = dst, .chunk_size = CHUNK, .bwlimit = 10 * MiB };
        struct stream_result res;
        char *e = NULL;
        _exit(stream_copy(&req, &res, &e) == 0 ? 0 : 1);
    }
    usleep(1200 * 1000); /* about 12 MiB in */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFSIGNALED(status));
    CU_ASSERT_FALSE(exists(dst));
    struct stream_result res;
    CU_ASSERT_EQUAL_FATAL(copy(src, dst, &res, &error), 0);
    CU_ASSERT(res.resumed_from > 0);
    CU_ASSERT_STRING_EQUAL(res.checksum, want);
    CU_ASSERT_TRUE(same_content(src, dst));
    free(error);
    free(src);
    free(dst);
}

/* No space: a clean error, the partial kept, and the copy resumes once there is room. */
static void test_enospc_then_resume(void)
{
    char *mnt = path_in("small-fs"), *src = path_in("nospace"), *error = NULL, want[33];
    mkdir(mnt, 0755);
    if (mount("ferry-test", mnt, "tmpfs", 0, "size=8m") < 0) {
        fprintf(stderr, "skipping the ENOSPC case: cannot mount a tmpfs (%s)\n", strerror(errno));
        free(mnt);
        free(src);
        return;
    }
    put_data(src, 0, 12 * MiB, 13);
    file_xxh128(src, want);
    char *dst = test_strf("%s/disk", mnt);
    struct stream_result res;
    int r = copy(src, dst, &res, &error);
    CU_ASSERT_EQUAL(r, -ENOSPC);
    if (!error || !strstr(error, "no space left"))
        fprintf(stderr, "ENOSPC: %s\n", error ? error : "(no message)");
    CU_ASSERT_PTR_NOT_NULL(error && strstr(error, "no space left"));
    CU_ASSERT_FALSE(exists(dst));
    free(error);
    error = NULL;
    CU_ASSERT_EQUAL(mount("ferry-test", mnt, "tmpfs", MS_REMOUNT, "size=32m"), 0);
    r = copy(src, dst, &res, &error);
    if (r < 0)
        fprintf(stderr, "after ENOSPC: %s\n", error);
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT(res.resumed_from > 0);
    CU_ASSERT_STRING_EQUAL(res.checksum, want);
    CU_ASSERT_TRUE(same_content(src, dst));
    umount(mnt);
    free(error);
    free(dst);
    free(mnt);
    free(src);
}

static void test_verify(void)
{
    char *src = path_in("holes"), *dst = path_in("verified");
    struct stream_request req = { .source = src, .destination = dst, .verify = true, .durable = true };
    struct stream_result res;
    char *error = NULL;
    CU_ASSERT_EQUAL(stream_copy(&req, &res, &error), 0);
    CU_ASSERT_TRUE(res.verified);
    CU_ASSERT_TRUE(same_content(src, dst));
    free(error);
    free(src);
    free(dst);
}

/* ---- bad input: one clear error, nothing created ---------------------------------------------- */

static size_t entries(const char *d)
{
    struct command_result r;
    command_run_shell(&r, "ls -A '%s' | wc -l", d);
    size_t n = strtoul(r.out, NULL, 10);
    command_result_free(&r);
    return n;
}

static void expect_error(const struct stream_request *req, int err, const char *words)
{
    struct stream_result res;
    char *error = NULL;
    size_t before = entries(dir);
    int r = stream_copy(req, &res, &error);
    CU_ASSERT_EQUAL(r, err);
    CU_ASSERT_PTR_NOT_NULL(error);
    if (error && !strstr(error, words)) {
        fprintf(stderr, "expected \"%s\" in: %s\n", words, error);
        CU_FAIL("message");
    }
    CU_ASSERT_PTR_NULL(error ? strchr(error, '\n') : NULL);
    CU_ASSERT_EQUAL(entries(dir), before);
    free(error);
}

static void test_bad_inputs(void)
{
    char *src = path_in("odd"), *missing = path_in("missing"), *dst = path_in("bad.copy");
    char *exists_already = path_in("holes.copy"), *no_dir = path_in("no/such/dir/x");
    char *escape = test_strf("%s/sub/../../elsewhere", dir);
    char *root = test_strf("%s/sub", dir);
    mkdir(root, 0755);

    expect_error(&(struct stream_request){ .source = missing, .destination = dst }, -ENOENT, "does not exist");
    expect_error(&(struct stream_request){ .source = src, .destination = exists_already }, -EEXIST, "--force");
    expect_error(&(struct stream_request){ .source = src, .destination = no_dir }, -ENOENT, "create it first");
    expect_error(&(struct stream_request){ .source = src, .destination = escape, .root = root }, -EINVAL, "leaves");
    expect_error(&(struct stream_request){ .source = src, .destination = src }, -EINVAL, "same file");
    expect_error(&(struct stream_request){ .source = src, .destination = dir }, -EISDIR, "directory");
    expect_error(&(struct stream_request){ .source = src, .destination = "nfs://10.0.0.5/srv/../etc/x" }, -EINVAL, "'..'");
    expect_error(&(struct stream_request){ .source = src, .destination = "libvirt://h/a/../b" }, -EINVAL, "'..'");
    expect_error(&(struct stream_request){ .source = src, .destination = "libvirt://h" }, -EINVAL, "names no host");
    expect_error(&(struct stream_request){ .source = src, .destination = "ftp://h/x" }, -EINVAL, "ftp://");
    expect_error(&(struct stream_request){ .source = src, .destination = "nfs://h/x?version=4" }, -EINVAL, "NFSv3");
    /* libvirt:// reads too: a host that does not resolve is one clear error, nothing made. */
    expect_error(&(struct stream_request){ .source = "libvirt://no-such-host.invalid/x", .destination = dst },
                 -EHOSTUNREACH, "cannot resolve host no-such-host.invalid");
    /* A server that is not there: bounded time. 192.0.2.0/24 is TEST-NET, never routed... but
     * only local addresses may be used here: an unused loopback port answers "refused". */
    uint64_t t0 = (uint64_t)time(NULL);
    expect_error(&(struct stream_request){ .source = src, .destination = "nfs://127.0.0.1/srv/x", .io_timeout_ms = 2000 },
                 -EHOSTUNREACH, "127.0.0.1");
    CU_ASSERT((uint64_t)time(NULL) - t0 <= 5);

    /* --force replaces. */
    struct stream_result res;
    char *error = NULL;
    struct stream_request force = { .source = src, .destination = exists_already, .force = true };
    CU_ASSERT_EQUAL(stream_copy(&force, &res, &error), 0);
    CU_ASSERT_TRUE(same_content(src, exists_already));
    free(error);
    free(src);
    free(missing);
    free(dst);
    free(exists_already);
    free(no_dir);
    free(escape);
    free(root);
}

/* ---- pure parts --------------------------------------------------------------------------------- */

static void test_spec_parse(void)
{
    struct endpoint_spec s;
    char *e = NULL;
    CU_ASSERT_EQUAL(endpoint_spec_parse("nfs://10.0.0.5/srv//nova/./x/disk?version=3", "source", &s, &e), 0);
    CU_ASSERT_EQUAL(s.kind, ENDPOINT_NFS);
    CU_ASSERT_STRING_EQUAL(s.host, "10.0.0.5");
    CU_ASSERT_STRING_EQUAL(s.path, "/srv/nova/x/disk");
    CU_ASSERT_EQUAL(endpoint_spec_parse("libvirt://compute2/opt//x/./disk", "destination", &s, &e), 0);
    CU_ASSERT_EQUAL(s.kind, ENDPOINT_LIBVIRT);
    CU_ASSERT_STRING_EQUAL(s.host, "compute2");
    CU_ASSERT_STRING_EQUAL(s.path, "/opt/x/disk");
    CU_ASSERT_EQUAL(endpoint_spec_parse("../relative/disk", "source", &s, &e), 0);
    CU_ASSERT_EQUAL(s.kind, ENDPOINT_FILE);
    const char *bad[] = { "", "nfs://", "nfs://h/", "libvirt://h/", "libvirt://user@h/x", "libvirt:///x",
                          "dir/", "s3://b/k", "libvirt://h/x?y", NULL };
    for (const char **b = bad; *b; b++) {
        CU_ASSERT_EQUAL(endpoint_spec_parse(*b, "source", &s, &e), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(e);
        free(e);
        e = NULL;
    }
    char out[4096];
    CU_ASSERT_EQUAL(path_normalise("/a/b/../../../c/./d", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "/c/d");
    CU_ASSERT_TRUE(path_is_within("/a/b", "/a"));
    CU_ASSERT_FALSE(path_is_within("/ab", "/a"));
}

static void test_manifest_round_trip(void)
{
    struct manifest m = { .source_size = 100 * MiB, .source_mtime_ns = 123, .chunk_size = CHUNK,
                          .done = 4 * CHUNK, .data_bytes = 1000 };
    snprintf(m.data, sizeof(m.data), "disk" STREAM_PARTIAL_SUFFIX);
    snprintf(m.source, sizeof(m.source), "/src/disk");
    snprintf(m.source_head, sizeof(m.source_head), "%032x", 7);
    m.hash_state = strdup("xxh3-1-2:abcd");
    char *text = NULL, *e = NULL;
    struct manifest back;
    CU_ASSERT_EQUAL(manifest_format(&m, &text), 0);
    CU_ASSERT_EQUAL(manifest_parse(text, &back, &e), 0);
    CU_ASSERT_EQUAL(back.done, m.done);
    CU_ASSERT_EQUAL(back.source_size, m.source_size);
    CU_ASSERT_STRING_EQUAL(back.hash_state, m.hash_state);
    CU_ASSERT_STRING_EQUAL(back.data, m.data);
    manifest_clear(&back);
    free(text);
    const char *bad[] = {
        "not a manifest\n",
        "# ferry copy: partial copy manifest, format 1\ndata = x\n",
        "# ferry copy: partial copy manifest, format 1\ndata = x\nsource_size = 10\nsource_mtime_ns = 1\n"
        "source_head = 00000000000000000000000000000000\nchunk_size = 65536\ndone = 20\ndata_bytes = 0\n",
        "# ferry copy: partial copy manifest, format 1\ndata = a/b\nsource_size = 10\nsource_mtime_ns = 1\n"
        "source_head = 00000000000000000000000000000000\nchunk_size = 65536\ndone = 0\ndata_bytes = 0\n",
        "# ferry copy: partial copy manifest, format 1\ndata = x\nsource_size = -1\n",
        NULL,
    };
    for (const char **b = bad; *b; b++) {
        CU_ASSERT_EQUAL(manifest_parse(*b, &back, &e), -EINVAL);
        free(e);
        e = NULL;
    }
    free(m.hash_state);
}

/* The fast path for zeros and the saved state against libxxhash, on random layouts. */
static void test_checksum_matches_xxhash(void)
{
    srand(42);
    char *buf = calloc(1, 4 * MiB);
    for (int round = 0; round < 60; round++) {
        XXH3_state_t *ref = XXH3_createState();
        XXH3_128bits_reset(ref);
        struct checksum c;
        checksum_reset(&c);
        int pieces = 1 + rand() % 8;
        for (int p = 0; p < pieces; p++) {
            size_t n = (size_t)rand() % (p % 2 ? 3 * MiB : 5000);
            if (p % 2 == 0) {
                for (size_t i = 0; i < n; i++)
                    buf[i] = (char)rand();
                checksum_update(&c, buf, n);
                XXH3_128bits_update(ref, buf, n);
                for (size_t i = 0; i < n; i++)
                    buf[i] = 0;
            } else {
                checksum_update_zeros(&c, n);
                XXH3_128bits_update(ref, buf, n);
            }
            if (p == pieces / 2) { /* save and load in the middle, as a resume does */
                char *saved = NULL;
                CU_ASSERT_EQUAL(checksum_save(&c, &saved), 0);
                checksum_reset(&c);
                CU_ASSERT_EQUAL(checksum_load(&c, saved), 0);
                free(saved);
            }
        }
        char got[33], want[33];
        checksum_hex(&c, got);
        XXH128_hash_t h = XXH3_128bits_digest(ref);
        snprintf(want, sizeof(want), "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
        CU_ASSERT_STRING_EQUAL(got, want);
        XXH3_freeState(ref);
    }
    CU_ASSERT_EQUAL(checksum_load(&(struct checksum){ 0 }, "xxh3-1-1:00"), -EPROTO);
    free(buf);
}

/* ---- the command ---------------------------------------------------------------------------- */

static void test_command_line(void)
{
    char *src = path_in("holes"), *dst = path_in("cli.copy");
    struct command_result r;
    const char *argv[] = { test_ferry_bin(), "copy", src, dst, "--json", "--verify", NULL };
    CU_ASSERT_EQUAL_FATAL(command_run(&r, argv, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    struct json_object *o = json_tokener_parse(r.out), *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    char want[33];
    file_xxh128(src, want);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "checksum", &v) && !strcmp(json_object_get_string(v), want));
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "verified", &v) && json_object_get_boolean(v));
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "data_bytes", &v) && json_object_get_int64(v) > 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "hole_bytes", &v) && json_object_get_int64(v) > 0);
    json_object_put(o);
    command_result_free(&r);

    /* Human output; the destination exists now: exit 1 and one line. */
    const char *again[] = { test_ferry_bin(), "copy", src, dst, NULL };
    command_run(&r, again, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "exists"));
    command_result_free(&r);
    unlink(dst);
    command_run(&r, again, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "xxh3-128 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "holes"));
    command_result_free(&r);

    /* Bad usage: exit 2. */
    const char *bad_spec[] = { test_ferry_bin(), "copy", src, "nfs://h/x?version=4", NULL };
    command_run(&r, bad_spec, NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    command_result_free(&r);
    const char *bad_rate[] = { test_ferry_bin(), "copy", src, dst, "--bwlimit", "fast", NULL };
    command_run(&r, bad_rate, NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--bwlimit"));
    command_result_free(&r);
    const char *missing[] = { test_ferry_bin(), "copy", "/nonexistent/ferry-test", dst, NULL };
    command_run(&r, missing, NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "does not exist"));
    command_result_free(&r);
    free(src);
    free(dst);
}

/* Under strace: how many times the copy wrote its manifest, and how many of those writes after
 * the first came with no fdatasync of the partial since the write before. */
struct checkpoint_trace {
    int manifest_writes, unflushed, flushes;
};

static struct checkpoint_trace trace_checkpoints(const char *src, const char *dst, bool sync)
{
    struct checkpoint_trace t = { 0 };
    char *log = path_in("checkpoints.strace");
    struct command_result r;
    unlink(dst);
    unlink(log);
    /* 48 MiB at 48 MB/s, twelve chunks, a checkpoint every 100 ms: several of them. (Under
     * AddressSanitizer the leak check cannot run under ptrace.) */
    CU_ASSERT_EQUAL(command_run_shell(&r, "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
                                          "FERRY_STREAM_CHECKPOINT_MS=100 strace -f -y -qq -e trace=fdatasync,pwrite64 "
                                          "-o '%s' '%s' copy %s --bwlimit 48M '%s' '%s'",
                                      log, test_ferry_bin(), sync ? "--sync" : "", src, dst),
                    0);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    FILE *f = fopen(log, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096];
    bool flushed = false;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "fdatasync(") && strstr(line, ".ferry-partial>")) {
            flushed = true;
            t.flushes++;
        } else if (strstr(line, "pwrite64(") && strstr(line, ".ferry-partial.manifest>")) {
            if (t.manifest_writes++ > 0 && !flushed)
                t.unflushed++;
            flushed = false;
        }
    }
    fclose(f);
    unlink(log);
    free(log);
    return t;
}

/* A --sync copy flushes its data before every checkpoint, so that a resume after a crash never
 * trusts data the crash took; a plain copy does not pay for it. */
static void test_sync_flushes_before_checkpoints(void)
{
    char *src = path_in("durable"), *dst = path_in("durable.copy");
    put_data(src, 0, 48 * MiB, 21);
    struct checkpoint_trace t = trace_checkpoints(src, dst, true);
    CU_ASSERT(t.manifest_writes >= 4);
    CU_ASSERT_EQUAL(t.unflushed, 0);
    CU_ASSERT_TRUE(same_content(src, dst));
    t = trace_checkpoints(src, dst, false);
    CU_ASSERT(t.manifest_writes >= 4);
    CU_ASSERT_EQUAL(t.flushes, 0);
    CU_ASSERT_TRUE(same_content(src, dst));
    free(src);
    free(dst);
}

static void test_setup(void)
{
    dir = test_tmpdir_create("stream");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    setenv("FERRY_CONF", "/dev/null", 1);
}

static void test_teardown(void)
{
    test_tmpdir_remove(dir);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "setup", test_setup },
        { "empty file", test_empty_file },
        { "holes at the start, middle and end", test_holes_start_middle_end },
        { "size not a multiple of the chunk", test_size_not_multiple_of_chunk },
        { "data only in the last byte", test_data_only_in_last_byte },
        { "all-zero data becomes holes", test_zero_data_becomes_holes },
        { "4 GiB sparse file", test_big_sparse_file },
        { "cancel at a chunk boundary, then resume", test_cancel_and_resume },
        { "long holes, resumed past them and rebuilt across them", test_long_holes_and_resume },
        { "--no-resume and a changed source start over", test_no_resume_and_changed_source },
        { "SIGKILL mid-copy, then resume", test_sigkill_and_resume },
        { "ENOSPC keeps the partial, then resume", test_enospc_then_resume },
        { "verify", test_verify },
        { "bad inputs: one error, no side effect", test_bad_inputs },
        { "spec parsing", test_spec_parse },
        { "manifest round trip and bad manifests", test_manifest_round_trip },
        { "checksum equals libxxhash", test_checksum_matches_xxhash },
        { "ferry copy command line", test_command_line },
        { "--sync flushes the data before every checkpoint", test_sync_flushes_before_checkpoints },
        { "teardown", test_teardown },
        { NULL, NULL },
    };
    return test_run_suite("stream", cases);
}
