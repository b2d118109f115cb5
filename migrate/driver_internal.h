/*
 * The driver's state, shared by the files that make up the libvirt driver (driver.c,
 * dest.c) and by nothing else.
 */
#pragma once

#include "driver.h"

#include <libvirt/libvirt.h>

struct driver {
    const struct ferry_config *cfg;
    char host[FACTS_NAME_MAX];
    char dest_uri[FACTS_PATH_MAX];
    virConnectPtr src, dst;
    virDomainPtr dom;
    char name[FACTS_NAME_MAX];
    char *xml; /* the live (or inactive) definition */
    bool auth_asked;
    char dst_error[512];
    char virt_type[16], arch[32], machine[64], emulator[FACTS_PATH_MAX];
    char *cpu_xml; /* the guest's <cpu> element */
};

/* libvirt's last error message, never NULL. */
const char *driver_libvirt_error(void);
/* A transient directory pool on the destination over dir (not built). */
virStoragePoolPtr driver_dest_pool(struct driver *d, const char *dir);
