/*
 * The qcow2 header reader against real images: qemu-img makes v2 and v3 images, with and
 * without backing files and backing formats, and each defect is made by editing bytes of a
 * copy (as pwrite would on disk). Every field QEMU bounds is pushed past its bound; every
 * prefix of a real header is parsed (truncations never crash, never read past the buffer);
 * the "need more" protocol is followed to its end; format and config drive probes.
 */
#include "qcow2.h"
#include "test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;

struct image {
    uint8_t *bytes;
    size_t len;
};

static void sh(const char *cmd)
{
    struct command_result r;
    CU_ASSERT_EQUAL_FATAL(command_run_shell(&r, "%s", cmd), 0);
    if (r.status != 0)
        fprintf(stderr, "\n    %s: exit %d: %s%s\n", cmd, r.status, r.out, r.err);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
}

/* Makes an image with qemu-img and reads it whole. */
static struct image make(const char *name, const char *args)
{
    char *cmd = test_strf("cd %s && qemu-img create -q %s", tmp, args);
    sh(cmd);
    free(cmd);
    char *path = test_strf("%s/%s", tmp, name);
    struct image im = { 0 };
    int fd = open(path, O_RDONLY);
    struct stat st;
    CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
    im.len = (size_t)st.st_size;
    im.bytes = malloc(im.len);
    CU_ASSERT_EQUAL_FATAL(pread(fd, im.bytes, im.len, 0), (ssize_t)im.len);
    close(fd);
    free(path);
    return im;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static enum qcow2_status parse(const struct image *im, struct qcow2_info *info)
{
    return qcow2_parse(im->bytes, im->len, im->len, info);
}

/* Parses a copy edited by fn; expects INVALID with why containing want. */
static void expect_invalid(const struct image *base, void (*edit)(uint8_t *), const char *want)
{
    struct image im = { malloc(base->len), base->len };
    memcpy(im.bytes, base->bytes, base->len);
    edit(im.bytes);
    struct qcow2_info info;
    enum qcow2_status s = parse(&im, &info);
    if (s != QCOW2_INVALID || !strstr(info.why, want))
        fprintf(stderr, "\n    expected INVALID with '%s', got %d: '%s'\n", want, s, info.why);
    CU_ASSERT_EQUAL(s, QCOW2_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.why, want));
    CU_ASSERT_FALSE(info.truncated);
    free(im.bytes);
}

/* ---- valid images -------------------------------------------------------------------------- */

static void test_v3_plain(void)
{
    struct image im = make("v3.qcow2", "-f qcow2 v3.qcow2 1G");
    struct qcow2_info info;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_EQUAL(info.h.version, 3);
    CU_ASSERT_EQUAL(info.h.cluster_bits, 16);
    CU_ASSERT_EQUAL(info.h.size, 1ull << 30);
    CU_ASSERT_EQUAL(info.h.header_length, 112);
    CU_ASSERT_EQUAL(info.h.refcount_order, 4);
    CU_ASSERT_FALSE(info.has_backing);
    CU_ASSERT_FALSE(info.dirty || info.corrupt || info.truncated);
    CU_ASSERT_EQUAL(info.need, 0);
    CU_ASSERT_STRING_EQUAL(image_format_detect(im.bytes, im.len), "qcow2");
    free(im.bytes);
}

static void test_v2_with_backing(void)
{
    char *args = test_strf("-f qcow2 -o compat=0.10 -b %s/base.raw -F raw -u v2.qcow2 1G", tmp);
    struct image im = make("v2.qcow2", args);
    free(args);
    struct qcow2_info info;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_EQUAL(info.h.version, 2);
    CU_ASSERT_EQUAL(info.h.header_length, 72);
    CU_ASSERT_TRUE(info.has_backing);
    char *want = test_strf("%s/base.raw", tmp);
    CU_ASSERT_STRING_EQUAL(info.backing_name, want);
    free(want);
    CU_ASSERT_TRUE(info.has_backing_format);
    CU_ASSERT_STRING_EQUAL(info.backing_format, "raw");
    free(im.bytes);
}

static void test_v3_backing_relative_and_format(void)
{
    struct image im = make("rel.qcow2", "-f qcow2 -b ../_base/abc -F qcow2 -u rel.qcow2 1G");
    struct qcow2_info info;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_STRING_EQUAL(info.backing_name, "../_base/abc");
    CU_ASSERT_STRING_EQUAL(info.backing_format, "qcow2");
    free(im.bytes);
}

static void test_lazy_refcounts_and_small_clusters(void)
{
    struct image im = make("small.qcow2", "-f qcow2 -o cluster_size=512,lazy_refcounts=on small.qcow2 64M");
    struct qcow2_info info;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_EQUAL(info.h.cluster_bits, 9);
    CU_ASSERT_TRUE(info.h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
    free(im.bytes);
}

static void test_need_more(void)
{
    /* A backing name placed far into a 2 MiB cluster: the first 4 KiB are not enough. */
    struct image im = make("big.qcow2", "-f qcow2 -o cluster_size=2M -b /x/base -F raw -u big.qcow2 1G");
    struct qcow2_info info;
    /* Move the name to offset 100000 (inside the first cluster). */
    uint8_t *b = im.bytes;
    size_t name_len = strlen("/x/base");
    CU_ASSERT_FATAL(im.len > 100000 + name_len);
    memcpy(b + 100000, "/x/base", name_len);
    put64(b + 8, 100000);
    qcow2_parse(b, QCOW2_FIRST_READ, im.len, &info);
    CU_ASSERT_EQUAL(info.status, QCOW2_VALID);
    CU_ASSERT_EQUAL(info.need, 2u << 20);
    CU_ASSERT_FALSE(info.has_backing);
    qcow2_parse(b, info.need, im.len, &info);
    CU_ASSERT_EQUAL(info.need, 0);
    CU_ASSERT_TRUE(info.has_backing);
    CU_ASSERT_STRING_EQUAL(info.backing_name, "/x/base");

    /* The same through a file, with qcow2_read_header's two reads. */
    char *path = test_strf("%s/big.qcow2", tmp);
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, b, 200000, 0), 200000);
    CU_ASSERT_EQUAL(qcow2_read_header(fd, im.len, &info), 0);
    CU_ASSERT_EQUAL(info.need, 0);
    CU_ASSERT_STRING_EQUAL(info.backing_name, "/x/base");
    close(fd);
    free(path);
    free(im.bytes);
}

/* ---- flags ------------------------------------------------------------------------------------- */

static void test_dirty_and_corrupt(void)
{
    struct image im = make("flags.qcow2", "-f qcow2 flags.qcow2 1G");
    struct qcow2_info info;
    im.bytes[79] |= 1;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_TRUE(info.dirty);
    CU_ASSERT_FALSE(info.corrupt);
    im.bytes[79] = 2;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_FALSE(info.dirty);
    CU_ASSERT_TRUE(info.corrupt);
    im.bytes[79] = 3;
    CU_ASSERT_EQUAL(parse(&im, &info), QCOW2_VALID);
    CU_ASSERT_TRUE(info.dirty && info.corrupt);
    free(im.bytes);
}

/* ---- invalid headers: one edit each ------------------------------------------------------------ */

static struct image v3;

static void e_version(uint8_t *b) { put32(b + 4, 4); }
static void e_version0(uint8_t *b) { put32(b + 4, 0); }
static void e_cluster_small(uint8_t *b) { put32(b + 20, 8); }
static void e_cluster_big(uint8_t *b) { put32(b + 20, 22); }
static void e_cluster_huge(uint8_t *b) { put32(b + 20, 0xffffffffu); }
static void e_header_short(uint8_t *b) { put32(b + 100, 100); }
static void e_header_long(uint8_t *b) { put32(b + 100, 70000); }
static void e_unknown_incompat(uint8_t *b) { b[79] = 0x20; }
static void e_refcount_order(uint8_t *b) { put32(b + 96, 7); }
static void e_crypt(uint8_t *b) { put32(b + 32, 3); }
static void e_backing_len(uint8_t *b)
{
    put64(b + 8, 512);
    put32(b + 16, 1024);
}
static void e_backing_len_huge(uint8_t *b)
{
    put64(b + 8, 512);
    put32(b + 16, 0xffffffffu);
}
static void e_backing_offset(uint8_t *b)
{
    put64(b + 8, 65536);
    put32(b + 16, 4);
}
static void e_backing_offset_huge(uint8_t *b)
{
    put64(b + 8, UINT64_MAX - 2);
    put32(b + 16, 10);
}
static void e_backing_in_header(uint8_t *b)
{
    put64(b + 8, 16);
    put32(b + 16, 4);
}
static void e_backing_nul(uint8_t *b)
{
    put64(b + 8, 600);
    put32(b + 16, 4);
    memcpy(b + 600, "a\0bc", 4);
}
static void e_l1_absurd(uint8_t *b) { put32(b + 36, 0xffffffffu); }
static void e_l1_small(uint8_t *b) { put32(b + 36, 1); /* 1 GiB needs 2 entries at 64 KiB clusters */ }
static void e_l1_unaligned(uint8_t *b) { put64(b + 40, 0x30001); }
static void e_l1_zero(uint8_t *b) { put64(b + 40, 0); }
static void e_size_huge(uint8_t *b) { put64(b + 24, UINT64_MAX); }
static void e_reftable_none(uint8_t *b) { put32(b + 56, 0); }
static void e_reftable_absurd(uint8_t *b) { put32(b + 56, 0x10000000u); }
static void e_reftable_unaligned(uint8_t *b) { put64(b + 48, 12345); }
static void e_snapshots_absurd(uint8_t *b) { put32(b + 60, 70000); }
static void e_compression(uint8_t *b) { b[104] = 1; /* zstd without the incompatible bit */ }
static void e_extension_overflow(uint8_t *b)
{
    /* The first extension claims more bytes than the header area holds. */
    put32(b + 112, QCOW2_EXT_BACKING_FORMAT);
    put32(b + 116, 0xfffffff0u);
}
static void e_backing_format_long(uint8_t *b)
{
    put32(b + 112, QCOW2_EXT_BACKING_FORMAT);
    put32(b + 116, 100);
}

static void test_invalid_headers(void)
{
    static const struct {
        void (*edit)(uint8_t *);
        const char *why;
    } cases[] = {
        { e_version, "version 4" },
        { e_version0, "version 0" },
        { e_cluster_small, "cluster_bits 8" },
        { e_cluster_big, "cluster_bits 22" },
        { e_cluster_huge, "cluster_bits 4294967295" },
        { e_header_short, "header_length 100" },
        { e_header_long, "header_length 70000" },
        { e_unknown_incompat, "unknown incompatible features 0x20" },
        { e_refcount_order, "refcount_order 7" },
        { e_crypt, "encryption method 3" },
        { e_backing_len, "backing file name length 1024 is absurd" },
        { e_backing_len_huge, "backing file name length 4294967295" },
        { e_backing_offset, "outside the first cluster" },
        { e_backing_offset_huge, "outside the first cluster" },
        { e_backing_in_header, "overlaps the header" },
        { e_backing_nul, "NUL" },
        { e_l1_absurd, "L1 table of 4294967295 entries is absurd" },
        { e_l1_small, "too small for a virtual size" },
        { e_l1_unaligned, "L1 table offset 196609 is not aligned" },
        { e_l1_zero, "L1 table at offset 0" },
        { e_size_huge, "too small for a virtual size" },
        { e_reftable_none, "no refcount table" },
        { e_reftable_absurd, "refcount table of 268435456 clusters is absurd" },
        { e_reftable_unaligned, "refcount table offset 12345" },
        { e_snapshots_absurd, "70000 snapshots" },
        { e_compression, "compression type 1" },
        { e_extension_overflow, "runs past the header area" },
        { e_backing_format_long, "backing format extension of 100 bytes" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_invalid(&v3, cases[i].edit, cases[i].why);
}

/* ---- truncation ---------------------------------------------------------------------------------- */

static void test_truncated_tables(void)
{
    struct qcow2_info info;
    /* The L1 table of a fresh image sits at 0x30000: cut the file before it. */
    CU_ASSERT_EQUAL(qcow2_parse(v3.bytes, 4096, 0x20000, &info), QCOW2_VALID);
    CU_ASSERT_TRUE(info.truncated);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.why, "L1 table"));
    /* Before the refcount table (0x10000), with the L1 table moved in front of it. */
    uint8_t moved[4096];
    memcpy(moved, v3.bytes, sizeof(moved));
    put64(moved + 40, 0x8000);
    put32(moved + 20, 12); /* 4 KiB clusters: 0x8000 is aligned; 1 GiB needs 2048 L1 entries */
    put32(moved + 36, 2048);
    CU_ASSERT_EQUAL(qcow2_parse(moved, sizeof(moved), 0xc000, &info), QCOW2_VALID);
    CU_ASSERT_TRUE(info.truncated);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.why, "refcount table"));
    /* Snapshots past the end. */
    uint8_t copy[4096];
    memcpy(copy, v3.bytes, sizeof(copy));
    put32(copy + 60, 3);
    put64(copy + 64, 0x100000);
    CU_ASSERT_EQUAL(qcow2_parse(copy, sizeof(copy), v3.len, &info), QCOW2_VALID);
    CU_ASSERT_TRUE(info.truncated);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.why, "snapshot table"));
    /* Inside the header itself: INVALID and truncated. */
    CU_ASSERT_EQUAL(qcow2_parse(v3.bytes, 50, 50, &info), QCOW2_INVALID);
    CU_ASSERT_TRUE(info.truncated);
    CU_ASSERT_EQUAL(qcow2_parse(v3.bytes, 90, 90, &info), QCOW2_INVALID);
    CU_ASSERT_TRUE(info.truncated);
}

/* Every prefix of real headers, every file size around it: no crash, no read past len. */
static void test_every_prefix(void)
{
    char *args = test_strf("-f qcow2 -b %s/base.raw -F raw -u prefix.qcow2 1G", tmp);
    struct image im = make("prefix.qcow2", args);
    free(args);
    for (size_t len = 0; len <= 1024; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
        memcpy(copy, im.bytes, len);
        struct qcow2_info info;
        enum qcow2_status s = qcow2_parse(copy, len, len, &info);
        if (len < 4)
            CU_ASSERT_EQUAL(s, QCOW2_NOT_QCOW2);
        CU_ASSERT(info.need <= len); /* the file ends here: nothing more to ask for */
        if (len >= 4 && s == QCOW2_VALID)
            CU_ASSERT_TRUE(info.truncated); /* the tables are always further */
        s = qcow2_parse(copy, len, im.len, &info);
        CU_ASSERT(s != QCOW2_INVALID || len < 4 || !info.truncated || len < 112);
        free(copy);
    }
    free(im.bytes);
}

/* ---- probes --------------------------------------------------------------------------------------- */

static void test_format_detect(void)
{
    static const struct {
        const char *bytes;
        size_t n;
        const char *format;
    } cases[] = {
        { "QFI\xfb\0\0\0\3", 8, "qcow2" }, { "QED\0", 4, "qed" },           { "KDMV", 4, "vmdk" },
        { "vhdxfile", 8, "vhdx" },         { "conectix", 8, "vpc" },        { "LUKS\xba\xbe", 6, "luks" },
        { "\0\0\0\0", 4, "raw" },          { "QFI", 3, "raw" },             { "", 0, "raw" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CU_ASSERT_STRING_EQUAL(image_format_detect((const uint8_t *)cases[i].bytes, cases[i].n), cases[i].format);
    uint8_t vdi[80] = { 0 };
    vdi[64] = 0x7f, vdi[65] = 0x10, vdi[66] = 0xda, vdi[67] = 0xbe;
    CU_ASSERT_STRING_EQUAL(image_format_detect(vdi, sizeof(vdi)), "vdi");
    struct image raw = make("raw.img", "-f raw raw.img 1M");
    CU_ASSERT_STRING_EQUAL(image_format_detect(raw.bytes, raw.len), "raw");
    free(raw.bytes);
}

static void test_config_drive_detect(void)
{
    static uint8_t buf[CONFIG_DRIVE_PROBE_BYTES];
    memset(buf, 0, sizeof(buf));
    CU_ASSERT_EQUAL(config_drive_detect(buf, sizeof(buf)), CONFIG_DRIVE_UNKNOWN);
    memcpy(buf + 32768, "\001CD001", 6);
    CU_ASSERT_EQUAL(config_drive_detect(buf, sizeof(buf)), CONFIG_DRIVE_ISO9660);
    CU_ASSERT_EQUAL(config_drive_detect(buf, 32773), CONFIG_DRIVE_UNKNOWN); /* cut before the magic ends */
    memset(buf, 0, sizeof(buf));
    buf[510] = 0x55, buf[511] = 0xaa;
    CU_ASSERT_EQUAL(config_drive_detect(buf, sizeof(buf)), CONFIG_DRIVE_UNKNOWN);
    memcpy(buf + 54, "FAT12   ", 8);
    CU_ASSERT_EQUAL(config_drive_detect(buf, 512), CONFIG_DRIVE_VFAT);
    memset(buf + 54, 0, 8);
    memcpy(buf + 82, "FAT32   ", 8);
    CU_ASSERT_EQUAL(config_drive_detect(buf, 512), CONFIG_DRIVE_VFAT);
    CU_ASSERT_EQUAL(config_drive_detect(buf, 511), CONFIG_DRIVE_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(config_drive_kind_name(CONFIG_DRIVE_ISO9660), "iso9660");
    CU_ASSERT_STRING_EQUAL(config_drive_kind_name(CONFIG_DRIVE_VFAT), "vfat");
}

static void setup(void)
{
    tmp = test_tmpdir_create("qcow2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char *cmd = test_strf("qemu-img create -q -f raw %s/base.raw 1M", tmp);
    sh(cmd);
    free(cmd);
    v3 = make("v3base.qcow2", "-f qcow2 v3base.qcow2 1G");
}

static void teardown(void)
{
    free(v3.bytes);
    test_tmpdir_remove(tmp);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "setup", setup },
        { "v3 image", test_v3_plain },
        { "v2 image with backing file and format", test_v2_with_backing },
        { "relative backing name and qcow2 backing format", test_v3_backing_relative_and_format },
        { "lazy refcounts, 512-byte clusters", test_lazy_refcounts_and_small_clusters },
        { "header beyond the first read: need more", test_need_more },
        { "dirty and corrupt bits", test_dirty_and_corrupt },
        { "invalid headers, one edit each", test_invalid_headers },
        { "tables past the end of the file", test_truncated_tables },
        { "every prefix of a header", test_every_prefix },
        { "image format probe", test_format_detect },
        { "config drive probe", test_config_drive_detect },
        { "teardown", teardown },
        { NULL, NULL },
    };
    return test_run_suite("fsck qcow2", cases);
}
