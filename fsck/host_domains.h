/*
 * The local libvirt, for fsck: which guests this host defines, which run, which have a job
 * (a migration) in progress. fsck's one room for libvirt: nothing else in fsck/ includes
 * its headers. The connection is read-only, and a libvirtd that does not answer costs a
 * deadline, not the night's check.
 */
#pragma once

#include "facts.h"

#include <stddef.h>

#define HOST_DOMAINS_DEFAULT_URI "qemu:///system"

/*
 * Lists the domains of libvirt at uri. Returns 0 with *domains (malloc'd) and *n, or a
 * negative errno with *error (malloc'd, one line) when libvirt could not be asked within
 * timeout_ms (-ETIMEDOUT) or refused (-ECONNREFUSED).
 */
int host_domains_list(const char *uri, unsigned timeout_ms, struct domain_facts **domains, size_t *n, char **error);
