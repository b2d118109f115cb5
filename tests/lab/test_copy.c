/*
 * `ferry copy` against the lab's real nfs-ganesha and libvirt: a sparse file into nfs://
 * and back, a file into a volume on the other host through its libvirt (hostA runs ferry,
 * hostB receives) and back out of it, each identical with its holes kept; and a copy into NFS that loses its
 * server midway (lab nfs stop) fails within bounded time, keeps its partial (its checkpoints
 * durable, with --sync), and resumes after the server is back to end identical.
 */
#include "lab_support.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *work;       /* a directory both hosts see (the lab shares the host's /tmp) */
static char *export_dir; /* the export's directory on the server's disk: read only, never deleted in */
static char *nfs_url;    /* nfs://server/srv/nova/<sub> */
static char *sub;

static void shell_ok(const char *fmt, const char *a, const char *b)
{
    struct command_result r;
    command_run_shell(&r, fmt, a, b);
    if (r.status != 0)
        lab_log("failed (%d): %s", r.status, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

static bool same_files(const char *a, const char *b)
{
    struct command_result r;
    command_run_shell(&r, "cmp '%s' '%s'", a, b);
    bool same = r.status == 0;
    if (!same)
        lab_log("cmp %s %s: %s%s", a, b, r.out, r.err);
    command_result_free(&r);
    return same;
}

static long long blocks_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

/* Runs `ferry copy ARGS --json` in hostA; returns the parsed result (NULL on failure). */
static struct json_object *copy_in_hostA(const char *args, int *status, char **err)
{
    struct command_result r;
    lab_exec(&r, "hostA", "ferry copy %s --json", args);
    *status = r.status;
    lab_log("hostA: ferry copy %s: exit %d\n%s%s", args, r.status, r.out, r.err);
    struct json_object *o = r.status == 0 ? json_tokener_parse(r.out) : NULL;
    if (err)
        *err = strdup(r.err);
    command_result_free(&r);
    return o;
}

static long long json_int(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static void test_setup(void)
{
    char *dir = lab_env("FERRY_LAB_DIR"), *url = lab_env("FERRY_LAB_EXPORT_URL");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(url);
    sub = lab_unique_name("copy");
    work = test_strf("%s/shared/%s", dir, sub);
    export_dir = test_strf("%s/nfs/export/%s", dir, sub);
    /* nfs://server/srv/nova?version=3 -> nfs://server/srv/nova/<sub> */
    *strchr(url, '?') = 0;
    nfs_url = test_strf("%s/%s", url, sub);
    CU_ASSERT_EQUAL_FATAL(mkdir(work, 0755), 0);
    /* Made behind ganesha's back: fine for a new directory (only deletions are not). */
    CU_ASSERT_EQUAL_FATAL(mkdir(export_dir, 0755), 0);
    /* A sparse source: 64 MiB with data at the start, the middle and the last byte, and
     * 2 MiB of written zeros that must become a hole. */
    shell_ok("cd '%s' && truncate -s 64M src && dd if=/dev/urandom of=src bs=1M count=3 conv=notrunc status=none && "
             "dd if=/dev/zero of=src bs=1M count=2 seek=20 conv=notrunc status=none && "
             "dd if=/dev/urandom of=src bs=1M count=5 seek=30 conv=notrunc status=none && "
             "printf z | dd of=src bs=1 seek=67108863 conv=notrunc status=none && "
             "head -c 256M /dev/urandom > big%s", work, "");
    free(dir);
    free(url);
}

static void test_file_to_nfs_and_back(void)
{
    int status;
    char *args = test_strf("'%s/src' '%s/src' --verify", work, nfs_url);
    struct json_object *o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 0);
    char *on_server = test_strf("%s/src", export_dir), *src = test_strf("%s/src", work);
    CU_ASSERT_TRUE(same_files(src, on_server));
    /* Holes stayed holes on the server (9 MiB of data, within a chunk). */
    CU_ASSERT(blocks_of(on_server) <= 9 * 1048576 + 4 * 1048576);
    CU_ASSERT_EQUAL(json_int(o, "data_bytes"), 8 * 1048576 + 4096);
    json_object_put(o);
    free(args);

    args = test_strf("'%s/src' '%s/back'", nfs_url, work);
    o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 0);
    char *back = test_strf("%s/back", work);
    CU_ASSERT_TRUE(same_files(src, back));
    CU_ASSERT(blocks_of(back) <= 9 * 1048576 + 4 * 1048576);
    json_object_put(o);
    free(args);
    free(back);
    free(src);
    free(on_server);
}

static void test_file_to_volume_on_other_host(void)
{
    int status;
    char *dst_dir = test_strf("%s/hostB-dir", work);
    CU_ASSERT_EQUAL_FATAL(mkdir(dst_dir, 0755), 0);
    char *args = test_strf("'%s/src' 'libvirt://hostB%s/disk' --verify", work, dst_dir);
    struct json_object *o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 0);
    struct json_object *v;
    CU_ASSERT_TRUE(o && json_object_object_get_ex(o, "verified", &v) && json_object_get_boolean(v));
    char *src = test_strf("%s/src", work), *dst = test_strf("%s/disk", dst_dir);
    CU_ASSERT_TRUE(same_files(src, dst));
    CU_ASSERT(blocks_of(dst) <= 9 * 1048576 + 4 * 1048576);
    /* Nothing left behind: no manifest, no ferry pool on hostB. */
    char *manifest = test_strf("%s/disk.ferry-partial.manifest", dst_dir);
    CU_ASSERT_EQUAL(access(manifest, F_OK), -1);
    struct command_result r;
    lab_exec(&r, "hostB", "virsh -q -c qemu:///system pool-list --all --name");
    CU_ASSERT_PTR_NULL(strstr(r.out, "ferry-"));
    command_result_free(&r);
    json_object_put(o);

    /* It exists now: refused without --force. */
    o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 1);
    json_object_put(o);
    free(args);

    /* And back: a volume on hostB read through its libvirt (a sparse download) into a file. */
    char *fetched = test_strf("%s/fetched", work);
    args = test_strf("'libvirt://hostB%s/disk' '%s' --verify", dst_dir, fetched);
    o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_TRUE(same_files(src, fetched));
    CU_ASSERT(blocks_of(fetched) <= 9 * 1048576 + 4 * 1048576);
    json_object_put(o);
    free(args);
    free(fetched);
    free(manifest);
    free(src);
    free(dst);
    free(dst_dir);
}

/* The NFS server goes away mid-copy: ferry fails in bounded time, keeps the partial, and
 * the next run resumes after the server is back. The first run is durable (--sync): its
 * checkpoints come after a COMMIT, and the one it tries after losing the server (whose COMMIT
 * fails) is not written, so it resumes from the last one the server confirmed. */
static void test_interrupted_by_server_stop_resumes(void)
{
    struct command_result r;
    char *log = test_strf("%s/copy.log", work);
    lab_exec(&r, "hostA", "cd '%s' && (ferry copy big '%s/big' --sync --bwlimit 48M > '%s' 2>&1; echo $? >> '%s') "
                          "</dev/null >/dev/null 2>&1 & sleep 2.5", work, nfs_url, log, log);
    command_result_free(&r);
    lab_run(&r, "nfs stop");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    /* ferry must give up on its own, within its deadline. */
    char *text = NULL;
    for (int i = 0; i < 300; i++) {
        free(text);
        text = test_read_file(log);
        if (text && strchr(text, '\n') && (strstr(text, "\n1\n") || strstr(text, "\n0\n") || text[0] == '0' ||
                                           text[0] == '1'))
            break;
        usleep(100 * 1000);
    }
    lab_log("ferry while the server stopped: %s", text ? text : "(nothing)");
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "run the copy again"));
    free(text);
    char *partial = test_strf("%s/big.ferry-partial", export_dir), *manifest = test_strf("%s/big.ferry-partial.manifest", export_dir);
    char *final = test_strf("%s/big", export_dir);
    CU_ASSERT_EQUAL(access(partial, F_OK), 0);
    CU_ASSERT_EQUAL(access(manifest, F_OK), 0);
    CU_ASSERT_EQUAL(access(final, F_OK), -1);

    lab_run(&r, "nfs start");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    int status;
    char *args = test_strf("'%s/big' '%s/big'", work, nfs_url);
    struct json_object *o = copy_in_hostA(args, &status, NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT(json_int(o, "resumed_from") > 0);
    char *src = test_strf("%s/big", work);
    CU_ASSERT_TRUE(same_files(src, final));
    CU_ASSERT_EQUAL(access(partial, F_OK), -1);
    CU_ASSERT_EQUAL(access(manifest, F_OK), -1);
    json_object_put(o);
    free(args);
    free(src);
    free(partial);
    free(manifest);
    free(final);
    free(log);
}

static void test_teardown(void)
{
    /* The local side only; what is on the export goes with the lab (never deleted behind
     * ganesha's back). */
    struct command_result r;
    command_run_shell(&r, "rm -rf '%s'", work);
    command_result_free(&r);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "setup", test_setup },
        { "file to nfs:// and back", test_file_to_nfs_and_back },
        { "file to a volume on the other host (libvirt)", test_file_to_volume_on_other_host },
        { "NFS server stopped mid-copy, then resume", test_interrupted_by_server_stop_resumes },
        { "teardown", test_teardown },
        { NULL, NULL },
    };
    return test_run_suite("copy", cases);
}
