/*
 * Paths inside the instance store, decided on the text alone (no file system): where a
 * backing file name leads, whether a symlink's target leaves the store, how a path written
 * in disk.info or libvirt.xml maps into the store. The scan uses these to know what to
 * look at; the kernel (openat2 with RESOLVE_BENEATH) has the last word when a file is
 * actually opened.
 *
 * A store has one or more roots: the directory being checked, and [storage] mount_point,
 * the name under which the hosts' QEMUs see it (they may differ when fsck runs on the NFS
 * server's export directory). Store-relative paths have no leading '/', no "." or ".."
 * components and no empty components; "" is the root.
 */
#pragma once

#include "facts.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Resolves name relative to the store-relative directory dir, lexically. Writes the
 * store-relative result to out. Returns 0, -EXDEV when ".." climbs above the root, or
 * -ENAMETOOLONG.
 */
int path_join_rel(const char *dir, const char *name, char *out, size_t size);

/* For an absolute path: the store-relative path when it lies under one of the roots
 * (root itself gives ""), else -EXDEV. */
int path_under_roots(const char *path, const char *const *roots, size_t n_roots, char *out, size_t size);

/* QEMU's rule: a name with ':' before any '/' names a protocol (nbd:, http:, json:...). */
bool path_has_protocol(const char *name);

/* The directory part of a store-relative path ("a/b" -> "a", "a" -> ""), into out. */
void path_dirname_rel(const char *rel, char *out, size_t size);

/*
 * Where the backing file name of the image at image_rel leads. For BACKING_IN_STORE, the
 * store-relative path goes to rel.
 */
enum backing_class backing_classify(const char *name, const char *image_rel, const char *const *roots,
                                    size_t n_roots, char *rel, size_t size);

/* Does the symlink at link_rel, pointing to target, lead out of the store? */
bool symlink_escapes(const char *link_rel, const char *target, const char *const *roots, size_t n_roots);

/*
 * A path from an instance's disk.info or libvirt.xml, mapped into the store: under a root,
 * or else (the store mounted elsewhere on the host that wrote it) containing the instance's
 * own directory "/<uuid>/". Returns 0 with out filled, or -EXDEV when it lies outside.
 */
int path_map_instance_file(const char *path, const char *uuid, const char *const *roots, size_t n_roots, char *out,
                           size_t size);

/* Is name a canonical lowercase UUID (Nova's instance directories)? */
bool path_is_uuid(const char *name);

/* "X.ferry-partial" and its companions ("X.ferry-partial.manifest", ...). */
bool path_is_partial(const char *name);
