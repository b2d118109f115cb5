/*
 * ferry fsck on the lab's export, through each host's FUSE mount (`ferry storage mount`),
 * with both hosts' watch daemons renewing their leases: instances made with qemu-img
 * through hostA's mount look clean from both hosts; defects made through the mount are found
 * from both; a host whose lease is released is a dead owner; each host's -y repairs its own
 * instances (quarantine visible from the other host) and leaves the other's alone; a running
 * guest's files are never touched. Everything is made and removed through the mounts.
 */
#include "lab_support.h"
#include "owner_record.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const hosts[] = { "hostA", "hostB" };
static char *instances;
static char u1[40], u2[40], u3[40], base[64];
static char *guest;

static void write_config(const char *host, const char *spec, const char *id)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    char *path = test_strf("%s/%s/etc-ferry/ferry.conf", dir, host);
    char *text = test_strf("# written by tests/lab/test_fsck.c\n[storage]\nexport = %s\ndriver = fuse\n"
                           "export_id = %s\n[lease]\nrenew_interval = 1s\nfence_after = 10s\nlease_timeout = 20s\n"
                           "[fsck]\nstale_partial_age = 1h\nunused_base_age = 1d\n",
                           spec, id ? id : "");
    CU_ASSERT_EQUAL(test_write_file(path, text), 0);
    free(text);
    free(path);
    free(dir);
}

static void in_host(const char *host, const char *cmd)
{
    struct command_result r;
    lab_exec(&r, host, "set -e; cd %s; %s", instances, cmd);
    if (r.status != 0)
        lab_log("%s: %s: exit %d\n%s%s", host, cmd, r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

static void start_watch(const char *host)
{
    struct command_result r;
    lab_exec(&r, host, "(setsid ferry storage watch </dev/null >>/var/log/ferry/test-fsck-watch.log 2>&1 & "
                       "echo $! > /run/test-fsck-watch.pid)");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

static void stop_watch(const char *host)
{
    struct command_result r;
    lab_exec(&r, host, "test -f /run/test-fsck-watch.pid && kill $(cat /run/test-fsck-watch.pid); "
                       "rm -f /run/test-fsck-watch.pid; sleep 1");
    command_result_free(&r);
}

/* Writes an owner record through host's mount. */
static void claim(const char *host, const char *uuid, const char *owner)
{
    struct owner_record rec = { .state = OWNER_OWNED, .written_at = 1 };
    strcpy(rec.instance, uuid);
    strcpy(rec.host, owner);
    char buf[OWNER_RECORD_MAX + 1];
    CU_ASSERT_FATAL(owner_record_encode(&rec, buf, sizeof(buf)) > 0);
    char *cmd = test_strf("mkdir -p .ferry/owners/%s && printf '%%s' '%s' > .ferry/owners/%s/%s", uuid, buf, uuid,
                          owner);
    in_host(host, cmd);
    free(cmd);
}

static void make_instance(const char *uuid, const char *owner)
{
    char *cmd = test_strf("mkdir %s && qemu-img create -q -f qcow2 -b %s/_base/%s -F raw %s/disk 64M && "
                          "chmod 0666 %s/disk && printf '{\"%s/%s/disk\": \"qcow2\"}' > %s/disk.info",
                          uuid, instances, base, uuid, uuid, instances, uuid, uuid);
    in_host("hostA", cmd);
    free(cmd);
    claim("hostA", uuid, owner);
}

/* ferry fsck ARGS --json on host: the document, and the exit code. */
static struct json_object *fsck(const char *host, const char *args, int *status)
{
    struct command_result r;
    lab_exec(&r, host, "ferry fsck %s --json", args);
    *status = r.status;
    struct json_object *o = json_tokener_parse(r.out);
    if (!o)
        lab_log("%s: ferry fsck %s: exit %d, not JSON:\n%s%s", host, args, r.status, r.out, r.err);
    command_result_free(&r);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static int64_t jint(struct json_object *o, const char *a, const char *b)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, a, &v) && json_object_object_get_ex(v, b, &v) ? json_object_get_int64(v)
                                                                                            : -1;
}

/* The finding of rule on INSTANCES/rel, or NULL. */
static struct json_object *finding(struct json_object *doc, const char *rule, const char *rel)
{
    struct json_object *list;
    char *path = test_strf("%s/%s", instances, rel);
    struct json_object *hit = NULL;
    if (doc && json_object_object_get_ex(doc, "findings", &list))
        for (size_t i = 0; i < json_object_array_length(list) && !hit; i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            if (!strcmp(jstr(e, "rule"), rule) && !strcmp(jstr(e, "path"), path))
                hit = e;
        }
    free(path);
    return hit;
}

/* Findings about this test's instances (other tests may leave things in the store). */
static size_t ours(struct json_object *doc, const char *host)
{
    struct json_object *list;
    size_t n = 0;
    if (doc && json_object_object_get_ex(doc, "findings", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            const char *p = jstr(e, "path");
            bool mine = strstr(p, u1) || strstr(p, u2) || strstr(p, base);
            if (mine)
                n++;
            lab_log("%s: %s %s %s %s: %s", host, mine ? "ours " : "other", jstr(e, "severity"), jstr(e, "rule"), p,
                    jstr(e, "message"));
        }
    return n;
}

static bool fixed(struct json_object *e)
{
    struct json_object *v;
    return e && json_object_object_get_ex(e, "fixed", &v) && json_object_get_boolean(v);
}

/* ---- cases ------------------------------------------------------------------------------------ */

static void test_mount_and_make_instances(void)
{
    struct command_result r;
    instances = lab_env("FERRY_LAB_INSTANCES");
    char *spec = lab_env("FERRY_LAB_EXPORT");
    write_config("hostA", spec, NULL);
    lab_exec(&r, "hostA", "ferry storage init | awk '/^export_id = / {print $3}'");
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    r.out[strcspn(r.out, "\n")] = 0;
    char *id = strdup(r.out);
    command_result_free(&r);
    for (size_t i = 0; i < 2; i++) {
        write_config(hosts[i], spec, id);
        lab_exec(&r, hosts[i], "ferry storage umount >/dev/null 2>&1; ferry storage mount");
        lab_log("%s: ferry storage mount: exit %d %s%s", hosts[i], r.status, r.out, r.err);
        CU_ASSERT_EQUAL_FATAL(r.status, 0);
        command_result_free(&r);
        start_watch(hosts[i]);
    }
    free(id);
    free(spec);
    sleep(3); /* both leases renewed a few times */

    unsigned tag = (unsigned)getpid() & 0xffff;
    snprintf(u1, sizeof(u1), "f5c0%04x-0001-4000-8000-000000000001", tag);
    snprintf(u2, sizeof(u2), "f5c0%04x-0002-4000-8000-000000000002", tag);
    snprintf(u3, sizeof(u3), "f5c0%04x-0003-4000-8000-000000000003", tag);
    snprintf(base, sizeof(base), "fsck-base-%04x", tag);
    char *cmd = test_strf("mkdir -p _base .ferry/owners && qemu-img create -q -f raw _base/%s 64M && "
                          "chmod 0644 _base/%s",
                          base, base);
    in_host("hostA", cmd);
    free(cmd);
    make_instance(u1, "hostA");
    make_instance(u2, "hostB");
}

static void test_clean_from_both_hosts(void)
{
    int status[2];
    int64_t seen[2];
    for (size_t i = 0; i < 2; i++) {
        struct json_object *doc = fsck(hosts[i], "-n", &status[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        lab_log("%s: fsck -n: exit %d, %" PRId64 " instances, %s s", hosts[i], status[i],
                jint(doc, "scanned", "instances"), jstr(doc, "duration_s"));
        CU_ASSERT_EQUAL(ours(doc, hosts[i]), 0);
        CU_ASSERT_STRING_EQUAL(jstr(doc, "store"), instances);
        seen[i] = jint(doc, "scanned", "instances");
        CU_ASSERT(seen[i] >= 2);
        json_object_put(doc);
    }
    CU_ASSERT_EQUAL(seen[0], seen[1]);
    CU_ASSERT_EQUAL(status[0], status[1]);
}

static void test_defects_found_from_both_hosts(void)
{
    char *cmd = test_strf("printf '\\001' | dd of=%s/disk bs=1 seek=79 conv=notrunc 2>/dev/null && "
                          "echo part > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial && "
                          "ln -s /etc %s/escape && "
                          "echo part > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial",
                          u1, u1, u1, u2, u2, u2);
    in_host("hostA", cmd);
    free(cmd);
    char *dirty = test_strf("%s/disk", u1), *partial1 = test_strf("%s/disk.ferry-partial", u1),
         *partial2 = test_strf("%s/disk.ferry-partial", u2), *escape = test_strf("%s/escape", u2);
    for (size_t i = 0; i < 2; i++) {
        int status;
        struct json_object *doc = fsck(hosts[i], "-n", &status);
        CU_ASSERT_PTR_NOT_NULL(finding(doc, "qcow2-dirty-flag", dirty));
        CU_ASSERT_PTR_NOT_NULL(finding(doc, "stale-partial", partial1));
        CU_ASSERT_PTR_NOT_NULL(finding(doc, "stale-partial", partial2));
        CU_ASSERT_PTR_NOT_NULL(finding(doc, "symlink-escape", escape));
        CU_ASSERT_EQUAL(ours(doc, hosts[i]), 4);
        CU_ASSERT(status & 4);
        json_object_put(doc);
    }
    free(dirty);
    free(partial1);
    free(partial2);
    free(escape);
}

static void test_each_host_repairs_its_own(void)
{
    int status;
    char *dirty = test_strf("%s/disk", u1), *partial1 = test_strf("%s/disk.ferry-partial", u1),
         *partial2 = test_strf("%s/disk.ferry-partial", u2), *escape = test_strf("%s/escape", u2);
    /* hostA repairs u1 (its own), and leaves hostB's u2 alone. */
    struct json_object *doc = fsck("hostA", "-y", &status);
    CU_ASSERT_TRUE(fixed(finding(doc, "qcow2-dirty-flag", dirty)));
    CU_ASSERT_TRUE(fixed(finding(doc, "stale-partial", partial1)));
    CU_ASSERT_FALSE(fixed(finding(doc, "stale-partial", partial2)));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "symlink-escape", escape), "guarded"), "owned by hostB"));
    char *quarantine = strdup(jstr(doc, "quarantine"));
    lab_log("hostA: fsck -y: exit %d, quarantine %s", status, quarantine);
    CU_ASSERT(status & 1);
    json_object_put(doc);
    /* hostB sees hostA's quarantine, with its manifest, through its own mount. */
    struct command_result r;
    lab_exec(&r, "hostB", "cat '%s/MANIFEST' && test -f '%s/%s/disk.ferry-partial'", quarantine, quarantine, u1);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "stale-partial\t"));
    command_result_free(&r);
    free(quarantine);
    /* hostB repairs u2. */
    doc = fsck("hostB", "-y", &status);
    CU_ASSERT_TRUE(fixed(finding(doc, "stale-partial", partial2)));
    CU_ASSERT_TRUE(fixed(finding(doc, "symlink-escape", escape)));
    json_object_put(doc);
    for (size_t i = 0; i < 2; i++) {
        doc = fsck(hosts[i], "-n", &status);
        CU_ASSERT_EQUAL(ours(doc, hosts[i]), 0);
        json_object_put(doc);
    }
    free(dirty);
    free(partial1);
    free(partial2);
    free(escape);
}

static void test_dead_owner(void)
{
    stop_watch("hostB"); /* a clean stop: hostB's lease says released */
    int status;
    struct json_object *doc = fsck("hostA", "-n", &status);
    struct json_object *e = finding(doc, "dead-owner", u2);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(e, "message"), "hostB released its lease"));
    CU_ASSERT_PTR_NULL(finding(doc, "dead-owner", u1));
    json_object_put(doc);
    start_watch("hostB");
    sleep(3);
    doc = fsck("hostA", "-n", &status);
    CU_ASSERT_PTR_NULL(finding(doc, "dead-owner", u2));
    json_object_put(doc);
}

static void test_running_guest_untouched(void)
{
    struct command_result r;
    guest = strdup(u3); /* the lab's guests live in INSTANCES/NAME: a UUID makes it an instance */
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", guest, instances), 0);
    command_result_free(&r);
    CU_ASSERT(lab_guest_wait_counter(guest, "hostA", 1, 30) >= 1);
    claim("hostA", u3, "hostA");
    char *cmd = test_strf("echo part > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial", u3, u3);
    in_host("hostA", cmd);
    free(cmd);
    int status;
    char *partial = test_strf("%s/disk.ferry-partial", u3);
    struct json_object *doc = fsck("hostA", "-y", &status);
    struct json_object *e = finding(doc, "stale-partial", partial);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_FALSE(fixed(e));
    lab_log("hostA: running guest's leftover: guarded '%s'", jstr(e, "guarded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(e, "guarded"), "guest running"));
    json_object_put(doc);
    lab_exec(&r, "hostB", "test -f %s/%s", instances, partial);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT(lab_guest_counter(guest, "hostA") >= 1);
    free(partial);
}

static void test_cleanup(void)
{
    struct command_result r;
    if (guest) {
        lab_run(&r, "guest destroy %s", guest);
        command_result_free(&r);
    }
    char *cmd = test_strf("rm -rf %s %s %s _base/%s .ferry/owners/%s .ferry/owners/%s .ferry/owners/%s "
                          ".ferry/quarantine",
                          u1, u2, u3, base, u1, u2, u3);
    in_host("hostA", cmd);
    free(cmd);
    for (size_t i = 0; i < 2; i++) {
        stop_watch(hosts[i]);
        lab_exec(&r, hosts[i], "ferry storage umount");
        command_result_free(&r);
    }
    free(guest);
    free(instances);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "mount on both hosts, make instances through hostA's mount", test_mount_and_make_instances },
        { "clean from both hosts", test_clean_from_both_hosts },
        { "defects made through the mount are found from both hosts", test_defects_found_from_both_hosts },
        { "a host whose lease is released is a dead owner", test_dead_owner },
        { "each host repairs its own instances", test_each_host_repairs_its_own },
        { "a running guest's files are never touched", test_running_guest_untouched },
        { "cleanup through the mount", test_cleanup },
        { NULL, NULL },
    };
    return test_run_suite("lab fsck", cases);
}
