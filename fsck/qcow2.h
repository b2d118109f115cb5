/*
 * The qcow2 header, read by ferry itself rather than by qemu-img: fsck must look at tens of
 * thousands of images in seconds, and must survive any bytes a broken or hostile file holds.
 *
 * qcow2_parse() is pure: it gets the first bytes of a file and the file's size, and fills a
 * plain struct. Nothing in the header is trusted: every offset is checked against the file
 * size before it is used, every length against a bound, and each problem becomes a flag with
 * one line saying why, never a crash. It reads versions 2 and 3 (the layout is in QEMU's
 * docs/interop/qcow2.txt), the feature bits, the backing file name, the L1 and refcount
 * tables' places and the header extensions (backing format, external data file).
 *
 * qcow2_read_header() is the small I/O wrapper: it reads the first 4 KiB, and more only when
 * the header itself says its extensions or backing name lie further (within the first
 * cluster, 2 MiB at most).
 *
 * No dependencies beyond libc, so that the fuzz target can build it with any compiler.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LENGTH 72
#define QCOW2_V3_HEADER_LENGTH 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_BACKING_NAME 1023         /* QEMU refuses longer names */
#define QCOW2_MAX_L1_BYTES (32u << 20)      /* QEMU's QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20) /* QEMU's QCOW_MAX_REFTABLE_SIZE */
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_FIRST_READ 4096
#define QCOW2_MAX_READ (2u << 20) /* the largest cluster: the header never reaches past it */

/* Incompatible feature bits (a reader that does not know one must not open the image). */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full
/* Compatible: lazy refcounts. Autoclear: bitmaps, raw external data. */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_DATA_FILE 0x44415441u

struct qcow2_header {
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size; /* virtual disk size */
    uint32_t crypt_method;
    uint32_t l1_size; /* entries */
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features, compatible_features, autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
};

enum qcow2_status {
    QCOW2_NOT_QCOW2, /* no magic: some other format (or raw) */
    QCOW2_VALID,     /* parsed; see the flags for corrupt, dirty and truncated */
    QCOW2_INVALID,   /* the magic, but a header no reader should trust (why says what) */
};

struct qcow2_info {
    enum qcow2_status status;
    struct qcow2_header h;
    bool dirty;     /* incompatible bit 0: refcounts may be stale (lazy refcounts) */
    bool corrupt;   /* incompatible bit 1: QEMU found corruption and refuses writes */
    bool truncated; /* metadata (header, L1, refcount table, snapshots) reaches past EOF */
    bool has_backing;
    char backing_name[QCOW2_MAX_BACKING_NAME + 1]; /* NUL-free by construction */
    bool has_backing_format;
    char backing_format[32];
    bool has_data_file; /* an external data file (the guest's data is elsewhere) */
    char why[240];      /* for INVALID, or for truncated: one line */
    /* When the first bytes were not enough (extensions or backing name further in): how
     * many bytes from offset 0 are needed. 0 when the parse is complete. */
    size_t need;
};

/*
 * Parses the header from buf (the first len bytes of a file of file_size bytes; len may be
 * less than file_size). Fills *info and returns info->status. When the header points past
 * len but inside the file and within QCOW2_MAX_READ, sets info->need and the caller parses
 * again with that many bytes (a second call with len >= need never asks again).
 */
enum qcow2_status qcow2_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct qcow2_info *info);

/* Reads the header of the open file fd (of file_size bytes) and parses it. Returns 0 or a
 * negative errno when the file could not be read. */
int qcow2_read_header(int fd, uint64_t file_size, struct qcow2_info *info);

/* "qcow2", "raw", "qed", "vmdk", "vdi", "vhdx", "vpc", "luks": what the first bytes say
 * (QEMU's probing, minus the guesswork): "raw" when no magic matches. */
const char *image_format_detect(const uint8_t *buf, size_t len);

enum config_drive_kind { CONFIG_DRIVE_UNKNOWN, CONFIG_DRIVE_ISO9660, CONFIG_DRIVE_VFAT };
/* The file system of a config drive, from its first 32774 bytes (fewer: whatever is there). */
enum config_drive_kind config_drive_detect(const uint8_t *buf, size_t len);
#define CONFIG_DRIVE_PROBE_BYTES 32774
const char *config_drive_kind_name(enum config_drive_kind k);
