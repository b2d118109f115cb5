/*
 * `ferry copy SRC DST`: the disk streamer as a command of its own. A thin wrapper around
 * stream_copy(): options, a progress bar on a terminal, Ctrl-C as a clean stop (the partial
 * copy is kept for the next run), and the result for people or as JSON.
 */
#include "commands.h"

#include "config.h"
#include "json_output.h"
#include "log.h"
#include "stream.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct command_doc copy_doc = {
    .name = "copy",
    .summary = "copy a disk image sparsely and verifiably, locally, over NFS or into another host's libvirt",
    .synopsis = "ferry copy SRC DST [--verify] [--bwlimit RATE] [--force] [--no-resume] [--sync] [--root DIR] [--json]",
    .description =
        "SRC and DST are local paths, nfs://server/export/path (libnfs, NFSv3; the export is\n"
        "found by asking the server), or, for DST, libvirt://HOST/PATH: a storage volume on\n"
        "HOST's libvirt, over the connection live migration uses ([migrate] uri_template).\n"
        "Holes stay holes, all-zero 64 KiB blocks become holes, and the result carries the\n"
        "xxh3-128 of every byte of the file (holes as zeros: the same as `xxh128sum DST`).\n"
        "\n"
        "Data lands in DST.ferry-partial, described by DST.ferry-partial.manifest, and is\n"
        "renamed to DST when complete (and verified, with --verify). A copy that stops —\n"
        "Ctrl-C, killed, the server gone, no space — resumes from its last checkpoint when run\n"
        "again with the same source; --no-resume starts over. libvirt cannot rename a volume:\n"
        "there the data is written under DST and the manifest volume beside it marks it\n"
        "unfinished until the copy is complete.\n"
        "\n"
        "A progress bar (bytes, rate, ETA) is shown on a terminal.",
    .exit_status = "0  copied (and verified with --verify)\n"
                   "1  failed or interrupted; DST is untouched (a partial copy may be kept beside it to resume)\n"
                   "2  bad usage or configuration; nothing was done",
    .examples = "ferry copy /var/lib/images/base.raw nfs://10.0.0.5/srv/nova/_base/base.raw\n"
                "ferry copy disk libvirt://compute2/opt/stack/data/nova/instances/x/disk --verify\n"
                "ferry copy nfs://10.0.0.5/srv/nova/x/disk /tmp/disk --bwlimit 200M --json",
};

static atomic_bool interrupted;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

/* "200M", "1.5G", "800K", "1000000": bytes per second, K/M/G/T in powers of 1024. */
static int parse_rate(const char *text, uint64_t *rate)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)text[0]))
        return -EINVAL;
    double v = strtod(text, &end);
    if (errno)
        return -EINVAL;
    double mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (!strcmp(end, "/s"))
        end += 2;
    if (*end || v * mult < 1 || v * mult > 1e15)
        return -EINVAL;
    *rate = (uint64_t)(v * mult);
    return 0;
}

static void format_size(double bytes, char *buf, size_t size)
{
    const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
}

static void format_rate(double rate, char *buf, size_t size)
{
    snprintf(buf, size, "%.0f MB/s", rate / 1e6);
}

static void draw_progress(const struct stream_progress *p, void *arg)
{
    (void)arg;
    char done[32], total[32], rate[32], eta[32] = "";
    format_size((double)p->done, done, sizeof(done));
    format_size((double)p->total, total, sizeof(total));
    format_rate(p->rate, rate, sizeof(rate));
    if (p->verifying) {
        fprintf(stderr, "\r\033[K  verifying: reading the copy back ...");
        fflush(stderr);
        return;
    }
    if (p->rate > 0 && p->total > p->done) {
        unsigned s = (unsigned)((double)(p->total - p->done) / p->rate);
        snprintf(eta, sizeof(eta), "  ETA %u:%02u", s / 60, s % 60);
    }
    fprintf(stderr, "\r\033[K  %s / %s  %3.0f%%  %s%s", done, total,
            p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, rate, eta);
    fflush(stderr);
}

static struct json_object *result_json(const char *src, const char *dst, const struct stream_result *res)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "source", json_object_new_string(src));
    json_object_object_add(o, "destination", json_object_new_string(dst));
    json_object_object_add(o, "bytes_total", json_object_new_int64((int64_t)res->bytes_total));
    json_object_object_add(o, "data_bytes", json_object_new_int64((int64_t)res->data_bytes));
    json_object_object_add(o, "hole_bytes", json_object_new_int64((int64_t)res->hole_bytes));
    json_object_object_add(o, "seconds", json_object_new_double(round(res->seconds * 1000) / 1000));
    json_object_object_add(o, "checksum", json_object_new_string(res->checksum));
    json_object_object_add(o, "checksum_algorithm", json_object_new_string("xxh3-128"));
    json_object_object_add(o, "verified", json_object_new_boolean(res->verified));
    json_object_object_add(o, "resumed_from", json_object_new_int64((int64_t)res->resumed_from));
    return o;
}

static void print_summary(const char *src, const char *dst, const struct stream_result *res)
{
    char total[32], data[32], holes[32], rate[32], resumed[64] = "";
    format_size((double)res->bytes_total, total, sizeof(total));
    format_size((double)res->data_bytes, data, sizeof(data));
    format_size((double)res->hole_bytes, holes, sizeof(holes));
    format_rate(res->seconds > 0 ? (double)res->bytes_total / res->seconds : 0, rate, sizeof(rate));
    if (res->resumed_from)
        snprintf(resumed, sizeof(resumed), ", resumed at %llu bytes", (unsigned long long)res->resumed_from);
    printf("copied %s to %s: %s (%s data, %s holes) in %.2f s (%s%s)\n", src, dst, total, data, holes, res->seconds,
           rate, resumed);
    printf("xxh3-128 %s%s\n", res->checksum, res->verified ? " (verified: the copy reads back the same)" : "");
}

int cmd_copy(int argc, char **argv, struct ferry_context *ctx)
{
    const char *bwlimit = NULL, *root = NULL;
    bool verify = false, force = false, no_resume = false, json = false, sync = false;
    const struct option_spec opts[] = {
        OPT_FLAG(0, "verify", &verify, "Read the destination back and compare checksums before it takes its name."),
        OPT_STRING(0, "bwlimit", &bwlimit, "RATE", "Limit the data rate, in bytes per second: 200M, 1.5G, 800K (powers of 1024)."),
        OPT_FLAG(0, "force", &force, "Replace DST if it exists."),
        OPT_FLAG(0, "no-resume", &no_resume, "Remove a partial copy instead of resuming it."),
        OPT_FLAG(0, "sync", &sync, "Flush DST to stable storage at every checkpoint and before it takes its name, so that a resume after a crash of its machine finds only what was really stored (migrate always does)."),
        OPT_STRING(0, "root", &root, "DIR", "Refuse a local DST outside DIR (through '..' or a symbolic link)."),
        OPT_FLAG(0, "json", &json, "Print the result as JSON."),
        OPT_END(),
    };
    int n = options_parse(argc, argv, opts, &copy_doc, 0);
    if (n < 0)
        return options_exit_code(n);
    if (n < 2)
        return command_usage_error(&copy_doc, "missing argument");
    if (n > 2)
        return command_usage_error(&copy_doc, "unexpected argument '%s'", argv[2]);
    struct ferry_config *cfg = context_config(ctx);
    if (!cfg)
        return EXIT_USAGE;

    const char *src = argv[0], *dst = argv[1];
    uint64_t rate = 0;
    char *error = NULL;
    if (bwlimit && parse_rate(bwlimit, &rate) < 0)
        return command_usage_error(&copy_doc, "--bwlimit '%s' is not a rate: write bytes per second, e.g. 200M", bwlimit);
    if (stream_check_spec(src, "source", &error) < 0 || stream_check_spec(dst, "destination", &error) < 0) {
        log_error("%s", error ? error : "bad argument");
        free(error);
        return EXIT_USAGE;
    }

    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    bool tty = isatty(STDERR_FILENO);
    struct stream_request req = {
        .source = src,
        .destination = dst,
        .config = cfg,
        .root = root,
        .verify = verify,
        .force = force,
        .no_resume = no_resume,
        .durable = sync,
        .bwlimit = rate,
        .progress = tty ? draw_progress : NULL,
        .cancel = &interrupted,
    };
    struct stream_result res;
    int r = stream_copy(&req, &res, &error);
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (r < 0) {
        log_error("%s", error ? error : strerror(-r));
        free(error);
        return EXIT_FAILED;
    }
    if (json)
        return json_output_print(stdout, result_json(src, dst, &res)) < 0 ? EXIT_FAILED : EXIT_OK;
    print_summary(src, dst, &res);
    return EXIT_OK;
}
