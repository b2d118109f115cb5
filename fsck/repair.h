/*
 * -y: carrying out the repairs the rules decided on. Repairs quarantine, they do not
 * delete: what a rule condemns is renamed into
 *
 *     .ferry/quarantine/<YYYYmmddTHHMMSSZ>-<host>/<its path in the store>
 *
 * (the store's tree preserved, on the same file system, so the move is one rename and
 * undoing it is one `mv`), and a line is added to that directory's MANIFEST:
 *
 *     # ferry fsck quarantine: moved by HOST at TIME from STORE
 *     # rule<TAB>path (relative to the store)<TAB>what fsck found
 *     # restore: mv <this directory>/<path> <store>/<path>
 *     stale-partial<TAB>6f1c.../disk.ferry-partial<TAB>partial copy left by ferry's streamer, ...
 *
 * (tabs, newlines and backslashes in paths and messages are written \t, \n and \\). The
 * only repair that writes into a file is qcow2-dirty-flag's `qemu-img check -r all`, which
 * is what QEMU does itself when it next opens the image.
 *
 * A finding marked guarded is never touched, and just before each repair /proc is read
 * again: a guest that started meanwhile holds its files open and they are left alone.
 */
#pragma once

#include "rules.h"

struct repair_summary {
    char quarantine_rel[128]; /* ".ferry/quarantine/<run>", "" when nothing was moved */
    size_t fixed, failed, skipped;
};

/* Applies the fixable findings of l (fixed / not_fixed are set on each). host names the
 * quarantine directory. Returns 0, or a negative errno when the quarantine itself could not
 * be made (the findings then say so). */
int repair_apply(const struct store_facts *f, struct finding_list *l, const char *host, int64_t now_s,
                 struct repair_summary *sum);

/* Escapes \t, \n, \\ and other control characters for the manifest (malloc'd). */
char *repair_escape(const char *s);
