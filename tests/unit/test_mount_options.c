/*
 * Kernel NFS mount options: ferry's defaults for VM images, the operator's extras merged
 * over them, and the unsafe ones refused unless forced.
 */
#include "mount_options.h"
#include "test_support.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int build(const char *version, const char *extra, bool force, char *out, size_t size, char **error)
{
    return mount_options_build(version, extra, force, out, size, error);
}

static void test_defaults(void)
{
    char out[512];
    char *error = NULL;
    CU_ASSERT_EQUAL(build("4.2", NULL, false, out, sizeof(out), &error), 0);
    CU_ASSERT_STRING_EQUAL(out, "hard,proto=tcp,timeo=600,retrans=2,vers=4.2");
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_EQUAL(build(NULL, "", false, out, sizeof(out), &error), 0);
    CU_ASSERT_STRING_EQUAL(out, "hard,proto=tcp,timeo=600,retrans=2,vers=3");
}

static void test_extras_replace_defaults_in_place(void)
{
    char out[512];
    char *error = NULL;
    CU_ASSERT_EQUAL(build("3", "timeo=300,noatime,nfsvers=4.1,rsize=1048576", false, out, sizeof(out), &error), 0);
    CU_ASSERT_STRING_EQUAL(out, "hard,proto=tcp,timeo=300,retrans=2,nfsvers=4.1,noatime,rsize=1048576");
    CU_ASSERT_EQUAL(build("3", "hard,rw", false, out, sizeof(out), &error), 0);
    CU_ASSERT_STRING_EQUAL(out, "hard,proto=tcp,timeo=600,retrans=2,vers=3,rw");
}

static void test_unsafe_refused_unless_forced(void)
{
    const char *unsafe[] = { "soft", "softerr", "ro", "noatime,soft", "soft,hard,ro" };
    char out[512];
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
        char *error = NULL;
        int r = build("3", unsafe[i], false, out, sizeof(out), &error);
        CU_ASSERT_EQUAL(r, -EINVAL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_PTR_NOT_NULL(strstr(error, "refusing mount option"));
        CU_ASSERT_PTR_NOT_NULL(strstr(error, "--force"));
        free(error);
    }
    char *error = NULL;
    /* "soft,hard": the later one wins, so the result is hard and accepted. */
    CU_ASSERT_EQUAL(build("3", "soft,hard", false, out, sizeof(out), &error), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "hard"));
    CU_ASSERT_PTR_NULL(strstr(out, "soft"));
    CU_ASSERT_EQUAL(build("3", "soft", true, out, sizeof(out), &error), 0);
    CU_ASSERT_STRING_EQUAL(out, "soft,proto=tcp,timeo=600,retrans=2,vers=3");
}

static void test_malformed_options(void)
{
    const char *bad[] = { ",", "a,,b", "bad option", "x;y", "=v", "tab\there" };
    char out[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *error = NULL;
        CU_ASSERT_EQUAL(build("3", bad[i], false, out, sizeof(out), &error), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(error);
        free(error);
    }
}

static void test_small_buffer(void)
{
    char out[16];
    char *error = NULL;
    CU_ASSERT_EQUAL(build("3", NULL, false, out, sizeof(out), &error), -ENOSPC);
    free(error);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "defaults for VM images", test_defaults },
        { "extras replace defaults in place", test_extras_replace_defaults_in_place },
        { "soft, softerr and ro refused unless forced", test_unsafe_refused_unless_forced },
        { "malformed options rejected", test_malformed_options },
        { "too small a buffer", test_small_buffer },
        { NULL, NULL },
    };
    return test_run_suite("mount options", cases);
}
