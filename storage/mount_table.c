/*
 * ferry's one room for libmount: every libmount call lives in this file. The rest of ferry
 * gets a plain struct mount_entry — strings copied out of libmount — and asks questions of it.
 *
 * Two libmount habits shape the code. Its parser skips lines it cannot read and reports them
 * only through an error callback, so a count kept in the table's userdata decides whether the
 * text was mountinfo at all. And it guesses the format from the first line ("N N ..." is
 * mountinfo, anything else fstab), so "a b c" parses happily as fstab; only entries that
 * libmount marks as kernel entries (mountinfo) are accepted.
 */
#include "mount_table.h"

#include "cleanup.h"

#include <errno.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROC_SELF_MOUNTINFO "/proc/self/mountinfo"

static void table_unrefp(struct libmnt_table **tb)
{
    if (*tb)
        mnt_unref_table(*tb);
}

static void iter_freep(struct libmnt_iter **itr)
{
    if (*itr)
        mnt_free_iter(*itr);
}

#define _cleanup_table_ _cleanup_(table_unrefp)
#define _cleanup_iter_ _cleanup_(iter_freep)

/* --- reading mountinfo ---------------------------------------------------------------- */

static int count_parse_error(struct libmnt_table *tb, const char *filename, int line)
{
    (void)filename;
    (void)line;
    unsigned *errors = mnt_table_get_userdata(tb);
    if (errors)
        (*errors)++;
    return 1; /* skip the line; parse_mountinfo() judges the whole text afterwards */
}

/* True when every entry came from a mountinfo line (not one guessed to be fstab). */
static bool all_entries_from_mountinfo(struct libmnt_table *tb)
{
    _cleanup_iter_ struct libmnt_iter *itr = mnt_new_iter(MNT_ITER_FORWARD);
    struct libmnt_fs *fs;
    if (!itr)
        return false;
    while (mnt_table_next_fs(tb, itr, &fs) == 0)
        if (!mnt_fs_is_kernel(fs))
            return false;
    return true;
}

/* Parses stream f (called name in libmount's debug output) as mountinfo into *out. */
static int parse_mountinfo(FILE *f, const char *name, struct libmnt_table **out)
{
    _cleanup_table_ struct libmnt_table *tb = mnt_new_table();
    unsigned errors = 0;
    if (!tb)
        return -ENOMEM;
    mnt_table_set_userdata(tb, &errors);
    mnt_table_set_parser_errcb(tb, count_parse_error);
    int r = mnt_table_parse_stream(tb, f, name);
    mnt_table_set_userdata(tb, NULL);
    if (r < 0)
        return r;
    if (errors > 0 || !all_entries_from_mountinfo(tb))
        return -EINVAL;
    *out = TAKE_PTR(tb);
    return 0;
}

/* --- finding the entry at a target ---------------------------------------------------- */

/* path with runs of '/' collapsed and a trailing '/' dropped ("/" stays "/"); NULL: no memory. */
static char *canonical_path(const char *path)
{
    char *out = malloc(strlen(path) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = path; *p; p++)
        if (!(*p == '/' && o > 0 && out[o - 1] == '/'))
            out[o++] = *p;
    if (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    return out;
}

/* Does fs sit at target (already canonical)? -ENOMEM, 0 no, 1 yes. */
static int fs_is_at(struct libmnt_fs *fs, const char *target)
{
    const char *t = mnt_fs_get_target(fs);
    if (!t)
        return 0;
    _cleanup_free_ char *canonical = canonical_path(t);
    if (!canonical)
        return -ENOMEM;
    return strcmp(canonical, target) == 0;
}

static bool optstr_has(const char *optstr, const char *name)
{
    char *value = NULL;
    size_t size = 0;
    return optstr && mnt_optstr_get_option(optstr, name, &value, &size) == 0;
}

static char *strdup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int entry_from_fs(struct libmnt_fs *fs, struct mount_entry *entry)
{
    struct mount_entry e = {
        .target = strdup_or_empty(mnt_fs_get_target(fs)),
        .source = strdup_or_empty(mnt_fs_get_source(fs)),
        .fstype = strdup_or_empty(mnt_fs_get_fstype(fs)),
        .options = strdup_or_empty(mnt_fs_get_options(fs)),
        .fs_options = strdup_or_empty(mnt_fs_get_fs_options(fs)),
        /* libmount's merged options drop the FS "rw"/"ro" in favour of the VFS one: ask both. */
        .read_only = optstr_has(mnt_fs_get_vfs_options(fs), "ro") || optstr_has(mnt_fs_get_fs_options(fs), "ro"),
        .devno = mnt_fs_get_devno(fs),
    };
    if (!e.target || !e.source || !e.fstype || !e.options || !e.fs_options) {
        mount_entry_clear(&e);
        return -ENOMEM;
    }
    *entry = e;
    return 0;
}

/* The last entry at target: the top of an over-mount stack. */
static int find_in_table(struct libmnt_table *tb, const char *target, struct mount_entry *entry)
{
    _cleanup_free_ char *canonical = canonical_path(target);
    _cleanup_iter_ struct libmnt_iter *itr = mnt_new_iter(MNT_ITER_BACKWARD);
    struct libmnt_fs *fs;
    if (!canonical || !itr)
        return -ENOMEM;
    while (mnt_table_next_fs(tb, itr, &fs) == 0) {
        int r = fs_is_at(fs, canonical);
        if (r < 0)
            return r;
        if (r > 0)
            return entry_from_fs(fs, entry);
    }
    return -ENOENT;
}

static int find_in_stream(FILE *f, const char *name, const char *target, struct mount_entry *entry)
{
    _cleanup_table_ struct libmnt_table *tb = NULL;
    int r = parse_mountinfo(f, name, &tb);
    if (r < 0)
        return r;
    return find_in_table(tb, target, entry);
}

static bool valid_target(const char *target)
{
    return target && target[0] == '/';
}

int mount_table_find_in_text(const char *mountinfo_text, const char *target, struct mount_entry *entry)
{
    if (!mountinfo_text || !valid_target(target) || !entry)
        return -EINVAL;
    _cleanup_fclose_ FILE *f = fmemopen((void *)mountinfo_text, strlen(mountinfo_text), "r");
    if (!f)
        return -errno;
    return find_in_stream(f, "mountinfo text", target, entry);
}

int mount_table_find(const char *target, struct mount_entry *entry)
{
    if (!valid_target(target) || !entry)
        return -EINVAL;
    /* libmount notices a procfs stream and reads it whole before parsing, so the table is
     * one consistent snapshot even while mounts change. */
    _cleanup_fclose_ FILE *f = fopen(PROC_SELF_MOUNTINFO, "re");
    if (!f)
        return -errno;
    return find_in_stream(f, PROC_SELF_MOUNTINFO, target, entry);
}

void mount_entry_clear(struct mount_entry *entry)
{
    if (!entry)
        return;
    free(entry->target);
    free(entry->source);
    free(entry->fstype);
    free(entry->options);
    free(entry->fs_options);
    *entry = (struct mount_entry){ .target = NULL };
}

/* --- questions about an entry --------------------------------------------------------- */

enum mount_kind mount_entry_kind(const struct mount_entry *entry)
{
    if (!entry || !entry->fstype || !entry->fstype[0])
        return MOUNT_KIND_NONE;
    if (strcmp(entry->fstype, "nfs") == 0 || strcmp(entry->fstype, "nfs4") == 0)
        return MOUNT_KIND_KERNEL_NFS;
    if (strcmp(entry->fstype, "fuse.ferry") == 0)
        return MOUNT_KIND_FERRY_FUSE;
    return MOUNT_KIND_OTHER;
}

static bool entry_has_option(const struct mount_entry *entry, const char *name)
{
    return optstr_has(entry->options, name) || optstr_has(entry->fs_options, name);
}

bool mount_entry_is_hard(const struct mount_entry *entry)
{
    if (mount_entry_kind(entry) != MOUNT_KIND_KERNEL_NFS)
        return false;
    return !entry_has_option(entry, "soft") && !entry_has_option(entry, "softerr");
}

/* The value of option name in optstr: 1 found (copied into buf), 0 absent or empty, -ENOSPC. */
static int optstr_value(const char *optstr, const char *name, char *buf, size_t size)
{
    char *value = NULL;
    size_t length = 0;
    if (!optstr || mnt_optstr_get_option(optstr, name, &value, &length) != 0 || !value || length == 0)
        return 0;
    if (length >= size)
        return -ENOSPC;
    memcpy(buf, value, length);
    buf[length] = '\0';
    return 1;
}

const char *mount_entry_nfs_version(const struct mount_entry *entry, char *buf, size_t size)
{
    static const char *const names[] = { "vers", "nfsvers" };
    if (mount_entry_kind(entry) != MOUNT_KIND_KERNEL_NFS || !buf || size == 0)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const char *optstrs[] = { entry->fs_options, entry->options };
        for (size_t j = 0; j < ARRAY_SIZE(optstrs); j++) {
            int r = optstr_value(optstrs[j], names[i], buf, size);
            if (r != 0)
                return r > 0 ? buf : NULL;
        }
    }
    return NULL;
}
