/*
 * An export's identity: a UUID in .ferry/export-id on the export, written once by
 * `ferry storage init`. Every host's validate compares what its mount shows with the
 * identity it expects, so a host that mounted the wrong export (or a stale local
 * directory) cannot pass as sharing storage with the others.
 */
#pragma once

#include "export_spec.h"

#include <stdbool.h>

#define EXPORT_ID_SIZE 37 /* a UUID and its NUL */

/* Reads the identity, writing a new one first if there is none (exactly once, even with
 * several hosts racing). *created says which. */
int export_identity_init(const struct export_spec *spec, unsigned timeout_ms, char id[EXPORT_ID_SIZE], bool *created,
                         char **error);
