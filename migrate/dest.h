/*
 * The destination's side of block and cold migration, through its libvirt only (ferry runs
 * on the source): directories made with a storage pool's build, overlays and empty images
 * created as storage volumes, files compared by checksum, the guest defined, started and
 * removed. Everything made is remembered, so a rollback removes exactly that.
 */
#pragma once

#include "driver.h"

#include <stdbool.h>
#include <stdint.h>

struct dest_dir;

/* Opens directory path on the destination as a pool, building it (mkdir) if it is missing;
 * *created says whether ferry made it. */
int dest_dir_open(struct driver *d, const char *path, struct dest_dir **dir, bool *created, char **error);
/* Stops using the pool; removes the directory too when remove is set (it must be empty). */
void dest_dir_close(struct dest_dir *dir, bool remove);

/* Size of file name in the directory; -ENOENT when absent. */
int dest_file_size(struct dest_dir *dir, const char *name, uint64_t *size);
/* XXH3-128 (32 hex digits) of file name, read through the destination's libvirt. */
int dest_file_checksum(struct dest_dir *dir, const char *name, char hex[33], char **error);
/* A qcow2 overlay of capacity bytes on backing (format backing_format). */
int dest_create_overlay(struct dest_dir *dir, const char *name, uint64_t capacity, const char *backing,
                        const char *backing_format, char **error);
/* An empty image of capacity bytes, in format (raw: sparse; qcow2: no backing). */
int dest_create_image(struct dest_dir *dir, const char *name, uint64_t capacity, const char *format, char **error);
int dest_delete(struct dest_dir *dir, const char *name);
/* A small file written whole (replacing one of the same name). */
int dest_write_file(struct dest_dir *dir, const char *name, const void *data, size_t len, char **error);

/* The guest's definition for another host (migratable, inactive). Caller frees. */
char *driver_migratable_xml(struct driver *d);
/* Defines the guest on the destination from xml, and starts it if start. */
int driver_dest_define(struct driver *d, const char *xml, bool start, char **error);
/* Removes the guest from the destination (destroy if running, then undefine). */
int driver_dest_remove(struct driver *d);

/* Shuts the guest down here: gracefully, waiting timeout_ms, then destroyed if allowed. */
int driver_source_shutdown(struct driver *d, unsigned timeout_ms, bool allow_destroy, char **error);
int driver_source_start(struct driver *d, char **error);
int driver_source_undefine(struct driver *d, char **error);

/* Reconnects to the destination (after its libvirtd went away), trying until timeout_ms. */
int driver_reconnect_dest(struct driver *d, unsigned timeout_ms);
