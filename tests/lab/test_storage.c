/*
 * The storage layer against the lab's real nfs-ganesha and libvirt hosts: mount with the
 * fuse driver and validate healthy on both hosts; unhealthy within the deadline when the
 * server stops; the guard; the identity check against a second export; and fencing — a host
 * cut off from the export stops its guest before the other host may call its lease expired,
 * and answers a fence request.
 *
 * The cases run in order and build on each other (one mount, one pair of watch daemons).
 */
#include "lab_support.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Short timers, so that fencing happens within a test: fence after 4 s, expire after 9 s. */
#define RENEW "1s"
#define FENCE_AFTER "4s"
#define LEASE_TIMEOUT "9s"
#define STEP_TIMEOUT "1500ms"
#define PROBE_TIMEOUT_S 2

static const char *const hosts[] = { "hostA", "hostB" };
static char *instances; /* the mount point, as the hosts see it */
static char *export_id;
static char *guest;

static double wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Runs `ferry ARGS` in host with the test's configuration. */
static int ferry(struct command_result *r, const char *host, const char *args)
{
    return lab_exec(r, host, "FERRY_CONF=/etc/ferry/test-storage.conf ferry %s", args);
}

static void write_config(const char *host, const char *export_spec, const char *id)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    char *path = test_strf("%s/%s/etc-ferry/test-storage.conf", dir, host);
    char *text = test_strf("# written by tests/lab/test_storage.c\n"
                           "[storage]\nexport = %s\ndriver = fuse\nexport_id = %s\nprobe_timeout = %ds\n"
                           "[lease]\nrenew_interval = %s\nfence_after = %s\nlease_timeout = %s\n"
                           "fence_step_timeout = %s\n",
                           export_spec, id ? id : "", PROBE_TIMEOUT_S, RENEW, FENCE_AFTER, LEASE_TIMEOUT, STEP_TIMEOUT);
    CU_ASSERT_EQUAL(test_write_file(path, text), 0);
    free(text);
    free(path);
    free(dir);
}

static struct json_object *ferry_json(const char *host, const char *args, int *status)
{
    struct command_result r;
    ferry(&r, host, args);
    *status = r.status;
    struct json_object *o = json_tokener_parse(r.out);
    if (!o)
        lab_log("%s: ferry %s: exit %d, not JSON:\n%s%s", host, args, r.status, r.out, r.err);
    command_result_free(&r);
    return o;
}

static const char *check_status(struct json_object *report, const char *name)
{
    struct json_object *checks, *c, *v;
    if (!json_object_object_get_ex(report, "checks", &checks))
        return "missing";
    for (size_t i = 0; i < json_object_array_length(checks); i++) {
        c = json_object_array_get_idx(checks, i);
        if (json_object_object_get_ex(c, "name", &v) && !strcmp(json_object_get_string(v), name) &&
            json_object_object_get_ex(c, "status", &v))
            return json_object_get_string(v);
    }
    return "missing";
}

static void print_report(const char *host, struct json_object *report)
{
    lab_log("%s: validate:\n%s", host, json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY));
}

static void start_watch(const char *host)
{
    struct command_result r;
    lab_exec(&r, host,
             "FERRY_CONF=/etc/ferry/test-storage.conf setsid ferry storage watch </dev/null "
             ">>/var/log/ferry/test-watch.log 2>&1 & echo $! > /run/test-watch.pid");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

static void stop_watch(const char *host)
{
    struct command_result r;
    lab_exec(&r, host, "test -f /run/test-watch.pid && kill $(cat /run/test-watch.pid); rm -f /run/test-watch.pid");
    command_result_free(&r);
}

static void wait_renewed(const char *host)
{
    for (int i = 0; i < 50; i++) {
        struct command_result r;
        lab_exec(&r, host, "grep -c '\"renewals_ok\": *[1-9]' /run/ferry/watch.json 2>/dev/null");
        bool ok = r.status == 0;
        command_result_free(&r);
        if (ok)
            return;
        usleep(200 * 1000);
    }
    CU_FAIL("the watch daemon did not renew its lease within 10 s");
}

/* ---- cases ----------------------------------------------------------------------------- */

static void test_init_and_mount_both_hosts(void)
{
    char *export_spec = lab_env("FERRY_LAB_EXPORT");
    struct command_result r;
    instances = lab_env("FERRY_LAB_INSTANCES");
    write_config("hostA", export_spec, NULL);
    write_config("hostB", export_spec, NULL);

    ferry(&r, "hostA", "storage init");
    lab_log("hostA: ferry storage init: exit %d\n%s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    char *line = strstr(r.out, "export_id = ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    export_id = strndup(line + strlen("export_id = "), 36);
    command_result_free(&r);

    /* A second init finds the same identity. */
    ferry(&r, "hostB", "storage init");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, export_id));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "already has"));
    command_result_free(&r);

    for (size_t i = 0; i < 2; i++) {
        write_config(hosts[i], export_spec, export_id);
        ferry(&r, hosts[i], "storage mount");
        lab_log("%s: ferry storage mount: exit %d %s%s", hosts[i], r.status, r.out, r.err);
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
        lab_exec(&r, hosts[i], "grep ' %s ' /proc/self/mountinfo", instances);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "fuse.ferry"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, export_spec));
        command_result_free(&r);
        /* Idempotent: the same export already there is success. */
        ferry(&r, hosts[i], "storage mount");
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "already mounted"));
        command_result_free(&r);
    }

    /* Both hosts see one directory: a file written on hostA reads back on hostB. */
    lab_exec(&r, "hostA", "echo shared-by-ferry > %s/test-storage.txt", instances);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    lab_exec(&r, "hostB", "cat %s/test-storage.txt && rm %s/test-storage.txt", instances, instances);
    CU_ASSERT_STRING_EQUAL(r.out, "shared-by-ferry\n");
    command_result_free(&r);
    free(export_spec);
}

static void test_validate_unhealthy_when_server_stops(void)
{
    struct command_result r;
    int status;
    lab_run(&r, "nfs stop");
    command_result_free(&r);
    double t0 = wall_now();
    struct json_object *report = ferry_json("hostA", "storage validate --json", &status);
    double took = wall_now() - t0;
    lab_log("hostA: validate with the NFS server stopped: exit %d in %.2f s (deadline %d s)", status, took,
            PROBE_TIMEOUT_S);
    CU_ASSERT_EQUAL(status, 2);
    CU_ASSERT(took <= PROBE_TIMEOUT_S + 1.0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(report);
    print_report("hostA", report);
    CU_ASSERT_STRING_EQUAL(check_status(report, "reachable"), "fail");
    CU_ASSERT_STRING_EQUAL(check_status(report, "write"), "fail");
    json_object_put(report);

    lab_run(&r, "nfs start");
    command_result_free(&r);
}

static void test_validate_healthy_on_both_hosts(void)
{
    for (size_t i = 0; i < 2; i++)
        start_watch(hosts[i]);
    for (size_t i = 0; i < 2; i++) {
        int status;
        wait_renewed(hosts[i]);
        struct json_object *report = ferry_json(hosts[i], "storage validate --json", &status);
        CU_ASSERT_PTR_NOT_NULL_FATAL(report);
        struct json_object *v;
        json_object_object_get_ex(report, "verdict", &v);
        lab_log("%s: validate: exit %d, verdict %s", hosts[i], status, json_object_get_string(v));
        if (status != 0)
            print_report(hosts[i], report);
        CU_ASSERT_EQUAL(status, 0);
        CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "healthy");
        static const char *const names[] = { "mounted", "source",  "reachable", "identity", "write", "owners",
                                             "space",   "inodes",  "latency",   "options",  "lease", "fenced" };
        for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
            CU_ASSERT_STRING_EQUAL(check_status(report, names[j]), "pass");
        json_object_put(report);
    }
}

/* A garbage record on the export is reported for what it is, and never counted as a lease. */
static void test_garbage_lease_record_reported(void)
{
    struct command_result r;
    lab_exec(&r, "hostA", "printf 'ferry-lease 1\\nhost bogus\\ncounter 99\\n' > %s/.ferry/leases/bogus", instances);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    bool seen = false;
    for (int i = 0; i < 30 && !seen; i++) {
        int status;
        struct json_object *o = ferry_json("hostB", "storage status --json", &status), *peers, *v;
        if (o && json_object_object_get_ex(o, "peers", &peers))
            for (size_t j = 0; j < json_object_array_length(peers); j++) {
                struct json_object *e = json_object_array_get_idx(peers, j);
                if (!json_object_object_get_ex(e, "host", &v) || strcmp(json_object_get_string(v), "bogus"))
                    continue;
                const char *record = json_object_object_get_ex(e, "record", &v) ? json_object_get_string(v) : "";
                const char *live = json_object_object_get_ex(e, "liveness", &v) ? json_object_get_string(v) : "";
                if (strcmp(record, "ok")) {
                    lab_log("hostB sees host bogus: liveness %s, record %s", live, record);
                    CU_ASSERT_STRING_EQUAL(live, "unknown");
                    CU_ASSERT_PTR_NOT_NULL(strstr(record, "truncated"));
                    seen = true;
                }
            }
        json_object_put(o);
        if (!seen)
            usleep(200 * 1000);
    }
    CU_ASSERT(seen);
    lab_exec(&r, "hostA", "rm -f %s/.ferry/leases/bogus", instances);
    command_result_free(&r);
}

static bool guest_stopped_on(const char *host, const char *name)
{
    struct command_result r;
    lab_exec(&r, host, "virsh -c qemu:///system domstate %s", name);
    bool stopped = r.status == 0 && (strstr(r.out, "paused") || strstr(r.out, "shut off"));
    command_result_free(&r);
    return stopped;
}

static const char *peer_liveness_of(const char *observer, const char *peer, char *buf, size_t size)
{
    int status;
    struct json_object *o = ferry_json(observer, "storage status --json", &status), *peers, *v;
    snprintf(buf, size, "?");
    if (o && json_object_object_get_ex(o, "peers", &peers))
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
            struct json_object *e = json_object_array_get_idx(peers, i);
            if (json_object_object_get_ex(e, "host", &v) && !strcmp(json_object_get_string(v), peer) &&
                json_object_object_get_ex(e, "liveness", &v))
                snprintf(buf, size, "%s", json_object_get_string(v));
        }
    json_object_put(o);
    return buf;
}

static void unfence(const char *host)
{
    struct command_result r;
    for (int i = 0; i < 40; i++) {
        ferry(&r, host, "storage unfence");
        bool ok = r.status == 0;
        if (!ok && i == 39)
            lab_log("%s: unfence: %s%s", host, r.out, r.err);
        command_result_free(&r);
        if (ok)
            return;
        usleep(500 * 1000);
    }
    CU_FAIL("unfence did not succeed within 20 s");
}

/* Cut off from the export, hostA stops its guest before hostB may call hostA's lease expired. */
static void test_cut_off_host_fences_before_expiry(void)
{
    struct command_result r;
    char buf[32];
    guest = lab_unique_name("fence");
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", guest, instances), 0);
    lab_log("guest create: %s%s", r.out, r.err);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_FATAL(lab_guest_wait_counter(guest, "hostA", 2, 30) >= 2);
    CU_ASSERT_STRING_EQUAL(peer_liveness_of("hostB", "hostA", buf, sizeof(buf)), "live");

    lab_run(&r, "link down hostA");
    command_result_free(&r);
    double cut = wall_now(), fenced_at = 0, expired_at = 0;
    lab_log("hostA cut off from the network");
    while (wall_now() - cut < 40 && (!fenced_at || !expired_at)) {
        if (!fenced_at && guest_stopped_on("hostA", guest)) {
            fenced_at = wall_now();
            lab_log("hostA stopped guest %s, %.2f s after the cut", guest, fenced_at - cut);
        }
        if (!expired_at && !strcmp(peer_liveness_of("hostB", "hostA", buf, sizeof(buf)), "expired")) {
            expired_at = wall_now();
            lab_log("hostB reports hostA's lease expired, %.2f s after the cut", expired_at - cut);
        }
        usleep(100 * 1000);
    }
    CU_ASSERT(fenced_at > 0);
    CU_ASSERT(expired_at > 0);
    CU_ASSERT(fenced_at < expired_at);
    lab_exec(&r, "hostA", "tail -n 12 /var/log/ferry/test-watch.log");
    lab_log("hostA's watch log:\n%s", r.out);
    command_result_free(&r);

    lab_run(&r, "link up hostA");
    command_result_free(&r);
    /* Fencing cut the storage off and detached the mount: the guarded directory shows. */
    lab_exec(&r, "hostA", "grep -c ' %s ' /proc/self/mountinfo", instances);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n");
    command_result_free(&r);
    ferry(&r, "hostA", "storage mount");
    lab_log("hostA: mount again after fencing: exit %d %s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    lab_run(&r, "guest destroy %s", guest);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf %s/%s", instances, guest);
    command_result_free(&r);
    /* The fenced host refuses... until unfence, allowed once validate is healthy again. */
    ferry(&r, "hostA", "storage status");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FENCED"));
    command_result_free(&r);
    unfence("hostA");
}

static void test_fence_request_acknowledged(void)
{
    struct command_result r;
    char buf[32];
    for (int i = 0; i < 50 && strcmp(peer_liveness_of("hostB", "hostA", buf, sizeof(buf)), "live"); i++)
        usleep(200 * 1000);
    ferry(&r, "hostB", "storage fence --host hostA --wait");
    lab_log("hostB: ferry storage fence --host hostA --wait: exit %d: %s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "acknowledged"));
    command_result_free(&r);
    ferry(&r, "hostA", "storage status --json");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"fenced\": true"));
    command_result_free(&r);
    unfence("hostA");
    ferry(&r, "hostA", "storage status --json");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"fenced\": false"));
    command_result_free(&r);
}

static void test_unmounted_mount_point_refuses_writes(void)
{
    struct command_result r;
    for (size_t i = 0; i < 2; i++)
        stop_watch(hosts[i]);
    ferry(&r, "hostA", "storage umount");
    lab_log("hostA: umount: exit %d %s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    lab_exec(&r, "hostA", "grep -c ' %s ' /proc/self/mountinfo", instances);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n");
    command_result_free(&r);
    lab_exec(&r, "hostA", "touch %s/local-write 2>&1; mkdir %s/local-dir 2>&1", instances, instances);
    lab_log("hostA: writing into the unmounted mount point as root: exit %d: %s", r.status, r.out);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    command_result_free(&r);
    lab_exec(&r, "hostA", "ls -A %s | wc -l", instances);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n");
    command_result_free(&r);
    /* validate says so */
    int status;
    struct json_object *report = ferry_json("hostA", "storage validate --json", &status);
    CU_ASSERT_EQUAL(status, 2);
    CU_ASSERT_STRING_EQUAL(check_status(report, "mounted"), "fail");
    json_object_put(report);
}

static void test_second_export_fails_identity(void)
{
    char *other = lab_env("FERRY_LAB_EXPORT2");
    struct command_result r;
    int status;
    lab_exec(&r, "hostB", "FERRY_CONF=/etc/ferry/test-storage.conf ferry storage umount && "
                          "FERRY_CONF=/etc/ferry/test-storage.conf ferry storage mount --export %s",
             other);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    struct json_object *report = ferry_json("hostB", "storage validate --json", &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(report);
    print_report("hostB", report);
    CU_ASSERT_EQUAL(status, 2);
    CU_ASSERT_STRING_EQUAL(check_status(report, "identity"), "fail");
    CU_ASSERT_STRING_EQUAL(check_status(report, "source"), "fail");
    json_object_put(report);
    /* Mounting the configured export there now is refused, naming both. */
    ferry(&r, "hostB", "storage mount");
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, other));
    command_result_free(&r);
    free(other);
}

static void test_umount_and_mount_again(void)
{
    struct command_result r;
    /* A busy mount stays mounted, and the error names who holds it. */
    lab_exec(&r, "hostA", "FERRY_CONF=/etc/ferry/test-storage.conf ferry storage mount && "
                          "(cd %s && setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $! > /run/test-holder.pid)",
             instances);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    ferry(&r, "hostA", "storage umount");
    lab_log("hostA: umount while a process sits in the mount: exit %d: %s", r.status, r.err);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "sleep (pid"));
    command_result_free(&r);
    lab_exec(&r, "hostA", "kill $(cat /run/test-holder.pid); rm -f /run/test-holder.pid");
    command_result_free(&r);
    usleep(200 * 1000);
    for (size_t i = 0; i < 2; i++) {
        ferry(&r, hosts[i], "storage umount");
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
        ferry(&r, hosts[i], "storage mount");
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
        int status;
        struct json_object *report = ferry_json(hosts[i], "storage validate --json", &status);
        CU_ASSERT_STRING_EQUAL(check_status(report, "identity"), "pass");
        CU_ASSERT_STRING_EQUAL(check_status(report, "write"), "pass");
        json_object_put(report);
        ferry(&r, hosts[i], "storage umount");
        CU_ASSERT_EQUAL(r.status, 0);
        command_result_free(&r);
    }
}

int main(void)
{
    static const struct test_case cases[] = {
        { "init, then mount with the fuse driver on both hosts", test_init_and_mount_both_hosts },
        { "validate unhealthy within the deadline when the server stops", test_validate_unhealthy_when_server_stops },
        { "validate healthy on both hosts", test_validate_healthy_on_both_hosts },
        { "a garbage lease record is reported, never trusted", test_garbage_lease_record_reported },
        { "a host cut off fences its guest before its lease expires", test_cut_off_host_fences_before_expiry },
        { "fence --host --wait gets the acknowledgement", test_fence_request_acknowledged },
        { "an unmounted mount point refuses writes", test_unmounted_mount_point_refuses_writes },
        { "a second export in place of the expected one fails identity", test_second_export_fails_identity },
        { "umount, then mount again", test_umount_and_mount_again },
        { NULL, NULL },
    };
    int r = test_run_suite("storage", cases);
    for (size_t i = 0; i < 2; i++)
        stop_watch(hosts[i]);
    free(instances);
    free(export_id);
    free(guest);
    return r;
}
