/*
 * The run, start to end. Facts first, all of them, then decisions, then (with -y) the
 * repairs those decisions allow, then the report: no rule ever sees a half-gathered store,
 * and nothing is changed before everything has been looked at.
 */
#include "fsck.h"

#include "clock.h"
#include "deep.h"
#include "json_output.h"
#include "log.h"
#include "report.h"
#include "scan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int fsck_run(const struct fsck_options *o, FILE *out)
{
    uint64_t t0 = clock_monotonic_us();
    struct store_facts facts = { 0 };
    struct finding_list findings = { 0 };
    struct repair_summary repair = { 0 };
    struct fsck_report report = { .facts = &facts, .findings = &findings, .deep = o->deep,
                                  .started_at = (int64_t)time(NULL) };
    char *error = NULL;
    struct scan_options so = {
        .root = o->instances,
        .mount_point = o->mount_point,
        .jobs = o->jobs,
        .libvirt_uri = o->libvirt_uri,
        .libvirt_timeout_ms = FSCK_LIBVIRT_TIMEOUT_MS,
        .runtime_dir = o->runtime_dir,
    };

    int r = store_scan(&so, &facts, &error);
    if (r < 0) {
        log_error("%s", error ? error : "cannot scan the instance store");
        free(error);
        report.operational_error = true;
    } else {
        if (o->deep)
            report.deep_checked = deep_check_store(&facts, o->jobs);
        fsck_rules_run(&facts, &o->limits, &findings);
        if (o->repair) {
            if (repair_apply(&facts, &findings, facts.local_host, facts.now_s, &repair) < 0)
                report.operational_error = true;
            report.repair = &repair;
        }
    }
    report.duration_s = (double)(clock_monotonic_us() - t0) / 1e6;

    if (o->prometheus) {
        char *why = NULL;
        if (report_prometheus_write(o->prometheus, &report, &why) < 0) {
            log_error("%s", why ? why : "cannot write the textfile");
            report.operational_error = true;
        }
        free(why);
    }
    if (r == 0 || o->json) {
        if (o->json)
            json_output_print(out, report_json(&report));
        else
            report_human(out, &report);
    }
    int code = fsck_exit_code(&report);
    finding_list_free(&findings);
    store_facts_free(&facts);
    return code;
}
