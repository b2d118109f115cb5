/*
 * The lab's fault injection does what tests will rely on: `lab nfs stop|start` takes the
 * NFS server away and brings it back, `lab link down|up` cuts a host off and reconnects it,
 * and `lab up` after a crash (daemons killed) recovers a working lab.
 */
#include "lab_support.h"

#include <stdlib.h>
#include <string.h>

static int nfs_ls_status(const char *host)
{
    char *url = lab_env("FERRY_LAB_EXPORT_URL");
    struct command_result r;
    lab_exec(&r, host, "timeout 5 nfs-ls '%s' >/dev/null 2>&1", url);
    int status = r.status;
    command_result_free(&r);
    free(url);
    return status;
}

static int virsh_status(const char *from, const char *to)
{
    struct command_result r;
    lab_exec(&r, from, "timeout 5 virsh -c qemu+tcp://%s/system hostname >/dev/null 2>&1", to);
    int status = r.status;
    command_result_free(&r);
    return status;
}

static void run_ok(const char *args)
{
    struct command_result r;
    lab_run(&r, "%s", args);
    lab_log("scripts/lab %s: exit %d %s", args, r.status, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
}

static void test_nfs_stop_and_start(void)
{
    CU_ASSERT_EQUAL(nfs_ls_status("hostA"), 0);
    run_ok("nfs stop");
    CU_ASSERT_NOT_EQUAL(nfs_ls_status("hostA"), 0);
    CU_ASSERT_NOT_EQUAL(nfs_ls_status("hostB"), 0);
    run_ok("nfs start");
    CU_ASSERT_EQUAL(nfs_ls_status("hostA"), 0);
    CU_ASSERT_EQUAL(nfs_ls_status("hostB"), 0);
}

static void test_link_down_and_up(void)
{
    run_ok("link down hostA");
    CU_ASSERT_NOT_EQUAL(nfs_ls_status("hostA"), 0);
    CU_ASSERT_NOT_EQUAL(virsh_status("hostB", "hostA"), 0);
    CU_ASSERT_EQUAL(nfs_ls_status("hostB"), 0); /* only hostA is cut off */
    run_ok("link up hostA");
    CU_ASSERT_EQUAL(nfs_ls_status("hostA"), 0);
    CU_ASSERT_EQUAL(virsh_status("hostB", "hostA"), 0);
}

/* A crash: the NFS server and hostA's libvirtd die without the lab knowing. `up` notices
 * the lab is not whole, cleans it and starts a working one. */
static void test_up_recovers_after_crash(void)
{
    char *dir = lab_env("FERRY_LAB_DIR");
    struct command_result r;
    command_run_shell(&r, "kill -KILL $(cat '%s/nfs/ganesha.pid') $(cat '%s/hostA/run/libvirtd.pid')", dir, dir);
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);

    lab_run(&r, "status");
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    command_result_free(&r);

    lab_run(&r, "up");
    lab_log("scripts/lab up after the crash: exit %d\n%s%s", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "did not stop cleanly"));
    command_result_free(&r);

    lab_run(&r, "status");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    CU_ASSERT_EQUAL(nfs_ls_status("hostB"), 0);
    CU_ASSERT_EQUAL(virsh_status("hostB", "hostA"), 0);
    CU_ASSERT_EQUAL(virsh_status("hostA", "hostB"), 0);
    free(dir);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "nfs stop makes the export unreachable, nfs start brings it back", test_nfs_stop_and_start },
        { "link down cuts one host off, link up reconnects it", test_link_down_and_up },
        { "up after a crash recovers a working lab", test_up_recovers_after_crash },
        { NULL, NULL },
    };
    return test_run_suite("lab faults", cases);
}
