/*
 * Owner records: which host runs (or may run) an instance, kept on the export beside the
 * leases so that every host and `ferry fsck` can tell a live owner from a dead one.
 *
 * Layout: one small file per claiming host,
 *
 *     .ferry/owners/<instance-uuid>/<host>
 *
 * so that a host only ever writes its own files (the discipline of .ferry/leases/<host>:
 * no two hosts write the same file over NFS), and two claims on one instance are visible
 * as two files. Writers (ferry migrate) write a temporary file in the same directory,
 * named ".<host>.tmp", and rename(2) it over the record, through the mount.
 *
 * The record, in the lease records' style (storage/lease_record.h): text, one field per
 * line in this order, magic line first and checksum line last:
 *
 *     ferry-owner 1                  magic and version
 *     instance 6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a   must match the directory's name
 *     host compute1                  must match the file's name
 *     state owned                    owned | incoming | outgoing
 *     peer -                         the other host of a migration; "-" when owned
 *     written_at 1764255600          wall clock, informational only
 *     checksum 9a3c0e6f12b4d5e7      XXH64 (seed 0) of every byte above, 16 lowercase hex digits
 *
 * A migration of instance I from A to B: A rewrites its claim "outgoing, peer B"; B writes
 * "incoming, peer A"; once the guest runs on B, B rewrites "owned" and A removes its
 * claim (on rollback, B removes its claim and A rewrites "owned"). fsck treats an instance
 * with an incoming or outgoing claim as migrating and never touches it; two claims that
 * are not the two halves of one migration are a double owner.
 */
#pragma once

#include "lease_record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OWNER_RECORD_VERSION 1
#define OWNER_RECORD_MAX 512
#define OWNER_DIR ".ferry/owners"

enum owner_state { OWNER_OWNED, OWNER_INCOMING, OWNER_OUTGOING };

struct owner_record {
    char instance[LEASE_UUID_LEN + 1];
    char host[LEASE_HOST_MAX + 1];
    enum owner_state state;
    char peer[LEASE_HOST_MAX + 1]; /* "" when none (written "-"); required unless owned */
    int64_t written_at;
};

/* Writes the record and a NUL into buf; returns its length, -ENOSPC, or -EINVAL for an
 * invalid field (bad uuid or host, a peer missing for a migration state or present for
 * owned, a peer equal to the host). */
int owner_record_encode(const struct owner_record *r, char *buf, size_t size);

/* Decodes len untrusted bytes with the statuses of lease records: EMPTY, TRUNCATED (no
 * final newline or no checksum line), BAD_CHECKSUM, FUTURE_VERSION, GARBAGE. why gets one
 * line. On OK fills *r (may be NULL). */
enum lease_decode_status owner_record_decode(const char *buf, size_t len, struct owner_record *r, char *why,
                                             size_t why_size);

const char *owner_state_name(enum owner_state s);
