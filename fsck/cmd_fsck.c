/*
 * `ferry fsck`: the nightly consistency check of the instance store.
 */
#include "commands.h"

enum { FSCK_OPERATIONAL_ERROR = 8 };

const struct command_doc fsck_doc = {
    .name = "fsck",
    .summary = "check the instance store: images, backing chains, leases, leftovers, ownership",
    .synopsis = "ferry fsck [--instances DIR] [-n | -y] [--deep] [--jobs N] [--json] [--prometheus FILE]",
    .description =
        "Walks the instance store (instance directories, _base, .ferry/) reading metadata only,\n"
        "and reports each finding with a stable rule name. -y repairs what is safe to repair,\n"
        "moving things to .ferry/quarantine/ rather than deleting them. Instances whose guest\n"
        "is running or migrating are reported, never touched.",
    .exit_status = "0  clean\n1  problems were fixed\n4  problems were left\n8  operational error",
    .examples = "ferry fsck -n\nferry fsck -y --prometheus /var/lib/node_exporter/ferry.prom",
};

int cmd_fsck(int argc, char **argv, struct ferry_context *ctx)
{
    const char *instances = NULL, *prometheus = NULL;
    bool no = false, yes = false, deep = false, json = false;
    unsigned jobs = 0;
    const struct option_spec opts[] = {
        OPT_STRING(0, "instances", &instances, "DIR", "The store to check (default: [storage] mount_point)."),
        OPT_FLAG('n', "no", &no, "Report only; write nothing."),
        OPT_FLAG('y', "yes", &yes, "Repair what is marked fixable."),
        OPT_FLAG(0, "deep", &deep, "Also run 'qemu-img check' on each qcow2 image."),
        OPT_UINT('j', "jobs", &jobs, "N", "Parallel workers (default: [fsck] jobs, one per CPU)."),
        OPT_FLAG(0, "json", &json, "Print every finding as JSON."),
        OPT_STRING(0, "prometheus", &prometheus, "FILE", "Write a node_exporter textfile, atomically."),
        OPT_END(),
    };
    return command_pending(argc, argv, ctx, &fsck_doc, opts, 0, 0, FSCK_OPERATIONAL_ERROR);
}
