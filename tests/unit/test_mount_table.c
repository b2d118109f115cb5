/*
 * The mount table: finding the entry at a mount point in mountinfo text (kernel NFS v4 and
 * v3, hard and soft, ferry's FUSE bridge, ext4, bind mounts, over-mount stacks, escaped
 * spaces, read-only mounts, trailing slashes), text that is not mountinfo, the classification
 * of entries, and one look at the live /proc/self/mountinfo.
 */
#include "mount_table.h"
#include "test_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- sample lines, as the kernel writes them ----------------------------------------- */

#define INSTANCES "/opt/stack/data/nova/instances"

#define LINE_ROOT "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
#define LINE_PROC "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
#define LINE_BIND                                                                                     \
    "640 22 8:1 /srv/images /var/lib/images rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
#define LINE_NFS4                                                                                     \
    "612 22 0:53 / " INSTANCES " rw,relatime shared:312 - nfs4 10.0.0.5:/srv/nova "                   \
    "rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,"  \
    "clientaddr=10.0.0.7,local_lock=none,addr=10.0.0.5\n"
#define LINE_NFS4_SOFT                                                                                \
    "613 22 0:54 / /mnt/soft rw,relatime shared:313 - nfs4 10.0.0.5:/srv/nova "                       \
    "rw,vers=4.1,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=600,retrans=2,sec=sys,"  \
    "clientaddr=10.0.0.7,local_lock=none,addr=10.0.0.5\n"
#define LINE_NFS4_SOFTERR                                                                             \
    "614 22 0:55 / /mnt/softerr rw,relatime shared:314 - nfs4 10.0.0.5:/srv/nova "                    \
    "rw,vers=4.2,softerr,proto=tcp,timeo=600,retrans=2,sec=sys,addr=10.0.0.5\n"
#define LINE_NFS3                                                                                     \
    "615 22 0:56 / /mnt/v3 rw,relatime shared:315 - nfs 10.0.0.5:/srv/nova "                          \
    "rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,"    \
    "mountaddr=10.0.0.5,mountvers=3,mountport=20048,mountproto=udp,local_lock=none,addr=10.0.0.5\n"
#define LINE_FUSE                                                                                     \
    "700 612 0:60 / " INSTANCES " rw,nosuid,nodev,relatime shared:400 - fuse.ferry 10.77.0.10:/srv/nova " \
    "rw,user_id=0,group_id=0,allow_other\n"
#define LINE_SPACE                                                                                    \
    "650 22 0:57 / /mnt/a\\040b rw,relatime shared:320 - nfs4 10.0.0.6:/srv/x rw,vers=4.2,hard,addr=10.0.0.6\n"
#define LINE_VFS_RO                                                                                   \
    "651 22 0:58 / /mnt/ro ro,relatime shared:321 - nfs4 10.0.0.5:/srv/ro rw,vers=4.2,hard,addr=10.0.0.5\n"
#define LINE_SB_RO                                                                                    \
    "652 22 0:59 / /mnt/sbro rw,relatime shared:322 - nfs4 10.0.0.5:/srv/ro ro,vers=4.2,hard,addr=10.0.0.5\n"
#define LINE_IPV6                                                                                     \
    "653 22 0:61 / /mnt/v6 rw,relatime shared:323 - nfs4 [fd00::5]:/srv/nova rw,vers=4.0,hard,addr=fd00::5\n"
#define LINE_TMPFS "660 22 0:62 / /tmp rw,nosuid,nodev shared:330 - tmpfs tmpfs rw,size=1024k\n"

static const char HOST_TABLE[] =
    LINE_ROOT LINE_PROC LINE_BIND LINE_NFS4 LINE_NFS4_SOFT LINE_NFS4_SOFTERR LINE_NFS3 LINE_SPACE
        LINE_VFS_RO LINE_SB_RO LINE_IPV6 LINE_TMPFS;

/* --- helpers ------------------------------------------------------------------------- */

/* A recognisable entry: finds that fail must leave it exactly as it was. */
static struct mount_entry sentinel(void)
{
    return (struct mount_entry){ .target = (char *)"untouched", .source = (char *)"untouched",
                                 .fstype = (char *)"untouched", .options = (char *)"untouched",
                                 .fs_options = (char *)"untouched", .read_only = true };
}

static bool is_sentinel(const struct mount_entry *e)
{
    struct mount_entry s = sentinel();
    return e->target == s.target && e->source == s.source && e->fstype == s.fstype && e->options == s.options &&
           e->fs_options == s.fs_options && e->read_only;
}

/* Finds target in text, expecting success; the caller clears the entry. */
static struct mount_entry find_ok_at(const char *text, const char *target, int line)
{
    struct mount_entry e = { .target = NULL };
    int r = mount_table_find_in_text(text, target, &e);
    if (r != 0)
        fprintf(stderr, "\n    line %d: find of '%s' returned %d\n", line, target, r);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        CU_ASSERT_PTR_NOT_NULL(e.target);
        CU_ASSERT_PTR_NOT_NULL(e.source);
        CU_ASSERT_PTR_NOT_NULL(e.fstype);
        CU_ASSERT_PTR_NOT_NULL(e.options);
        CU_ASSERT_PTR_NOT_NULL(e.fs_options);
    }
    return e;
}

#define FIND_OK(text, target) find_ok_at((text), (target), __LINE__)

/* Expects the find to fail with err and leave the entry alone. */
static void expect_find_fails_at(const char *text, const char *target, int err, int line)
{
    struct mount_entry e = sentinel();
    int r = mount_table_find_in_text(text, target, &e);
    if (r != err)
        fprintf(stderr, "\n    line %d: find of '%s' returned %d, expected %d\n", line, target ? target : "(null)", r,
                err);
    CU_ASSERT_EQUAL(r, err);
    CU_ASSERT_TRUE(is_sentinel(&e));
    if (r == 0)
        mount_entry_clear(&e);
}

#define EXPECT_FIND_FAILS(text, target, err) expect_find_fails_at((text), (target), (err), __LINE__)

static struct mount_entry made_entry(const char *fstype, const char *options)
{
    return (struct mount_entry){ .target = (char *)"/mnt/x", .source = (char *)"s:/x", .fstype = (char *)fstype,
                                 .options = (char *)options, .fs_options = (char *)options };
}

/* --- finding entries ----------------------------------------------------------------- */

static void test_kernel_nfs4(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, INSTANCES);
    ASSERT_STR(e.target, INSTANCES);
    ASSERT_STR(e.source, "10.0.0.5:/srv/nova");
    ASSERT_STR(e.fstype, "nfs4");
    ASSERT_STR(e.fs_options, "rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,"
                             "retrans=2,sec=sys,clientaddr=10.0.0.7,local_lock=none,addr=10.0.0.5");
    /* The merged options hold both the per-mount (relatime) and the NFS ones (vers=). */
    ASSERT_CONTAINS(e.options, "rw");
    ASSERT_CONTAINS(e.options, "relatime");
    ASSERT_CONTAINS(e.options, "vers=4.2");
    ASSERT_CONTAINS(e.options, "hard");
    CU_ASSERT_FALSE(e.read_only);
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    CU_ASSERT_TRUE(mount_entry_is_hard(&e));
    char buf[16];
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "4.2");
    mount_entry_clear(&e);
}

static void test_kernel_nfs_soft(void)
{
    char buf[16];
    struct mount_entry e = FIND_OK(HOST_TABLE, "/mnt/soft");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "4.1");
    mount_entry_clear(&e);

    e = FIND_OK(HOST_TABLE, "/mnt/softerr");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    mount_entry_clear(&e);
}

static void test_kernel_nfs3(void)
{
    char buf[16];
    struct mount_entry e = FIND_OK(HOST_TABLE, "/mnt/v3");
    ASSERT_STR(e.fstype, "nfs");
    ASSERT_STR(e.source, "10.0.0.5:/srv/nova");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    CU_ASSERT_TRUE(mount_entry_is_hard(&e));
    /* "vers=3", not "mountvers=3" or "mountport=…". */
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "3");
    mount_entry_clear(&e);
}

static void test_ipv6_source(void)
{
    char buf[16];
    struct mount_entry e = FIND_OK(HOST_TABLE, "/mnt/v6");
    ASSERT_STR(e.source, "[fd00::5]:/srv/nova");
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "4.0");
    mount_entry_clear(&e);
}

static void test_ferry_fuse(void)
{
    char buf[16];
    struct mount_entry e = FIND_OK(LINE_ROOT LINE_FUSE, INSTANCES);
    ASSERT_STR(e.fstype, "fuse.ferry");
    ASSERT_STR(e.source, "10.77.0.10:/srv/nova");
    ASSERT_STR(e.fs_options, "rw,user_id=0,group_id=0,allow_other");
    ASSERT_CONTAINS(e.options, "nosuid");
    ASSERT_CONTAINS(e.options, "allow_other");
    CU_ASSERT_FALSE(e.read_only);
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_FERRY_FUSE);
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, sizeof(buf)));
    mount_entry_clear(&e);
}

static void test_ext4_root_and_others(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, "/");
    ASSERT_STR(e.target, "/");
    ASSERT_STR(e.fstype, "ext4");
    ASSERT_STR(e.source, "/dev/sda1");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_OTHER);
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    mount_entry_clear(&e);

    e = FIND_OK(HOST_TABLE, "/proc");
    ASSERT_STR(e.fstype, "proc");
    ASSERT_STR(e.source, "proc");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_OTHER);
    mount_entry_clear(&e);

    /* libmount may rewrite "/dev/root" to the host's real root device: either is a device. */
    e = FIND_OK("20 1 8:1 / / rw - ext4 /dev/root rw\n", "/");
    CU_ASSERT_EQUAL(strncmp(e.source, "/dev/", 5), 0);
    ASSERT_STR(e.fstype, "ext4");
    mount_entry_clear(&e);

    e = FIND_OK(HOST_TABLE, "/tmp");
    ASSERT_STR(e.fstype, "tmpfs");
    ASSERT_STR(e.fs_options, "rw,size=1024k");
    mount_entry_clear(&e);
}

static void test_bind_mount(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, "/var/lib/images");
    ASSERT_STR(e.target, "/var/lib/images");
    ASSERT_STR(e.source, "/dev/sda1");
    ASSERT_STR(e.fstype, "ext4");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_OTHER);
    mount_entry_clear(&e);
}

static void test_over_mount_stack(void)
{
    /* FUSE on top of kernel NFS: the FUSE one is what processes see. */
    struct mount_entry e = FIND_OK(LINE_ROOT LINE_NFS4 LINE_FUSE, INSTANCES);
    ASSERT_STR(e.fstype, "fuse.ferry");
    ASSERT_STR(e.source, "10.77.0.10:/srv/nova");
    mount_entry_clear(&e);

    /* And the other way round. */
    e = FIND_OK(LINE_ROOT LINE_FUSE LINE_NFS4, INSTANCES);
    ASSERT_STR(e.fstype, "nfs4");
    mount_entry_clear(&e);

    /* Three deep, with unrelated mounts between them. */
    static const char three[] = LINE_ROOT
        "100 22 0:70 / /mnt/stack rw - tmpfs first rw\n" LINE_PROC
        "101 100 0:71 / /mnt/stack rw - tmpfs second rw\n" LINE_TMPFS
        "102 101 0:72 / /mnt/stack/ ro - tmpfs third rw\n" LINE_BIND;
    e = FIND_OK(three, "/mnt/stack");
    ASSERT_STR(e.source, "third");
    CU_ASSERT_TRUE(e.read_only);
    mount_entry_clear(&e);
}

static void test_escaped_space(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, "/mnt/a b");
    ASSERT_STR(e.target, "/mnt/a b");
    ASSERT_STR(e.source, "10.0.0.6:/srv/x");
    mount_entry_clear(&e);
    /* The target argument is plain text, not mountinfo's escaped form. */
    EXPECT_FIND_FAILS(HOST_TABLE, "/mnt/a\\040b", -ENOENT);
    EXPECT_FIND_FAILS(HOST_TABLE, "/mnt/a", -ENOENT);

    /* Tabs, newlines and backslashes are escaped too. */
    static const char odd[] = "30 22 0:80 / /mnt/t\\011x\\012y\\134z rw - tmpfs tmpfs rw\n";
    e = FIND_OK(odd, "/mnt/t\tx\ny\\z");
    ASSERT_STR(e.target, "/mnt/t\tx\ny\\z");
    mount_entry_clear(&e);
}

static void test_read_only(void)
{
    /* Read-only for this mount (VFS "ro")... */
    struct mount_entry e = FIND_OK(HOST_TABLE, "/mnt/ro");
    CU_ASSERT_TRUE(e.read_only);
    mount_entry_clear(&e);
    /* ...or for the whole superblock (FS "ro"), which libmount's merged options hide. */
    e = FIND_OK(HOST_TABLE, "/mnt/sbro");
    CU_ASSERT_TRUE(e.read_only);
    ASSERT_STR(e.fs_options, "ro,vers=4.2,hard,addr=10.0.0.5");
    mount_entry_clear(&e);
    e = FIND_OK(HOST_TABLE, INSTANCES);
    CU_ASSERT_FALSE(e.read_only);
    mount_entry_clear(&e);
    /* "errors=remount-ro" is not "ro". */
    e = FIND_OK(HOST_TABLE, "/");
    CU_ASSERT_FALSE(e.read_only);
    mount_entry_clear(&e);
}

static void test_target_canonicalisation(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, INSTANCES "/");
    ASSERT_STR(e.target, INSTANCES);
    mount_entry_clear(&e);
    e = FIND_OK(HOST_TABLE, "//opt//stack/data/nova/instances//");
    ASSERT_STR(e.target, INSTANCES);
    mount_entry_clear(&e);
    e = FIND_OK(HOST_TABLE, "//");
    ASSERT_STR(e.target, "/");
    mount_entry_clear(&e);
    /* A trailing '/' in the table itself is dropped as well. */
    e = FIND_OK("40 22 0:81 / /mnt/trail/ rw - tmpfs tmpfs rw\n", "/mnt/trail");
    ASSERT_STR(e.target, "/mnt/trail/");
    mount_entry_clear(&e);
    /* Neighbours are not matches. */
    EXPECT_FIND_FAILS(HOST_TABLE, "/opt/stack/data/nova", -ENOENT);
    EXPECT_FIND_FAILS(HOST_TABLE, INSTANCES "/sub", -ENOENT);
    EXPECT_FIND_FAILS(HOST_TABLE, "/opt/stack/data/nova/inst", -ENOENT);
    EXPECT_FIND_FAILS(HOST_TABLE, INSTANCES "x", -ENOENT);
    EXPECT_FIND_FAILS(HOST_TABLE, "/OPT/stack/data/nova/instances", -ENOENT);
    /* "." and ".." are not resolved (that would need the filesystem). */
    EXPECT_FIND_FAILS(HOST_TABLE, "/opt/stack/data/nova/./instances", -ENOENT);
}

/* Targets are compared as text: a symlink to a mount point is not the mount point. */
static void test_filesystem_not_consulted(void)
{
    char *dir = test_tmpdir_create("mount_table");
    CU_ASSERT_PTR_NOT_NULL(dir);
    if (!dir)
        return;
    char *real = test_strf("%s/real", dir), *link = test_strf("%s/link", dir);
    CU_ASSERT_EQUAL(mkdir(real, 0755), 0);
    CU_ASSERT_EQUAL(symlink(real, link), 0);
    char *text = test_strf("50 22 0:90 / %s rw - tmpfs tmpfs rw\n", real);
    struct mount_entry e = FIND_OK(text, real);
    ASSERT_STR(e.target, real);
    mount_entry_clear(&e);
    EXPECT_FIND_FAILS(text, link, -ENOENT);
    free(text);
    /* Mount points that do not exist on this host are found all the same. */
    e = FIND_OK("51 22 0:91 / /nonexistent/ferry/x rw - tmpfs tmpfs rw\n", "/nonexistent/ferry/x");
    ASSERT_STR(e.target, "/nonexistent/ferry/x");
    mount_entry_clear(&e);
    free(real);
    free(link);
    test_tmpdir_remove(dir);
}

static void test_no_final_newline_and_comments(void)
{
    struct mount_entry e = FIND_OK("60 22 0:92 / /mnt/last rw - tmpfs last rw", "/mnt/last");
    ASSERT_STR(e.source, "last");
    mount_entry_clear(&e);
    e = FIND_OK("\n# a comment\n\n" LINE_NFS4 "\n", INSTANCES);
    ASSERT_STR(e.fstype, "nfs4");
    mount_entry_clear(&e);
}

static void test_empty_text(void)
{
    EXPECT_FIND_FAILS("", "/", -ENOENT);
    EXPECT_FIND_FAILS("\n", "/", -ENOENT);
    EXPECT_FIND_FAILS("\n\n  \n", INSTANCES, -ENOENT);
    EXPECT_FIND_FAILS("# only a comment\n", "/", -ENOENT);
}

static void test_not_mountinfo(void)
{
    EXPECT_FIND_FAILS("hello world\n", "/", -EINVAL);
    EXPECT_FIND_FAILS("hello", "/", -EINVAL);
    /* Three words would pass as an fstab line; it still is not mountinfo. */
    EXPECT_FIND_FAILS("a b c\n", "b", -EINVAL);
    EXPECT_FIND_FAILS("a /b c\n", "/b", -EINVAL);
    /* /proc/mounts and /etc/fstab formats are not mountinfo either. */
    EXPECT_FIND_FAILS("proc /proc proc rw,nosuid 0 0\n", "/proc", -EINVAL);
    EXPECT_FIND_FAILS("10.0.0.5:/srv/nova " INSTANCES " nfs4 rw,hard 0 0\n", INSTANCES, -EINVAL);
    EXPECT_FIND_FAILS("1 2 garbage\n", "/", -EINVAL);
    EXPECT_FIND_FAILS("1 2 3:4 / /x rw\n", "/x", -EINVAL);                 /* no " - " */
    EXPECT_FIND_FAILS("1 2 3:4 / /x rw -\n", "/x", -EINVAL);               /* nothing after it */
    EXPECT_FIND_FAILS("1 2 x:y / /x rw - tmpfs t rw\n", "/x", -EINVAL);    /* bad major:minor */
    EXPECT_FIND_FAILS("\x01\x02\x7f\xff\xfe\n", "/", -EINVAL);
    EXPECT_FIND_FAILS("{\"mounts\": []}\n", "/", -EINVAL);
    /* One bad line spoils the whole text, wherever it is. */
    EXPECT_FIND_FAILS(LINE_ROOT LINE_NFS4 "1 2 garbage\n", INSTANCES, -EINVAL);
    EXPECT_FIND_FAILS("1 2 garbage\n" LINE_ROOT LINE_NFS4, INSTANCES, -EINVAL);
    EXPECT_FIND_FAILS(LINE_ROOT "not mountinfo at all\n" LINE_NFS4, INSTANCES, -EINVAL);
    EXPECT_FIND_FAILS(LINE_ROOT LINE_NFS4 "1 2 garbage", INSTANCES, -EINVAL); /* last line, no newline */
}

/* Pseudo-random garbage, printable and not: never a crash, never a match. */
static void test_random_garbage(void)
{
    unsigned seed = 12345;
    char text[256];
    for (int round = 0; round < 500; round++) {
        size_t n = 1 + (size_t)(round % 250);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char c = (unsigned char)(seed >> 16);
            text[i] = (char)(round % 2 ? (c % 94) + 33 : (c ? c : 'x'));
        }
        text[n] = '\0';
        struct mount_entry e = sentinel();
        int r = mount_table_find_in_text(text, "/", &e);
        if (r != -EINVAL && r != -ENOENT)
            fprintf(stderr, "\n    round %d: returned %d\n", round, r);
        CU_ASSERT(r == -EINVAL || r == -ENOENT);
        CU_ASSERT_TRUE(is_sentinel(&e));
    }
}

static void test_bad_arguments(void)
{
    EXPECT_FIND_FAILS(NULL, "/", -EINVAL);
    EXPECT_FIND_FAILS(HOST_TABLE, NULL, -EINVAL);
    EXPECT_FIND_FAILS(HOST_TABLE, "", -EINVAL);
    EXPECT_FIND_FAILS(HOST_TABLE, "mnt/v3", -EINVAL);
    EXPECT_FIND_FAILS(HOST_TABLE, "./mnt/v3", -EINVAL);
    CU_ASSERT_EQUAL(mount_table_find_in_text(HOST_TABLE, "/", NULL), -EINVAL);
    CU_ASSERT_EQUAL(mount_table_find(NULL, NULL), -EINVAL);
    struct mount_entry e = sentinel();
    CU_ASSERT_EQUAL(mount_table_find("relative", &e), -EINVAL);
    CU_ASSERT_TRUE(is_sentinel(&e));
}

/* --- the live table ------------------------------------------------------------------ */

static void test_live_table(void)
{
    struct mount_entry e = { .target = NULL };
    int r = mount_table_find("/", &e);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        ASSERT_STR(e.target, "/");
        CU_ASSERT(strlen(e.fstype) > 0);
        CU_ASSERT(strlen(e.options) > 0);
        mount_entry_clear(&e);
    }
    r = mount_table_find("/proc/", &e);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        ASSERT_STR(e.fstype, "proc");
        CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_OTHER);
        mount_entry_clear(&e);
    }
    char *dir = test_tmpdir_create("mount_table_live");
    CU_ASSERT_PTR_NOT_NULL(dir);
    if (dir) {
        e = sentinel();
        CU_ASSERT_EQUAL(mount_table_find(dir, &e), -ENOENT);
        CU_ASSERT_TRUE(is_sentinel(&e));
        test_tmpdir_remove(dir);
    }
}

/* --- questions about entries --------------------------------------------------------- */

static void test_clear(void)
{
    struct mount_entry e = FIND_OK(HOST_TABLE, INSTANCES);
    mount_entry_clear(&e);
    CU_ASSERT_PTR_NULL(e.target);
    CU_ASSERT_PTR_NULL(e.source);
    CU_ASSERT_PTR_NULL(e.fstype);
    CU_ASSERT_PTR_NULL(e.options);
    CU_ASSERT_PTR_NULL(e.fs_options);
    CU_ASSERT_FALSE(e.read_only);
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_NONE);
    mount_entry_clear(&e); /* twice is fine */
    mount_entry_clear(NULL);
    CU_ASSERT_PTR_NULL(e.target);
}

static void test_kind(void)
{
    struct mount_entry e;
    CU_ASSERT_EQUAL(mount_entry_kind(NULL), MOUNT_KIND_NONE);
    e = made_entry(NULL, "rw");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_NONE);
    e = made_entry("", "rw");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_NONE);
    e = made_entry("nfs", "rw");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    e = made_entry("nfs4", "rw");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_KERNEL_NFS);
    e = made_entry("fuse.ferry", "rw");
    CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_FERRY_FUSE);
    static const char *const others[] = { "fuse", "fuse.sshfs", "fuse.ferryx", "fuseblk", "nfsd", "NFS4",
                                          "nfs3", "ext4", "tmpfs", "overlay" };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        e = made_entry(others[i], "rw");
        CU_ASSERT_EQUAL(mount_entry_kind(&e), MOUNT_KIND_OTHER);
    }
}

static void test_is_hard(void)
{
    struct mount_entry e = made_entry("nfs4", "rw,vers=4.2,hard,proto=tcp");
    CU_ASSERT_TRUE(mount_entry_is_hard(&e));
    e = made_entry("nfs4", "rw,vers=4.2,proto=tcp"); /* the kernel's default is hard */
    CU_ASSERT_TRUE(mount_entry_is_hard(&e));
    e = made_entry("nfs", "soft");
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    e = made_entry("nfs4", "rw,softerr");
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    e = made_entry("nfs4", "rw,vers=4.2,soft,timeo=600");
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    /* softreval is a different option; "soft" as a value is not the option. */
    e = made_entry("nfs4", "rw,vers=4.2,hard,softreval,fsc=soft");
    CU_ASSERT_TRUE(mount_entry_is_hard(&e));
    /* Only kernel NFS has hard semantics to promise. */
    e = made_entry("fuse.ferry", "rw,hard");
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    e = made_entry("ext4", "rw");
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
    CU_ASSERT_FALSE(mount_entry_is_hard(NULL));
    /* The FS options alone decide when the merged string is missing. */
    e = made_entry("nfs4", NULL);
    e.fs_options = (char *)"rw,soft";
    CU_ASSERT_FALSE(mount_entry_is_hard(&e));
}

static void test_nfs_version(void)
{
    char buf[16];
    struct mount_entry e = made_entry("nfs4", "rw,vers=4.2,hard");
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "4.2");
    CU_ASSERT_PTR_EQUAL(mount_entry_nfs_version(&e, buf, sizeof(buf)), buf);
    /* The buffer: "4.2" needs 4 bytes. */
    ASSERT_STR(mount_entry_nfs_version(&e, buf, 4), "4.2");
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, 3));
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, 0));
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, NULL, 16));
    e = made_entry("nfs", "rw,nfsvers=3,hard");
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "3");
    e = made_entry("nfs", "rw,mountvers=3,hard");
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, sizeof(buf)));
    e = made_entry("nfs4", "rw,vers=,hard");
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, sizeof(buf)));
    e = made_entry("nfs4", "rw,hard");
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, sizeof(buf)));
    e = made_entry("nfs4", "vers=4.0");
    ASSERT_STR(mount_entry_nfs_version(&e, buf, sizeof(buf)), "4.0");
    e = made_entry("fuse.ferry", "rw,vers=4.2");
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(&e, buf, sizeof(buf)));
    CU_ASSERT_PTR_NULL(mount_entry_nfs_version(NULL, buf, sizeof(buf)));
}

int main(void)
{
    static const struct test_case cases[] = {
        { "kernel nfs4 mount", test_kernel_nfs4 },
        { "soft and softerr mounts", test_kernel_nfs_soft },
        { "kernel nfs v3 mount", test_kernel_nfs3 },
        { "IPv6 source", test_ipv6_source },
        { "ferry's FUSE mount", test_ferry_fuse },
        { "ext4 root, proc, tmpfs", test_ext4_root_and_others },
        { "bind mount", test_bind_mount },
        { "over-mount stack: the last wins", test_over_mount_stack },
        { "escaped space in the target", test_escaped_space },
        { "read-only mounts", test_read_only },
        { "target canonicalisation", test_target_canonicalisation },
        { "the filesystem is not consulted", test_filesystem_not_consulted },
        { "no final newline, comments", test_no_final_newline_and_comments },
        { "empty text", test_empty_text },
        { "text that is not mountinfo", test_not_mountinfo },
        { "random garbage", test_random_garbage },
        { "bad arguments", test_bad_arguments },
        { "the live table", test_live_table },
        { "mount_entry_clear", test_clear },
        { "mount_entry_kind", test_kind },
        { "mount_entry_is_hard", test_is_hard },
        { "mount_entry_nfs_version", test_nfs_version },
        { NULL, NULL },
    };
    return test_run_suite("mount_table", cases);
}
