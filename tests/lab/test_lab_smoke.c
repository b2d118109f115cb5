/*
 * The lab works: both libvirtds answer each other over qemu+tcp, the NFS export answers
 * through libnfs, and a test guest live-migrates hostA -> hostB with its disk in a directory
 * both hosts see, going on counting where it left off.
 */
#include "lab_support.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_lab_is_up(void)
{
    struct command_result r;
    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "status"), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "lab: up"));
    command_result_free(&r);
}

/* Each host's libvirtd answers the other on the URI live migration uses, by name. */
static void test_libvirt_answers_over_tcp(void)
{
    const char *pairs[][2] = { { "hostA", "hostB" }, { "hostB", "hostA" } };
    for (size_t i = 0; i < 2; i++) {
        struct command_result r;
        lab_exec(&r, pairs[i][0], "virsh -c qemu+tcp://%s/system hostname", pairs[i][1]);
        lab_log("%s -> qemu+tcp://%s/system: exit %d, hostname '%s'", pairs[i][0], pairs[i][1], r.status,
                strtok(r.out, "\n") ? r.out : "");
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_STRING_EQUAL(r.out, pairs[i][1]);
        command_result_free(&r);
    }
}

/* A file written to the export through libnfs from hostA reads back identical from hostB. */
static void test_nfs_export_answers(void)
{
    char *url = lab_env("FERRY_LAB_EXPORT_URL");
    CU_ASSERT_PTR_NOT_NULL_FATAL(url);
    char *base = strdup(url);
    *strchr(base, '?') = 0;
    char *name = lab_unique_name("smoke");
    struct command_result r;

    lab_exec(&r, "hostA", "echo 'ferry lab %s' > /tmp/%s.txt && nfs-cp /tmp/%s.txt '%s/%s.txt?version=3'; rc=$?; "
                          "rm -f /tmp/%s.txt; exit $rc",
             name, name, name, base, name, name);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);

    lab_exec(&r, "hostB", "nfs-cat '%s/%s.txt?version=3'", base, name);
    CU_ASSERT_EQUAL(r.status, 0);
    char *expected = test_strf("ferry lab %s\n", name);
    CU_ASSERT_STRING_EQUAL(r.out, expected);
    lab_log("read back through libnfs on hostB: %s", r.out);
    free(expected);
    command_result_free(&r);

    lab_exec(&r, "hostB", "nfs-ls '%s?version=3' | grep -c ' %s.txt$'", url, name);
    CU_ASSERT_STRING_EQUAL(r.out, "1\n");
    command_result_free(&r);
    free(name);
    free(base);
    free(url);
}

static bool domain_state(const char *host, const char *name, const char *want)
{
    struct command_result r;
    lab_exec(&r, host, "virsh -c qemu:///system domstate %s 2>/dev/null", name);
    bool ok = r.status == 0 && !strncmp(r.out, want, strlen(want));
    command_result_free(&r);
    return ok;
}

static void test_live_migration_keeps_guest_running(void)
{
    char *shared = lab_env("FERRY_LAB_SHARED_DIR");
    char *name = lab_unique_name("smoke");
    struct command_result r;
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared);

    CU_ASSERT_EQUAL_FATAL(lab_run(&r, "guest create %s hostA %s", name, shared), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    long before = lab_guest_wait_counter(name, "hostA", 2, 30);
    lab_log("guest %s counting on hostA: %ld", name, before);
    CU_ASSERT_FATAL(before >= 2);

    /* The directory is one local directory seen by both hosts, which libvirt cannot
     * recognise as shared: --unsafe says we know. (ferry proves sharing itself.) */
    lab_exec(&r, "hostA",
             "virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource --unsafe %s "
             "qemu+tcp://hostB/system",
             name);
    lab_log("virsh migrate: exit %d %s", r.status, r.err);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);

    long last_on_a = lab_guest_counter(name, "hostA");
    long first_on_b = -1;
    long later_on_b = lab_guest_wait_counter(name, "hostB", last_on_a + 2, 30);
    first_on_b = lab_guest_first_counter(name, "hostB");
    lab_log("hostA console stops at %ld; hostB console starts at %ld and reaches %ld", last_on_a, first_on_b,
            later_on_b);
    CU_ASSERT(last_on_a >= before);
    CU_ASSERT_EQUAL(first_on_b, last_on_a + 1);
    CU_ASSERT(later_on_b >= last_on_a + 2);
    CU_ASSERT_EQUAL(lab_guest_counter(name, "hostA"), last_on_a);

    /* The disk the guest writes on hostB is the one it started with on hostA. */
    long disk = lab_guest_disk_counter(name, "hostB", shared);
    lab_log("counter stored in the disk, read on hostB: %ld", disk);
    CU_ASSERT(disk >= first_on_b);

    CU_ASSERT(domain_state("hostB", name, "running"));
    CU_ASSERT_FALSE(domain_state("hostA", name, "running"));
    lab_exec(&r, "hostA", "virsh -c qemu:///system list --all --name | grep -cx %s", name);
    CU_ASSERT_STRING_EQUAL(r.out, "0\n"); /* undefined on the source */
    command_result_free(&r);
    lab_exec(&r, "hostB", "virsh -c qemu:///system dominfo %s | grep -i '^persistent'", name);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "yes"));
    command_result_free(&r);

    lab_run(&r, "guest destroy %s", name);
    command_result_free(&r);
    lab_exec(&r, "hostA", "rm -rf '%s/%s'", shared, name);
    command_result_free(&r);
    free(name);
    free(shared);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "lab is up", test_lab_is_up },
        { "libvirtd answers the other host over qemu+tcp", test_libvirt_answers_over_tcp },
        { "NFS export answers through libnfs", test_nfs_export_answers },
        { "live migration hostA->hostB keeps the guest counting", test_live_migration_keeps_guest_running },
        { NULL, NULL },
    };
    return test_run_suite("lab smoke", cases);
}
