/*
 * ferry migrate against the lab: the state-only path hostA -> hostB -> hostA with the disk
 * on the shared export (the guest keeps counting, its disk is the same file); a forced
 * shared migration without sharing is refused with nothing changed; --dry-run changes
 * nothing.
 */
#include "lab_support.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const hosts[] = { "hostA", "hostB" };
static char *instances, *export_spec, *export2;

static void write_config(const char *host, const char *spec, const char *id)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    char *path = test_strf("%s/%s/etc-ferry/ferry.conf", dir, host);
    char *text = test_strf("# written by tests/lab/test_migrate.c\n[storage]\nexport = %s\ndriver = fuse\n"
                           "export_id = %s\n[lease]\nrenew_interval = 1s\nfence_after = 10s\nlease_timeout = 20s\n",
                           spec, id ? id : "");
    CU_ASSERT_EQUAL(test_write_file(path, text), 0);
    free(text);
    free(path);
    free(dir);
}

static void setup_storage(void)
{
    struct command_result r;
    instances = lab_env("FERRY_LAB_INSTANCES");
    export_spec = lab_env("FERRY_LAB_EXPORT");
    export2 = lab_env("FERRY_LAB_EXPORT2");
    write_config("hostA", export_spec, NULL);
    lab_exec(&r, "hostA", "ferry storage init | awk '/^export_id = / {print $3}'");
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    r.out[strcspn(r.out, "\n")] = 0;
    char *id = strdup(r.out);
    command_result_free(&r);
    for (size_t i = 0; i < 2; i++) {
        write_config(hosts[i], export_spec, id);
        lab_exec(&r, hosts[i], "ferry storage umount >/dev/null; ferry storage mount && "
                               "(setsid ferry storage watch </dev/null >>/var/log/ferry/test-migrate-watch.log 2>&1 & "
                               "echo $! > /run/test-migrate-watch.pid)");
        CU_ASSERT_EQUAL_FATAL(r.status, 0);
        command_result_free(&r);
    }
    free(id);
    sleep(3); /* each watch daemon sees the other's counter move */
}

static void teardown_storage(void)
{
    struct command_result r;
    for (size_t i = 0; i < 2; i++) {
        lab_exec(&r, hosts[i], "test -f /run/test-migrate-watch.pid && kill $(cat /run/test-migrate-watch.pid); "
                               "rm -f /run/test-migrate-watch.pid; sleep 0.5; ferry storage umount");
        command_result_free(&r);
    }
}

/* Runs ferry migrate on host with args; returns the parsed JSON result (and the exit code). */
static struct json_object *migrate(const char *host, const char *args, int *status)
{
    struct command_result r;
    lab_exec(&r, host, "ferry migrate %s --json", args);
    *status = r.status;
    struct json_object *o = json_tokener_parse(r.out);
    lab_log("%s: ferry migrate %s: exit %d\n%s%s", host, args, r.status, r.out, r.err);
    command_result_free(&r);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static int64_t jtiming(struct json_object *o, const char *key)
{
    struct json_object *t, *v;
    if (!o || !json_object_object_get_ex(o, "timings", &t) || !json_object_object_get_ex(t, key, &v))
        return -1;
    return json_object_get_int64(v);
}

static bool defined_on(const char *host, const char *name)
{
    struct command_result r;
    lab_exec(&r, host, "virsh -c qemu:///system list --all --name | grep -cx '%s'", name);
    bool yes = !strcmp(r.out, "1\n");
    command_result_free(&r);
    return yes;
}

static bool running_on(const char *host, const char *name)
{
    struct command_result r;
    lab_exec(&r, host, "virsh -c qemu:///system domstate '%s'", name);
    bool yes = r.status == 0 && !strncmp(r.out, "running", 7);
    command_result_free(&r);
    return yes;
}

/* Moves name from -> to on the shared path and proves it kept running with its disk. */
static void shared_move(const char *name, const char *from, const char *to)
{
    int status;
    long before = lab_guest_counter(name, from);
    char *args = test_strf("%s --to %s", name, to);
    struct json_object *o = migrate(from, args, &status);
    free(args);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "ok");
    CU_ASSERT_STRING_EQUAL(jstr(o, "path"), "shared");
    lab_log("%s -> %s: checks %lld ms, migrate %lld ms, downtime %lld ms", from, to, (long long)jtiming(o, "checks_ms"),
            (long long)jtiming(o, "migrate_ms"), (long long)jtiming(o, "downtime_ms"));
    json_object_put(o);

    long last_from = lab_guest_counter(name, from);
    long later = lab_guest_wait_counter(name, to, last_from + 2, 30);
    /* The destination's log may hold an earlier stay: the count goes on from where it stopped. */
    char *dir = lab_env("FERRY_LAB_DIR");
    struct command_result r;
    command_run_shell(&r, "tr -d '\\r' < '%s/%s/var-log-libvirt/qemu/%s-console.log' | "
                          "awk '/^ferry-guest counter/ {print $3}' | grep -n -x %ld | head -1",
                      dir, to, name, last_from + 1);
    lab_log("%s's console stops at %ld (was %ld before); %s's has %ld next and reaches %ld", from, last_from, before,
            to, last_from + 1, later);
    CU_ASSERT_NOT_EQUAL(r.out[0], 0); /* last_from + 1 appears on the destination */
    command_result_free(&r);
    free(dir);
    CU_ASSERT(later >= last_from + 2);
    CU_ASSERT(running_on(to, name));
    CU_ASSERT_FALSE(defined_on(from, name));
    /* The same disk: the counter stored in it, read on the destination, keeps up. */
    CU_ASSERT(lab_guest_disk_counter(name, to, instances) >= last_from + 1);
}

static void test_shared_there_and_back(void)
{
    struct command_result r;
    char *name = lab_unique_name("mig-shared");
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", name, instances), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_FATAL(lab_guest_wait_counter(name, "hostA", 2, 30) >= 2);
    shared_move(name, "hostA", "hostB");
    shared_move(name, "hostB", "hostA");
    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf %s/%s", instances, name);
    command_result_free(&r);
    free(name);
}

static void test_dry_run_changes_nothing(void)
{
    struct command_result r;
    int status;
    char *name = lab_unique_name("mig-dry");
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", name, instances), 0);
    command_result_free(&r);
    char *args = test_strf("%s --to hostB --dry-run", name);
    struct json_object *o = migrate("hostA", args, &status);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "planned");
    CU_ASSERT_STRING_EQUAL(jstr(o, "path"), "shared");
    json_object_put(o);
    free(args);
    args = test_strf("check %s --to hostB", name);
    o = migrate("hostA", args, &status);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "planned");
    json_object_put(o);
    free(args);
    CU_ASSERT(running_on("hostA", name));
    CU_ASSERT_FALSE(defined_on("hostB", name));
    /* the sharing token is gone from the store */
    lab_exec(&r, "hostA", "ls %s | grep -c ferry-token", instances);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n");
    command_result_free(&r);
    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf %s/%s", instances, name);
    command_result_free(&r);
    free(name);
}

/* hostB sees other storage: a forced shared migration must be refused, and nothing change. */
static void test_forced_shared_without_sharing_refused(void)
{
    struct command_result r;
    int status;
    char *name = lab_unique_name("mig-refused");
    lab_exec(&r, "hostB", "ferry storage umount && ferry storage mount --export %s", export2);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", name, instances), 0);
    command_result_free(&r);
    CU_ASSERT(lab_guest_wait_counter(name, "hostA", 1, 30) >= 1);

    char *args = test_strf("%s --to hostB --mode shared", name);
    struct json_object *o = migrate("hostA", args, &status);
    CU_ASSERT_EQUAL(status, 2);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "refused");
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(o, "cause"), "shared storage is not proven"));
    json_object_put(o);
    free(args);
    CU_ASSERT(running_on("hostA", name));
    CU_ASSERT_FALSE(defined_on("hostB", name));
    lab_exec(&r, "hostB", "ls -A %s | grep -v '^.ferry$' | wc -l", instances);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n");
    command_result_free(&r);

    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf %s/%s", instances, name);
    command_result_free(&r);
    lab_exec(&r, "hostB", "ferry storage umount && ferry storage mount");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    free(name);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "both hosts mount the export and hold leases", setup_storage },
        { "shared path hostA -> hostB -> hostA keeps the guest counting", test_shared_there_and_back },
        { "--dry-run and check change nothing", test_dry_run_changes_nothing },
        { "forced shared without sharing is refused, nothing changed", test_forced_shared_without_sharing_refused },
        { "both hosts unmount", teardown_storage },
        { NULL, NULL },
    };
    int r = test_run_suite("migrate", cases);
    free(instances);
    free(export_spec);
    free(export2);
    return r;
}
