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
static char *instances, *export_spec, *export2, *store_id;

static void write_config(const char *host, const char *spec, const char *id, const char *extra)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    char *path = test_strf("%s/%s/etc-ferry/ferry.conf", dir, host);
    /* The lab's guests have no ACPI: a cold move must be allowed to destroy them. */
    char *text = test_strf("# written by tests/lab/test_migrate.c\n[storage]\nexport = %s\ndriver = fuse\n"
                           "export_id = %s\n[lease]\nrenew_interval = 1s\nfence_after = 10s\nlease_timeout = 20s\n"
                           "[migrate]\nshutdown_timeout = 2s\nallow_destroy = true\n%s",
                           spec, id ? id : "", extra ? extra : "");
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
    write_config("hostA", export_spec, NULL, NULL);
    lab_exec(&r, "hostA", "ferry storage init | awk '/^export_id = / {print $3}'");
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    r.out[strcspn(r.out, "\n")] = 0;
    char *id = strdup(r.out);
    store_id = strdup(id);
    command_result_free(&r);
    for (size_t i = 0; i < 2; i++) {
        write_config(hosts[i], export_spec, id, NULL);
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

static int64_t jint(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : -1;
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

/* Destroys and undefines the guest on both hosts and removes its files from the store as
 * host sees it (through the mount: never in the exported directory itself). */
static void remove_guest(const char *name, const char *host)
{
    struct command_result r;
    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, host, "rm -rf %s/%s", instances, name);
    command_result_free(&r);
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

/* Every host's ferry.conf with the store's identity and EXTRA in [migrate] (NULL: none). */
static void configure_both(const char *extra)
{
    for (size_t i = 0; i < 2; i++)
        write_config(hosts[i], export_spec, store_id, extra);
}

/* A new guest on hostA (lab guest create OPTIONS), counting; returns its name. */
static char *start_guest(const char *prefix, const char *options)
{
    struct command_result r;
    char *name = lab_unique_name(prefix);
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s %s", name, instances, options), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_FATAL(lab_guest_wait_counter(name, "hostA", 2, 30) >= 2);
    return name;
}

/* The guest runs on HOST and its counter still goes up there. */
static void still_counting(const char *name, const char *host)
{
    long now = lab_guest_counter(name, host);
    CU_ASSERT(lab_guest_wait_counter(name, host, now + 2, 10) >= now + 2);
    CU_ASSERT(running_on(host, name));
}

static void test_shared_there_and_back(void)
{
    char *name = start_guest("mig-shared", "");
    shared_move(name, "hostA", "hostB");
    shared_move(name, "hostB", "hostA");
    remove_guest(name, "hostA");
    free(name);
}

/* The same moves with libvirt over TLS (qemu+tls://, certificates from the lab's CA): ferry's
 * checks, its proof of sharing and libvirt's peer-to-peer migration all go through it. */
static void test_shared_over_tls(void)
{
    struct command_result r;
    configure_both("uri_template = qemu+tls://%s/system\n");
    char *name = start_guest("mig-tls", "");
    lab_exec(&r, "hostA", "ferry migrate check %s --to hostB --json", name);
    lab_log("check over TLS: exit %d\n%s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    ASSERT_CONTAINS(r.out, "libvirtd on hostB answers at qemu+tls://hostB/system");
    ASSERT_NOT_CONTAINS(r.out, "unauthenticated");
    command_result_free(&r);
    shared_move(name, "hostA", "hostB");
    shared_move(name, "hostB", "hostA");
    remove_guest(name, "hostA");
    configure_both(NULL);
    free(name);
}

/* A guest that dirties its memory faster than the migration may copy it (a --busy guest
 * rewrites 2 MiB at every tick, round 24 MiB; [migrate] bandwidth = 1 MiB/s) cannot finish:
 * once completion_timeout has passed, ferry
 * aborts the job, and the guest goes on running here, with nothing of it left on the
 * destination. */
static void test_completion_timeout_aborts(void)
{
    configure_both("bandwidth = 1\ncompletion_timeout = 3s\n");
    char *name = start_guest("mig-busy", "--busy");
    int status;
    char *args = test_strf("%s --to hostB", name);
    struct json_object *o = migrate("hostA", args, &status);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "rolled-back");
    ASSERT_CONTAINS(jstr(o, "cause"), "completion_timeout");
    int64_t took = jtiming(o, "migrate_ms");
    lab_log("a busy guest at 1 MiB/s: aborted after %lld ms", (long long)took);
    CU_ASSERT(took >= 3000 && took < 15000);
    json_object_put(o);
    still_counting(name, "hostA");
    CU_ASSERT_FALSE(defined_on("hostB", name));
    remove_guest(name, "hostA");
    configure_both(NULL);
    free(args);
    free(name);
}

/* The same busy guest with allow_post_copy: when completion_timeout passes, ferry switches
 * the migration to post-copy and it completes on the destination; or, where the destination's
 * QEMU cannot have a userfaultfd (this lab's QEMU 7.2 runs unprivileged, and
 * vm.unprivileged_userfaultfd is 0 on the machine), libvirt refuses post-copy at the start
 * and ferry rolls back, saying what post-copy needs. Either way the guest keeps running. */
static void test_post_copy(void)
{
    configure_both("bandwidth = 1\ncompletion_timeout = 3s\nallow_post_copy = true\n");
    char *name = start_guest("mig-postcopy", "--busy");
    int status;
    char *args = test_strf("%s --to hostB", name);
    struct json_object *o = migrate("hostA", args, &status);
    const char *where;
    if (!strcmp(jstr(o, "result"), "ok")) {
        lab_log("post-copy completed the move in %lld ms", (long long)jtiming(o, "migrate_ms"));
        CU_ASSERT_EQUAL(status, 0);
        CU_ASSERT(jtiming(o, "migrate_ms") >= 3000);
        where = "hostB";
    } else {
        lab_log("post-copy refused here: %s", jstr(o, "cause"));
        CU_ASSERT_EQUAL(status, 1);
        CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "rolled-back");
        ASSERT_CONTAINS(jstr(o, "cause"), "allow_post_copy needs userfaultfd");
        CU_ASSERT_FALSE(defined_on("hostB", name));
        where = "hostA";
    }
    json_object_put(o);
    still_counting(name, where);
    remove_guest(name, where);
    configure_both(NULL);
    free(args);
    free(name);
}

/* Nova names instance directories by UUID; ferry keeps their owner records true. */
static void test_owner_record_follows_guest(void)
{
    struct command_result r;
    int status;
    const char *uuid = "7a1c0f52-3b9e-4d2a-9c61-0e5b8f4d2a17";
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", uuid, instances), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT(lab_guest_wait_counter(uuid, "hostA", 1, 30) >= 1);
    char *args = test_strf("%s --to hostB", uuid);
    struct json_object *o = migrate("hostA", args, &status);
    free(args);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "ok");
    json_object_put(o);
    lab_exec(&r, "hostA", "ls %s/.ferry/owners/%s; cat %s/.ferry/owners/%s/hostB", instances, uuid, instances, uuid);
    lab_log("owner records after hostA -> hostB:\n%s", r.out);
    CU_ASSERT_STRING_EQUAL(strtok(r.out, "\n"), "hostB"); /* only hostB claims it */
    command_result_free(&r);
    lab_exec(&r, "hostB", "grep -x 'state owned' %s/.ferry/owners/%s/hostB", instances, uuid);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    /* fsck on either host sees one owner, alive: no owner findings */
    lab_exec(&r, "hostA", "ferry fsck -n --json --instances %s", instances);
    if (strstr(r.out, "\"rule\": \"double-owner\"") || strstr(r.out, "\"rule\": \"dead-owner\""))
        lab_log("fsck on hostA:\n%s", r.out);
    CU_ASSERT_PTR_NULL(strstr(r.out, "\"rule\": \"double-owner\""));
    CU_ASSERT_PTR_NULL(strstr(r.out, "\"rule\": \"dead-owner\""));
    command_result_free(&r);
    lab_run(&r, "guest destroy %s", uuid);
    command_result_free(&r);
    lab_exec(&r, "hostB", "rm -rf %s/%s %s/.ferry/owners/%s", instances, uuid, instances, uuid);
    command_result_free(&r);
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
    remove_guest(name, "hostA");
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

    remove_guest(name, "hostA");
    free(name);
}

static char *file_checksum(const char *host, const char *path)
{
    struct command_result r;
    lab_exec(&r, host, "sha256sum '%s' | cut -d' ' -f1", path);
    char *sum = r.status == 0 ? strndup(r.out, 64) : strdup("missing");
    command_result_free(&r);
    return sum;
}

static bool exists_on(const char *host, const char *path)
{
    struct command_result r;
    lab_exec(&r, host, "test -e '%s'", path);
    bool yes = r.status == 0;
    command_result_free(&r);
    return yes;
}

/* Sharing is broken (hostB mounts other storage, from the previous case): auto falls back
 * to block migration, copying the base image and the config drive itself. */
static void test_block_fallback(void)
{
    int status;
    char *name = start_guest("mig-block", "--backing --config-drive iso9660");
    char *base = test_strf("%s/_base/ferry-guest-base", instances);
    char *cdrom = test_strf("%s/%s/disk.config", instances, name);
    char *base_sum = file_checksum("hostA", base), *cd_sum = file_checksum("hostA", cdrom);

    char *args = test_strf("%s --to hostB", name);
    struct json_object *o = migrate("hostA", args, &status);
    free(args);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "ok");
    CU_ASSERT_STRING_EQUAL(jstr(o, "path"), "block");
    lab_log("block: stream %lld ms, migrate %lld ms, downtime %lld ms", (long long)jtiming(o, "stream_ms"),
            (long long)jtiming(o, "migrate_ms"), (long long)jtiming(o, "downtime_ms"));
    json_object_put(o);

    long last_a = lab_guest_counter(name, "hostA");
    long later = lab_guest_wait_counter(name, "hostB", last_a + 2, 30);
    long first_b = lab_guest_first_counter(name, "hostB");
    lab_log("hostA's console stops at %ld; hostB's starts at %ld, reaches %ld", last_a, first_b, later);
    CU_ASSERT_EQUAL(first_b, last_a + 1);
    CU_ASSERT(later >= last_a + 2);
    CU_ASSERT(running_on("hostB", name));
    CU_ASSERT_FALSE(defined_on("hostA", name));
    /* Its disk came along (the counter stored in hostB's copy keeps up), and the base image
     * and the config drive arrived identical. */
    CU_ASSERT(lab_guest_disk_counter(name, "hostB", instances) >= last_a + 1);
    char *there = file_checksum("hostB", base);
    CU_ASSERT_STRING_EQUAL(there, base_sum);
    free(there);
    there = file_checksum("hostB", cdrom);
    CU_ASSERT_STRING_EQUAL(there, cd_sum);
    free(there);
    /* The source's instance directory is gone (it was not shared). */
    char *dir = test_strf("%s/%s", instances, name);
    CU_ASSERT_FALSE(exists_on("hostA", dir));
    free(dir);

    remove_guest(name, "hostB");
    free(base_sum);
    free(cd_sum);
    free(base);
    free(cdrom);
    free(name);
}

/* A cold move: the guest goes down here, its files are copied identical, and it starts
 * there, counting on from what its disk remembered. */
/* Removes NAME_resize, the source's files a cold move kept aside on hostA. */
static void remove_kept(const char *name)
{
    struct command_result r;
    lab_exec(&r, "hostA", "rm -rf '%s/%s_resize'", instances, name);
    command_result_free(&r);
}

static void test_cold(void)
{
    int status;
    char *name = start_guest("mig-cold", "--backing --config-drive vfat");
    char *disk = test_strf("%s/%s/disk", instances, name);

    char *args = test_strf("%s --to hostB --mode cold", name);
    struct json_object *o = migrate("hostA", args, &status);
    free(args);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "ok");
    CU_ASSERT_STRING_EQUAL(jstr(o, "path"), "cold");
    /* disk, disk.config, disk.info, libvirt.xml (and the base image, unless hostB has it) */
    CU_ASSERT(jint(o, "files_verified") >= 4);
    json_object_put(o);

    long stored = lab_guest_counter(name, "hostA");
    CU_ASSERT(lab_guest_wait_counter(name, "hostB", 1, 30) >= 1);
    long first_b = lab_guest_first_counter(name, "hostB");
    lab_log("cold: hostA's console stopped at %ld; hostB's starts at %ld", stored, first_b);
    /* The guest resumes counting from its disk: at most the one unsaved tick is lost. */
    CU_ASSERT(first_b >= stored && first_b <= stored + 1);
    CU_ASSERT(running_on("hostB", name));
    CU_ASSERT_FALSE(defined_on("hostA", name));
    CU_ASSERT_FALSE(exists_on("hostA", disk));
    /* The source's files are kept aside as NAME_resize, as Nova keeps a resized instance's. */
    char *kept = test_strf("%s/%s_resize/disk", instances, name);
    CU_ASSERT(exists_on("hostA", kept));

    remove_guest(name, "hostB");
    remove_kept(name);
    free(kept);
    free(disk);
    free(name);
}

/* A shut-off guest moved cold arrives with images identical to the source's. */
static void test_cold_shut_off_identical(void)
{
    struct command_result r;
    int status;
    char *name = lab_unique_name("mig-off");
    char *disk = test_strf("%s/%s/disk", instances, name);
    char *cd = test_strf("%s/%s/disk.config", instances, name);
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s --config-drive vfat --no-start", name, instances), 0);
    command_result_free(&r);
    char *disk_sum = file_checksum("hostA", disk), *cd_sum = file_checksum("hostA", cd);
    char *args = test_strf("%s --to hostB", name);
    struct json_object *o = migrate("hostA", args, &status);
    free(args);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "path"), "cold");
    json_object_put(o);
    char *there = file_checksum("hostB", disk);
    CU_ASSERT_STRING_EQUAL(there, disk_sum);
    free(there);
    there = file_checksum("hostB", cd);
    CU_ASSERT_STRING_EQUAL(there, cd_sum);
    free(there);
    CU_ASSERT(defined_on("hostB", name));
    CU_ASSERT_FALSE(running_on("hostB", name));
    /* The copy kept aside here is the same image: a safety net until hostB has written back. */
    char *kept = test_strf("%s/%s_resize/disk", instances, name);
    there = file_checksum("hostA", kept);
    CU_ASSERT_STRING_EQUAL(there, disk_sum);
    free(there);
    free(kept);
    remove_guest(name, "hostB");
    remove_kept(name);
    free(disk_sum);
    free(cd_sum);
    free(disk);
    free(cd);
    free(name);
}

enum interruption { KILL_DEST_LIBVIRTD, CTRL_C };

/*
 * A block migration interrupted while libvirt mirrors the disk — the destination's libvirtd
 * dies, or the operator presses Ctrl-C — ends rolled-back: the guest goes on running on
 * hostA with its disk, and nothing of it is left on hostB.
 */
static void interrupt_block_migration(enum interruption how)
{
    struct command_result r;
    char *name = lab_unique_name(how == CTRL_C ? "mig-int" : "mig-kill");
    CU_ASSERT_EQUAL_FATAL(
        lab_run(&r, "guest create %s hostA %s --format raw --size 512M --no-start", name, instances), 0);
    command_result_free(&r);
    /* Data to mirror, so that there is time to interrupt. */
    lab_exec(&r, "hostA", "qemu-io -f raw -c 'write -P 0xab 1M 384M' %s/%s/disk >/dev/null && "
                          "virsh -c qemu:///system start %s",
             instances, name, name);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_FATAL(lab_guest_wait_counter(name, "hostA", 1, 30) >= 1);

    char *dir = lab_env("FERRY_LAB_DIR");
    char *out = test_strf("%s/migrate-%s.json", dir, name);
    /* 40 MiB/s: the 384 MiB take seconds to mirror, time enough to interrupt. */
    char *cfgpath = test_strf("%s/hostA/etc-ferry/slow.conf", dir);
    char *confpath = test_strf("%s/hostA/etc-ferry/ferry.conf", dir);
    char *conf = test_read_file(confpath);
    char *slow = test_strf("%s[migrate]\nbandwidth = 40\n", conf ? conf : "");
    CU_ASSERT_EQUAL(test_write_file(cfgpath, slow), 0);
    free(confpath);
    free(conf);
    free(slow);
    lab_exec(&r, "hostA", "ferry --config /etc/ferry/slow.conf migrate %s --to hostB --json > %s 2>&1 & echo $!", name,
             out);
    long pid = strtol(r.out, NULL, 10);
    command_result_free(&r);
    /* Wait for the storage copy to be under way, then interrupt. */
    bool copying = false;
    for (int i = 0; i < 300 && !copying; i++) {
        lab_exec(&r, "hostA",
                 "virsh -c qemu:///system domjobinfo %s 2>/dev/null | grep -c -e 'File remaining' -e 'Data remaining'",
                 name);
        copying = r.status == 0;
        command_result_free(&r);
        if (!copying)
            usleep(50 * 1000);
    }
    CU_ASSERT(copying);
    if (how == CTRL_C) {
        lab_exec(&r, "hostA", "kill -INT %ld", pid);
        lab_log("Ctrl-C (SIGINT) to ferry, pid %ld: exit %d", pid, r.status);
        command_result_free(&r);
    } else {
        lab_run(&r, "libvirtd kill hostB");
        lab_log("%s", r.out);
        command_result_free(&r);
        sleep(2);
        lab_run(&r, "libvirtd start hostB");
        lab_log("%s", r.out);
        command_result_free(&r);
    }

    /* ferry finishes its rollback (once hostB's libvirt answers again). */
    struct json_object *o = NULL;
    for (int i = 0; i < 60 && !o; i++) {
        char *text = test_read_file(out);
        if (text && strstr(text, "\"result\"")) {
            o = json_tokener_parse(strchr(text, '{'));
            lab_log("ferry's output:\n%.*s", (int)(strchr(text, '{') - text), text);
        }
        free(text);
        if (!o)
            sleep(1);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    lab_log("result: %s: %s", jstr(o, "result"), jstr(o, "cause"));
    CU_ASSERT_STRING_EQUAL(jstr(o, "result"), "rolled-back");
    json_object_put(o);

    long before = lab_guest_counter(name, "hostA");
    CU_ASSERT(lab_guest_wait_counter(name, "hostA", before + 2, 30) >= before + 2);
    CU_ASSERT(running_on("hostA", name));
    CU_ASSERT_FALSE(defined_on("hostB", name));
    char *idir = test_strf("%s/%s", instances, name);
    lab_exec(&r, "hostB", "ls -la %s 2>&1", idir);
    lab_log("hostB after the rollback: %s", r.out);
    command_result_free(&r);
    CU_ASSERT_FALSE(exists_on("hostB", idir));
    CU_ASSERT(exists_on("hostA", idir));
    free(idir);

    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf %s/%s %s", instances, name, out);
    command_result_free(&r);
    unlink(cfgpath);
    free(cfgpath);
    free(out);
    free(dir);
    free(name);
}

static void test_dest_libvirtd_killed_during_block(void)
{
    interrupt_block_migration(KILL_DEST_LIBVIRTD);
}

static void test_ctrl_c_during_block(void)
{
    interrupt_block_migration(CTRL_C);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "both hosts mount the export and hold leases", setup_storage },
        { "shared path hostA -> hostB -> hostA keeps the guest counting", test_shared_there_and_back },
        { "shared path over qemu+tls:// there and back", test_shared_over_tls },
        { "a migration that never converges is aborted at completion_timeout", test_completion_timeout_aborts },
        { "allow_post_copy: completed by post-copy, or refused with the reason and rolled back", test_post_copy },
        { "the owner record follows the guest", test_owner_record_follows_guest },
        { "--dry-run and check change nothing", test_dry_run_changes_nothing },
        { "forced shared without sharing is refused, nothing changed", test_forced_shared_without_sharing_refused },
        { "without sharing, auto falls back to block (base image, config drive)", test_block_fallback },
        { "cold: shut down, copied, started there from its disk", test_cold },
        { "cold: a shut-off guest's images arrive identical", test_cold_shut_off_identical },
        { "destination's libvirtd killed during block: rolled back", test_dest_libvirtd_killed_during_block },
        { "Ctrl-C during block: rolled back", test_ctrl_c_during_block },
        { "both hosts unmount", teardown_storage },
        { NULL, NULL },
    };
    int r = test_run_suite("migrate", cases);
    free(instances);
    free(store_id);
    free(export_spec);
    free(export2);
    return r;
}
