/*
 * `ferry copy SRC DST`: the disk streamer as a command of its own.
 */
#include "commands.h"

const struct command_doc copy_doc = {
    .name = "copy",
    .summary = "copy a disk image sparsely and verifiably, locally, over NFS or into another host's libvirt",
    .synopsis = "ferry copy SRC DST [--verify] [--bwlimit RATE] [--force] [--no-resume] [--json]",
    .description =
        "SRC and DST are local paths, nfs://server/export/path (libnfs, NFSv3), or\n"
        "libvirt://HOST/PATH (a storage volume on HOST's libvirt, over the connection live\n"
        "migration uses). Holes stay holes, all-zero chunks become holes, and the result carries\n"
        "the xxh3-128 of every byte written. Data lands in DST.ferry-partial and is renamed when\n"
        "complete; an interrupted copy resumes when run again.",
    .exit_status = "0  copied (and verified with --verify)\n1  failed; DST is untouched\n2  bad usage",
    .examples = "ferry copy /var/lib/images/base.raw nfs://10.0.0.5/srv/nova/_base/base.raw\n"
                "ferry copy disk.qcow2 libvirt://compute2/opt/stack/data/nova/instances/x/disk --verify",
};

int cmd_copy(int argc, char **argv, struct ferry_context *ctx)
{
    const char *bwlimit = NULL;
    bool verify = false, force = false, no_resume = false, json = false;
    const struct option_spec opts[] = {
        OPT_FLAG(0, "verify", &verify, "Read the destination back and compare checksums."),
        OPT_STRING(0, "bwlimit", &bwlimit, "RATE", "Limit the rate, e.g. 200M (bytes per second)."),
        OPT_FLAG(0, "force", &force, "Replace DST if it exists."),
        OPT_FLAG(0, "no-resume", &no_resume, "Remove a partial copy instead of resuming it."),
        OPT_FLAG(0, "json", &json, "Print the result as JSON."),
        OPT_END(),
    };
    return command_pending(argc, argv, ctx, &copy_doc, opts, 2, 2, 0);
}
