/*
 * What ferry knows before it moves a guest: plain structs filled by the libvirt driver
 * (driver.c) and the storage layer, and read by the pure parts — the pre-flight checks
 * (checks.c) and the planner (plan.c) — which never talk to anything.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FACTS_NAME_MAX 256
#define FACTS_PATH_MAX 4096
#define FACTS_MAX_DISKS 16
#define FACTS_MAX_NICS 16
#define FACTS_MAX_NETS 64

enum guest_state { GUEST_RUNNING, GUEST_PAUSED, GUEST_SHUTOFF, GUEST_OTHER };

/* Comparison of the guest's CPU with the destination's hypervisor (virConnectCompareHypervisorCPU
 * of the guest's CPU definition, or of the source's host-model when the guest has none). */
enum cpu_verdict { CPU_UNKNOWN, CPU_IDENTICAL, CPU_SUPERSET, CPU_INCOMPATIBLE };

struct host_facts {
    char name[FACTS_NAME_MAX];     /* the host as the operator named it (--to), or this host */
    char uri[FACTS_PATH_MAX];      /* the libvirt URI used */
    bool connected;
    char connect_error[512];
    char hostname[FACTS_NAME_MAX]; /* what the host's libvirt calls itself (virConnectGetHostname) */
    unsigned long libvirt_version; /* major * 1000000 + minor * 1000 + release */
    unsigned long qemu_version;    /* same encoding */
    uint64_t free_memory_bytes;
    uint64_t instance_dir_free_bytes; /* free space in the instance directory's filesystem */
    bool instance_dir_free_known;
    bool fenced;                   /* the storage layer says this host is fenced */
    char fenced_detail[256];
    /* Networks and bridges the host has (libvirt networks by name; host bridges by name). */
    char networks[FACTS_MAX_NETS][FACTS_NAME_MAX];
    size_t n_networks;
    char bridges[FACTS_MAX_NETS][FACTS_NAME_MAX];
    size_t n_bridges;
};

struct disk_facts {
    char target[32];          /* vda */
    char device[16];          /* disk, cdrom */
    char path[FACTS_PATH_MAX];
    char format[16];          /* raw, qcow2 (from the domain XML's driver type) */
    bool readonly;
    bool is_config_drive;     /* disk.config, or the readonly cdrom/disk Nova attaches */
    char config_drive_format[16]; /* iso9660, vfat, unknown (read from the image's magic) */
    uint64_t virtual_size;    /* bytes */
    uint64_t allocation;      /* bytes on disk */
    char backing[FACTS_PATH_MAX]; /* backing file ("" for none) */
    char backing_format[16];      /* raw, qcow2 */
    uint64_t backing_allocation;
    /* Does the destination already have the backing file with the same checksum? */
    bool dest_has_backing;
};

struct nic_facts {
    char type[16];                /* network, bridge, other */
    char source[FACTS_NAME_MAX];  /* network or bridge name */
};

struct guest_facts {
    char name[FACTS_NAME_MAX];
    char uuid[37];
    enum guest_state state;
    uint64_t memory_bytes;
    char cpu_mode[32];            /* host-model, host-passthrough, custom, "" (none) */
    struct disk_facts disks[FACTS_MAX_DISKS];
    size_t n_disks;
    struct nic_facts nics[FACTS_MAX_NICS];
    size_t n_nics;
    char instance_dir[FACTS_PATH_MAX]; /* the directory holding its disks (Nova: STORE/<uuid>) */
};

/* Is storage shared? The proof (storage_check in driver.c): both hosts healthy, and a token
 * created through the destination's libvirt in the instance store is found, with the same
 * content, in this host's instance store. */
struct sharing_facts {
    bool source_healthy;
    char source_detail[512];
    bool dest_lease_live;         /* the destination's lease counter moves and it is not fenced */
    char dest_detail[512];
    bool token_tried;
    bool token_seen;              /* found here with the same content */
    char token_detail[512];
    bool fs_recognised_shared;    /* libvirt itself recognises the filesystem as shared (NFS, ...) */
};

struct migrate_facts {
    struct guest_facts guest;
    struct host_facts src, dst;
    struct sharing_facts sharing;
    enum cpu_verdict cpu;
    char cpu_detail[512];
    bool hostname_resolves;       /* the destination's own hostname resolves here... */
    bool hostname_matches;        /* ...to the address ferry connects to */
    char hostname_detail[512];
    bool auth_none;               /* the URI is qemu+tcp with libvirtd's auth_tcp = "none" */
    char uri_scheme[16];          /* tcp, tls, ssh, ... */
    /* Settings that shape the checks. */
    bool disk_overcommit;
    bool version_match_minor;     /* [migrate] libvirt_version_match = minor */
    bool same_host;               /* source and destination are the same host */
};
