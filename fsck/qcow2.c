/*
 * qcow2 headers without trust. The parse is a straight line of checks, each one before the
 * field it guards is used: the version, then the lengths and bounds QEMU itself enforces
 * (so an image QEMU would refuse is INVALID here too), then the places of the metadata
 * tables against the file's size (past it: truncated), then the header extensions, walked
 * with every length bounded by the header area. Arithmetic on header values is done so
 * that it cannot overflow: sizes are compared by subtraction from known-good bounds.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static enum qcow2_status fail(struct qcow2_info *info, enum qcow2_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum qcow2_status fail(struct qcow2_info *info, enum qcow2_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(info->why, sizeof(info->why), fmt, ap);
    va_end(ap);
    info->status = s;
    info->truncated = false; /* INVALID wins over a truncation seen before it */
    return s;
}

/* The file ends inside the header itself: INVALID (nothing can be read) and truncated. */
static enum qcow2_status header_cut(struct qcow2_info *info, uint64_t file_size, uint64_t header_bytes)
{
    fail(info, QCOW2_INVALID, "the file ends at %llu bytes, inside the %llu-byte qcow2 header",
         (unsigned long long)file_size, (unsigned long long)header_bytes);
    info->truncated = true;
    return QCOW2_INVALID;
}

/* The first truncation found is the one reported. */
static void truncated(struct qcow2_info *info, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void truncated(struct qcow2_info *info, const char *fmt, ...)
{
    if (info->truncated)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(info->why, sizeof(info->why), fmt, ap);
    va_end(ap);
    info->truncated = true;
}

/* Does [offset, offset + length) end within size? Without overflow. */
static bool fits(uint64_t offset, uint64_t length, uint64_t size)
{
    return offset <= size && length <= size - offset;
}

/* More bytes are needed to go on: ask for the whole header area at once (the first
 * cluster, which holds everything the header points to, but never more than the file), so
 * that a second parse never needs a third. */
static enum qcow2_status need_more(struct qcow2_info *info, uint64_t area, uint64_t file_size)
{
    uint64_t n = area < file_size ? area : file_size;
    if (n > QCOW2_MAX_READ)
        n = QCOW2_MAX_READ;
    info->need = (size_t)n;
    info->status = QCOW2_VALID;
    return QCOW2_VALID;
}

static enum qcow2_status check_table(struct qcow2_info *info, const char *what, uint64_t offset, uint64_t bytes,
                                     uint64_t cluster_size, uint64_t file_size)
{
    if (offset % cluster_size)
        return fail(info, QCOW2_INVALID, "%s offset %llu is not aligned to the cluster size %llu", what,
                    (unsigned long long)offset, (unsigned long long)cluster_size);
    if (offset == 0 && bytes)
        return fail(info, QCOW2_INVALID, "%s at offset 0, over the header", what);
    if (bytes && !fits(offset, bytes, file_size))
        truncated(info, "%s at %llu (%llu bytes) ends past the end of the file (%llu bytes)", what,
                  (unsigned long long)offset, (unsigned long long)bytes, (unsigned long long)file_size);
    return QCOW2_VALID;
}

static enum qcow2_status parse_extensions(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t start,
                                          uint64_t end, uint64_t cluster_size, struct qcow2_info *info)
{
    uint64_t off = start;
    while (end - off >= 8) {
        if (!fits(off, 8, len)) {
            if (!fits(off, 8, file_size)) {
                truncated(info, "the header extensions run past the end of the file (%llu bytes)",
                          (unsigned long long)file_size);
                return QCOW2_VALID;
            }
            return need_more(info, cluster_size, file_size);
        }
        uint32_t type = be32(buf + off), elen = be32(buf + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END)
            return QCOW2_VALID;
        if (elen > end - off)
            return fail(info, QCOW2_INVALID, "header extension 0x%08x of %u bytes runs past the header area (%llu bytes)",
                        type, elen, (unsigned long long)end);
        if (!fits(off, elen, len)) {
            if (!fits(off, elen, file_size)) {
                truncated(info, "header extension 0x%08x runs past the end of the file (%llu bytes)", type,
                          (unsigned long long)file_size);
                return QCOW2_VALID;
            }
            return need_more(info, cluster_size, file_size);
        }
        const uint8_t *data = buf + off;
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (elen == 0 || elen >= sizeof(info->backing_format) || memchr(data, 0, elen))
                return fail(info, QCOW2_INVALID, "backing format extension of %u bytes is not a format name", elen);
            memcpy(info->backing_format, data, elen);
            info->backing_format[elen] = 0;
            info->has_backing_format = true;
            break;
        case QCOW2_EXT_DATA_FILE:
            info->has_data_file = true;
            break;
        default:
            break;
        }
        uint64_t padded = ((uint64_t)elen + 7) & ~(uint64_t)7;
        if (padded > end - off)
            return QCOW2_VALID; /* the padding of the last extension is cut by the area's end */
        off += padded;
    }
    return QCOW2_VALID;
}

enum qcow2_status qcow2_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_info *info)
{
    memset(info, 0, sizeof(*info));
    if (file_size < len)
        file_size = len; /* the bytes are there: the size cannot be smaller */
    if (len < 4 || be32(buf) != QCOW2_MAGIC) {
        info->status = QCOW2_NOT_QCOW2;
        return QCOW2_NOT_QCOW2;
    }
    if (len < QCOW2_V2_HEADER_LENGTH) {
        if (file_size < QCOW2_V2_HEADER_LENGTH)
            return header_cut(info, file_size, QCOW2_V2_HEADER_LENGTH);
        return need_more(info, QCOW2_MAX_READ, file_size);
    }
    struct qcow2_header *h = &info->h;
    h->version = be32(buf + 4);
    if (h->version != 2 && h->version != 3)
        return fail(info, QCOW2_INVALID, "qcow2 version %u (only 2 and 3 exist)", h->version);
    h->backing_file_offset = be64(buf + 8);
    h->backing_file_size = be32(buf + 16);
    h->cluster_bits = be32(buf + 20);
    h->size = be64(buf + 24);
    h->crypt_method = be32(buf + 32);
    h->l1_size = be32(buf + 36);
    h->l1_table_offset = be64(buf + 40);
    h->refcount_table_offset = be64(buf + 48);
    h->refcount_table_clusters = be32(buf + 56);
    h->nb_snapshots = be32(buf + 60);
    h->snapshots_offset = be64(buf + 64);
    h->refcount_order = 4;
    h->header_length = QCOW2_V2_HEADER_LENGTH;
    if (h->version == 3) {
        if (len < QCOW2_V3_HEADER_LENGTH) {
            if (file_size < QCOW2_V3_HEADER_LENGTH)
                return header_cut(info, file_size, QCOW2_V3_HEADER_LENGTH);
            return need_more(info, QCOW2_MAX_READ, file_size);
        }
        h->incompatible_features = be64(buf + 72);
        h->compatible_features = be64(buf + 80);
        h->autoclear_features = be64(buf + 88);
        h->refcount_order = be32(buf + 96);
        h->header_length = be32(buf + 100);
    }

    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return fail(info, QCOW2_INVALID, "cluster_bits %u is out of range (%d to %d)", h->cluster_bits,
                    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
    uint64_t cluster_size = 1ull << h->cluster_bits;
    if (h->version == 3) {
        if (h->header_length < QCOW2_V3_HEADER_LENGTH)
            return fail(info, QCOW2_INVALID, "header_length %u is shorter than a v3 header (%d)", h->header_length,
                        QCOW2_V3_HEADER_LENGTH);
        if (h->header_length > cluster_size)
            return fail(info, QCOW2_INVALID, "header_length %u is larger than a cluster (%llu)", h->header_length,
                        (unsigned long long)cluster_size);
    }
    if (!fits(0, h->header_length, file_size))
        return header_cut(info, file_size, h->header_length);
    if (h->header_length > len)
        return need_more(info, cluster_size, file_size);
    if (h->header_length > QCOW2_V3_HEADER_LENGTH)
        h->compression_type = buf[QCOW2_V3_HEADER_LENGTH];

    uint64_t unknown = h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown)
        return fail(info, QCOW2_INVALID, "unknown incompatible features 0x%llx", (unsigned long long)unknown);
    if ((h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) ? h->compression_type > 1 : h->compression_type != 0)
        return fail(info, QCOW2_INVALID, "compression type %u is not valid here", h->compression_type);
    if (h->refcount_order > 6)
        return fail(info, QCOW2_INVALID, "refcount_order %u is out of range (0 to 6)", h->refcount_order);
    if (h->crypt_method > 2)
        return fail(info, QCOW2_INVALID, "encryption method %u is unknown", h->crypt_method);
    info->dirty = h->incompatible_features & QCOW2_INCOMPAT_DIRTY;
    info->corrupt = h->incompatible_features & QCOW2_INCOMPAT_CORRUPT;

    /* The backing file name: QEMU's bounds (in the first cluster, at most 1023 bytes). */
    if (h->backing_file_offset) {
        if (h->backing_file_size > QCOW2_MAX_BACKING_NAME)
            return fail(info, QCOW2_INVALID, "backing file name length %u is absurd (at most %d)",
                        h->backing_file_size, QCOW2_MAX_BACKING_NAME);
        if (!fits(h->backing_file_offset, h->backing_file_size, cluster_size))
            return fail(info, QCOW2_INVALID, "backing file name at offset %llu lies outside the first cluster",
                        (unsigned long long)h->backing_file_offset);
        if (h->backing_file_offset < h->header_length)
            return fail(info, QCOW2_INVALID, "backing file name at offset %llu overlaps the header",
                        (unsigned long long)h->backing_file_offset);
    }

    /* The tables: sizes QEMU accepts, aligned places, and whether the file holds them. */
    if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return fail(info, QCOW2_INVALID, "L1 table of %u entries is absurd", h->l1_size);
    unsigned l2_bits = h->cluster_bits - ((h->incompatible_features & QCOW2_INCOMPAT_EXTL2) ? 4 : 3);
    unsigned shift = h->cluster_bits + l2_bits; /* bytes covered by one L1 entry: at most 2^39 */
    uint64_t needed_l1 = (h->size >> shift) + ((h->size & ((1ull << shift) - 1)) != 0);
    if (needed_l1 > h->l1_size)
        return fail(info, QCOW2_INVALID, "L1 table of %u entries is too small for a virtual size of %llu bytes",
                    h->l1_size, (unsigned long long)h->size);
    if (check_table(info, "L1 table", h->l1_table_offset, (uint64_t)h->l1_size * 8, cluster_size, file_size) !=
        QCOW2_VALID)
        return info->status;
    if (h->refcount_table_clusters == 0)
        return fail(info, QCOW2_INVALID, "no refcount table");
    if ((uint64_t)h->refcount_table_clusters * cluster_size > QCOW2_MAX_REFTABLE_BYTES)
        return fail(info, QCOW2_INVALID, "refcount table of %u clusters is absurd", h->refcount_table_clusters);
    if (check_table(info, "refcount table", h->refcount_table_offset,
                    (uint64_t)h->refcount_table_clusters * cluster_size, cluster_size, file_size) != QCOW2_VALID)
        return info->status;
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return fail(info, QCOW2_INVALID, "%u snapshots is absurd", h->nb_snapshots);
    if (h->nb_snapshots &&
        check_table(info, "snapshot table", h->snapshots_offset, (uint64_t)h->nb_snapshots * 40, cluster_size,
                    file_size) != QCOW2_VALID)
        return info->status;

    /* Extensions live between the header and the backing name (or the cluster's end). */
    uint64_t ext_end = h->backing_file_offset ? h->backing_file_offset : cluster_size;
    if (parse_extensions(buf, len, file_size, h->header_length, ext_end, cluster_size, info) != QCOW2_VALID || info->need)
        return info->status;

    if (h->backing_file_offset && h->backing_file_size) {
        if (!fits(h->backing_file_offset, h->backing_file_size, file_size)) {
            truncated(info, "the backing file name runs past the end of the file (%llu bytes)",
                      (unsigned long long)file_size);
            return QCOW2_VALID;
        }
        if (!fits(h->backing_file_offset, h->backing_file_size, len))
            return need_more(info, cluster_size, file_size);
        const uint8_t *name = buf + h->backing_file_offset;
        if (memchr(name, 0, h->backing_file_size))
            return fail(info, QCOW2_INVALID, "the backing file name holds a NUL byte");
        memcpy(info->backing_name, name, h->backing_file_size);
        info->backing_name[h->backing_file_size] = 0;
        info->has_backing = true;
    }
    info->status = QCOW2_VALID;
    return QCOW2_VALID;
}

static ssize_t pread_full(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

int qcow2_read_header(int fd, uint64_t file_size, struct qcow2_info *info)
{
    uint8_t first[QCOW2_FIRST_READ];
    size_t want = file_size < sizeof(first) ? (size_t)file_size : sizeof(first);
    ssize_t n = pread_full(fd, first, want);
    if (n < 0)
        return (int)n;
    qcow2_parse(first, (size_t)n, file_size, info);
    if (!info->need || info->need <= (size_t)n)
        return 0;
    size_t more = info->need;
    uint8_t *buf = malloc(more);
    if (!buf)
        return -ENOMEM;
    n = pread_full(fd, buf, more);
    if (n >= 0)
        qcow2_parse(buf, (size_t)n, file_size, info);
    free(buf);
    if (n >= 0 && info->need > (size_t)n) {
        /* The file shrank between the two reads: what is there is all there is. */
        info->need = 0;
        info->truncated = true;
        snprintf(info->why, sizeof(info->why), "the file ended while its header was being read");
    }
    return n < 0 ? (int)n : 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

const char *image_format_detect(const uint8_t *buf, size_t len)
{
    static const struct {
        const char *name;
        size_t offset;
        const char *magic;
        size_t n;
    } magics[] = {
        { "qcow2", 0, "QFI\xfb", 4 },      { "qed", 0, "QED\0", 4 },          { "vmdk", 0, "KDMV", 4 },
        { "vmdk", 0, "COWD", 4 },          { "vmdk", 0, "# Disk DescriptorFile", 21 },
        { "vhdx", 0, "vhdxfile", 8 },      { "vpc", 0, "conectix", 8 },       { "luks", 0, "LUKS\xba\xbe", 6 },
    };
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (len >= magics[i].offset + magics[i].n && !memcmp(buf + magics[i].offset, magics[i].magic, magics[i].n))
            return magics[i].name;
    if (len >= 68 && le32(buf + 64) == 0xbeda107fu)
        return "vdi";
    return "raw";
}

enum config_drive_kind config_drive_detect(const uint8_t *buf, size_t len)
{
    /* ISO 9660: the first volume descriptor at 32768 starts with a type byte and "CD001". */
    if (len >= 32774 && !memcmp(buf + 32769, "CD001", 5))
        return CONFIG_DRIVE_ISO9660;
    if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xaa &&
        (!memcmp(buf + 54, "FAT", 3) || !memcmp(buf + 82, "FAT", 3)))
        return CONFIG_DRIVE_VFAT;
    return CONFIG_DRIVE_UNKNOWN;
}

const char *config_drive_kind_name(enum config_drive_kind k)
{
    switch (k) {
    case CONFIG_DRIVE_ISO9660:
        return "iso9660";
    case CONFIG_DRIVE_VFAT:
        return "vfat";
    default:
        return "unknown";
    }
}
