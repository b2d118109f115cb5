/*
 * The fencing decision table, row by row and at every boundary; the escalation order for
 * every policy; the worst case of fencing against the deadline, simulated tick by tick,
 * agreeing exactly with fence_policy_check over a grid of policies; whole flows (a lost
 * export, a fence request); the observer's liveness rows; and a randomised two-host
 * simulation (fixed seeds) in which an observer must never call a host expired while its
 * guests may still run, with negative controls showing the simulation catches the
 * violations a bad policy or a wrongly dated read would cause.
 */
#include "fence_policy.h"
#include "test_support.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC ((uint64_t)1000)

/* renew 2 s, fence_after 20 s, lease_timeout 40 s, steps of 3 s: suspend, destroy, watchdog. */
static struct fence_policy policy(int action, int last_resort)
{
    return (struct fence_policy){
        .renew_interval_ms = 2 * SEC,
        .fence_after_ms = 20 * SEC,
        .lease_timeout_ms = 40 * SEC,
        .step_timeout_ms = 3 * SEC,
        .fence_action = action,
        .last_resort = last_resort,
    };
}

static const struct fence_policy P_DEFAULT = {
    2 * SEC, 20 * SEC, 40 * SEC, 3 * SEC, FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_WATCHDOG,
};

/* A daemon started at 5000 s that last renewed one second ago: "now" is 10000 s. */
#define T0 (5000 * SEC)
#define NOW (10000 * SEC)

static struct fence_facts healthy(void)
{
    return (struct fence_facts){
        .now_ms = NOW,
        .started_ms = T0,
        .last_renew_ok_ms = NOW - 1 * SEC,
        .last_renew_attempt_ms = NOW - 1 * SEC,
    };
}

/* Decides and checks kind, next step and next check; the reason must hold `reason`. */
static struct fence_decision expect(const char *row, const struct fence_policy *p, const struct fence_facts *f,
                                    enum fence_decision_kind kind, enum fence_step step, uint64_t next_check,
                                    const char *reason)
{
    struct fence_decision d = fence_policy_decide(p, f);
    if (d.kind != kind || d.next_step != step || d.next_check_ms != next_check)
        fprintf(stderr, "\n    %s: got %s/%s next check %" PRIu64 " (%s), expected %s/%s next check %" PRIu64 "\n",
                row, fence_decision_kind_name(d.kind), fence_step_name(d.next_step), d.next_check_ms,
                d.reason ? d.reason : "(null)", fence_decision_kind_name(kind), fence_step_name(step), next_check);
    CU_ASSERT_EQUAL(d.kind, kind);
    CU_ASSERT_EQUAL(d.next_step, step);
    CU_ASSERT_EQUAL(d.next_check_ms, next_check);
    ASSERT_CONTAINS(d.reason, reason);
    /* The deadline is always (last success, or start) + lease_timeout. */
    uint64_t since = f->last_renew_ok_ms ? f->last_renew_ok_ms : f->started_ms;
    CU_ASSERT_EQUAL(d.deadline_ms, since + p->lease_timeout_ms);
    return d;
}

/* --- the policy ---------------------------------------------------------------------- */

static void test_from_config(void)
{
    struct lease_config c = {
        .renew_interval_ms = 2000,
        .fence_after_ms = 20000,
        .lease_timeout_ms = 40000,
        .fence_action = FENCE_ACTION_DESTROY,
        .fence_last_resort = FENCE_LAST_RESORT_REBOOT,
        .fence_step_timeout_ms = 3000,
    };
    struct fence_policy p = fence_policy_from_config(&c);
    CU_ASSERT_EQUAL(p.renew_interval_ms, 2000);
    CU_ASSERT_EQUAL(p.fence_after_ms, 20000);
    CU_ASSERT_EQUAL(p.lease_timeout_ms, 40000);
    CU_ASSERT_EQUAL(p.step_timeout_ms, 3000);
    CU_ASSERT_EQUAL(p.fence_action, FENCE_ACTION_DESTROY);
    CU_ASSERT_EQUAL(p.last_resort, FENCE_LAST_RESORT_REBOOT);
    char why[256] = "stale";
    CU_ASSERT_EQUAL(fence_policy_check(&p, why, sizeof(why)), 0);
    ASSERT_STR(why, "");
}

static void test_escalation_order(void)
{
    static const struct {
        int action, last_resort;
        enum fence_step steps[4];
        unsigned n;
    } cases[] = {
        { FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_NONE, { FENCE_STEP_SUSPEND, FENCE_STEP_DESTROY }, 2 },
        { FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_WATCHDOG,
          { FENCE_STEP_SUSPEND, FENCE_STEP_DESTROY, FENCE_STEP_LAST_RESORT }, 3 },
        { FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_REBOOT,
          { FENCE_STEP_SUSPEND, FENCE_STEP_DESTROY, FENCE_STEP_LAST_RESORT }, 3 },
        { FENCE_ACTION_DESTROY, FENCE_LAST_RESORT_NONE, { FENCE_STEP_DESTROY }, 1 },
        { FENCE_ACTION_DESTROY, FENCE_LAST_RESORT_WATCHDOG, { FENCE_STEP_DESTROY, FENCE_STEP_LAST_RESORT }, 2 },
        { FENCE_ACTION_DESTROY, FENCE_LAST_RESORT_REBOOT, { FENCE_STEP_DESTROY, FENCE_STEP_LAST_RESORT }, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fence_policy p = policy(cases[i].action, cases[i].last_resort);
        enum fence_step s = FENCE_STEP_NONE;
        for (unsigned k = 0; k < cases[i].n; k++) {
            s = fence_policy_next_step(&p, s);
            CU_ASSERT_EQUAL(s, cases[i].steps[k]);
        }
        CU_ASSERT_EQUAL(fence_policy_next_step(&p, s), FENCE_STEP_NONE);
        CU_ASSERT_EQUAL(fence_policy_steps(&p), cases[i].n);
        /* The last resort has nothing after it, whatever the policy. */
        CU_ASSERT_EQUAL(fence_policy_next_step(&p, FENCE_STEP_LAST_RESORT), FENCE_STEP_NONE);
        /* Suspend leads to destroy even where destroy comes first (a policy changed midway). */
        CU_ASSERT_EQUAL(fence_policy_next_step(&p, FENCE_STEP_SUSPEND), FENCE_STEP_DESTROY);
        CU_ASSERT_EQUAL(fence_policy_next_step(&p, (enum fence_step)42), FENCE_STEP_NONE);
    }
}

/* --- the decision table, row by row ---------------------------------------------------- */

static void test_rows_normal(void)
{
    const struct fence_policy *p = &P_DEFAULT;
    struct fence_facts f;

    /* Row 11: renewed a second ago; wake when the next renewal is due. */
    f = healthy();
    expect("row 11", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1 * SEC, "not due");
    /* Row 10 at its boundary: renew_interval after the last write began. */
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW - 2 * SEC + 1;
    expect("row 11, 1 ms early", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1, "not due");
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW - 2 * SEC;
    expect("row 10", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW, "due for renewal");
    /* Callers that do not track attempts: the last success decides. */
    f.last_renew_attempt_ms = 0;
    expect("row 10, no attempts tracked", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW, "due");
    /* Never renewed, never tried: at once. */
    f = healthy();
    f.last_renew_ok_ms = f.last_renew_attempt_ms = 0;
    f.started_ms = NOW;
    expect("row 10, first renewal", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW, "due");

    /* A failed attempt is retried renew_interval after it began, not at once. */
    f = healthy();
    f.last_renew_ok_ms = NOW - 10 * SEC;
    f.last_renew_attempt_ms = NOW - 1 * SEC;
    expect("row 11, retry later", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1 * SEC, "not due");
    f.last_renew_attempt_ms = NOW - 2 * SEC;
    expect("row 10, retry", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW, "due");
    /* Never succeeded, tried: the retry, unless fencing comes first. */
    f = healthy();
    f.last_renew_ok_ms = 0;
    f.started_ms = NOW - 19 * SEC - 500;
    f.last_renew_attempt_ms = NOW - 1 * SEC;
    expect("row 11, fence before retry", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 500, "not due");
    f.started_ms = NOW - 5 * SEC;
    expect("row 11, retry before fence", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1 * SEC, "not due");

    /* Row 11 with a renewal in flight: never a second one; wake when fencing would start. */
    f = healthy();
    f.last_renew_ok_ms = NOW - 5 * SEC;
    f.last_renew_attempt_ms = NOW - 3 * SEC;
    f.renew_in_flight = true;
    expect("row 11, in flight", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 15 * SEC, "in flight");

    /* Row 9: fence_after without a successful renewal, in flight or not. */
    f.last_renew_ok_ms = NOW - 20 * SEC + 1;
    expect("row 11, 1 ms before fencing", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1, "in flight");
    f.last_renew_ok_ms = NOW - 20 * SEC;
    expect("row 9, in flight", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "no renewal succeeded for");
    f.renew_in_flight = false;
    expect("row 9", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "for fence_after");
    f.last_renew_ok_ms = NOW - 3600 * SEC;
    expect("row 9, long ago", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "for fence_after");
    /* ...counted from the start when there was no success since. */
    f = healthy();
    f.last_renew_ok_ms = 0;
    f.last_renew_attempt_ms = NOW - 1 * SEC;
    f.started_ms = NOW - 20 * SEC;
    expect("row 9, since start", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "within fence_after of starting");
    f.started_ms = NOW - 20 * SEC + 1;
    expect("row 11, since start", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1, "not due");
    /* With fence_action = destroy the first step is destroy. */
    struct fence_policy d = policy(FENCE_ACTION_DESTROY, FENCE_LAST_RESORT_NONE);
    f.started_ms = NOW - 20 * SEC;
    expect("row 9, destroy first", &d, &f, DECIDE_START_FENCE, FENCE_STEP_DESTROY, NOW, "fence_after");

    /* Row 8: a fence request, even with a perfectly fresh lease. */
    f = healthy();
    f.fence_requested = true;
    expect("row 8", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "fence request");
    expect("row 8, destroy first", &d, &f, DECIDE_START_FENCE, FENCE_STEP_DESTROY, NOW, "fence request");
    f.last_renew_ok_ms = NOW - 30 * SEC; /* both reasons: the request is named */
    expect("row 8 and 9", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "fence request");

    /* A clock that went backwards (facts from a confused caller) does not fence. */
    f = healthy();
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW + 5 * SEC;
    expect("clock behind the facts", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 7 * SEC, "not due");
}

static void test_rows_fencing(void)
{
    const struct fence_policy *p = &P_DEFAULT;
    struct fence_policy none = policy(FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_NONE);
    struct fence_facts f = healthy();
    f.last_renew_ok_ms = NOW - 25 * SEC;
    f.renew_in_flight = true;

    /* Row 3: a step running within its timeout. */
    f.step = FENCE_STEP_SUSPEND;
    f.step_started_ms = NOW - 3 * SEC + 1;
    expect("row 3", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 1, "a fence step is running");
    f.step_started_ms = NOW;
    expect("row 3, just begun", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 3 * SEC, "running");
    /* Row 1: overran: escalate, suspend -> destroy -> last resort. */
    f.step_started_ms = NOW - 3 * SEC;
    expect("row 1, suspend", p, &f, DECIDE_ESCALATE, FENCE_STEP_DESTROY, NOW, "escalating");
    f.step = FENCE_STEP_DESTROY;
    expect("row 1, destroy", p, &f, DECIDE_ESCALATE, FENCE_STEP_LAST_RESORT, NOW, "escalating");
    /* Row 2: overran with nothing left. */
    f.step = FENCE_STEP_LAST_RESORT;
    expect("row 2, last resort", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 3 * SEC, "no further step");
    f.step = FENCE_STEP_DESTROY;
    expect("row 2, destroy and no last resort", &none, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 3 * SEC,
           "guests may outlive the lease");
    /* Rows 1-3 hold whatever else is true: requests, renewals, even `fenced`. */
    f.step = FENCE_STEP_SUSPEND;
    f.fence_requested = true;
    f.renew_in_flight = false;
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW - 5 * SEC;
    expect("row 1, request pending", p, &f, DECIDE_ESCALATE, FENCE_STEP_DESTROY, NOW, "escalating");
    f.fenced = true;
    expect("row 1, fenced", p, &f, DECIDE_ESCALATE, FENCE_STEP_DESTROY, NOW, "escalating");
    f.step_started_ms = NOW - 1 * SEC;
    expect("row 3, fenced", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 2 * SEC, "running");

    /* Row 7: the step finished: fencing is complete, hold the host fenced. */
    f = healthy();
    f.last_renew_ok_ms = NOW - 25 * SEC;
    f.step = FENCE_STEP_DESTROY;
    f.step_started_ms = NOW - 10 * SEC; /* long over its timeout, but done: done wins */
    f.step_done = true;
    expect("row 7", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW, "complete");
    f.fence_requested = true; /* acknowledged only once fenced is recorded */
    expect("row 7, request pending", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW, "complete");
}

static void test_rows_fenced(void)
{
    const struct fence_policy *p = &P_DEFAULT;
    struct fence_facts f = healthy();
    f.fenced = true;
    f.step = FENCE_STEP_SUSPEND;
    f.step_done = true;

    /* Row 6: fenced, renewed recently: idle until the next renewal. */
    expect("row 6", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 1 * SEC, "fenced");
    /* Row 5: due: renew the record that says fenced. */
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW - 2 * SEC;
    expect("row 5", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW, "renewing the record that says so");
    /* Row 6 with a renewal in flight. */
    f.renew_in_flight = true;
    expect("row 6, in flight", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 2 * SEC, "fenced");
    /* Silence does not start fencing again. */
    f.renew_in_flight = false;
    f.last_renew_ok_ms = NOW - 3600 * SEC;
    f.last_renew_attempt_ms = NOW - 1 * SEC;
    expect("row 6, long silent", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 1 * SEC, "fenced");
    /* A fenced host found after a restart (no step known) is still fenced. */
    f = healthy();
    f.fenced = true;
    expect("row 6, after restart", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 1 * SEC, "fenced");

    /* Row 4: a pending request is acknowledged... */
    f.fence_requested = true;
    expect("row 4", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW, "acknowledgement");
    /* ...at once after a successful write, even if one is due anyway... */
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW;
    expect("row 4, just renewed", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW, "acknowledgement");
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW - 5 * SEC;
    expect("row 4 before 5", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW, "acknowledgement");
    f.last_renew_ok_ms = f.last_renew_attempt_ms = 0;
    expect("row 4, no write yet", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW, "acknowledgement");
    /* ...not while a write is in flight... */
    f = healthy();
    f.fenced = true;
    f.fence_requested = true;
    f.renew_in_flight = true;
    expect("row 6, ack waits for the write in flight", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 2 * SEC,
           "fenced");
    /* ...and not within renew_interval of a failed write. */
    f.renew_in_flight = false;
    f.last_renew_ok_ms = NOW - 10 * SEC;
    f.last_renew_attempt_ms = NOW - 2 * SEC + 1;
    expect("row 6, ack after a failure", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 1, "fenced");
    f.last_renew_attempt_ms = NOW - 2 * SEC;
    expect("row 4, retry of the ack", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW, "acknowledgement");
}

static void test_decide_without_input(void)
{
    struct fence_facts f = healthy();
    struct fence_decision d = fence_policy_decide(NULL, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_WAIT);
    CU_ASSERT_EQUAL(d.next_step, FENCE_STEP_NONE);
    ASSERT_CONTAINS(d.reason, "no policy");
    d = fence_policy_decide(&P_DEFAULT, NULL);
    CU_ASSERT_EQUAL(d.kind, DECIDE_WAIT);
    ASSERT_CONTAINS(d.reason, "no facts");
}

/* Saturating arithmetic: huge policies and clocks near the top do not wrap. */
static void test_decide_extremes(void)
{
    struct fence_policy p = P_DEFAULT;
    p.lease_timeout_ms = UINT64_MAX;
    p.renew_interval_ms = UINT64_MAX;
    p.fence_after_ms = UINT64_MAX;
    p.step_timeout_ms = UINT64_MAX;
    struct fence_facts f = healthy();
    struct fence_decision d = fence_policy_decide(&p, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_WAIT);
    CU_ASSERT_EQUAL(d.deadline_ms, UINT64_MAX);
    CU_ASSERT_EQUAL(d.next_check_ms, UINT64_MAX);
    f.step = FENCE_STEP_SUSPEND;
    f.step_started_ms = NOW;
    d = fence_policy_decide(&p, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_WAIT);
    CU_ASSERT_EQUAL(d.next_check_ms, UINT64_MAX);
    f.step = FENCE_STEP_LAST_RESORT;
    f.step_started_ms = 0;
    f.now_ms = UINT64_MAX;
    d = fence_policy_decide(&p, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_WAIT); /* overran, nothing left */
    CU_ASSERT_EQUAL(d.next_check_ms, UINT64_MAX);
    f.step = FENCE_STEP_NONE;
    f.fenced = true;
    f.renew_in_flight = true;
    d = fence_policy_decide(&p, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_FENCED_IDLE);
    CU_ASSERT_EQUAL(d.next_check_ms, UINT64_MAX);
}

/* --- whole flows ------------------------------------------------------------------------ */

enum renewal_outcome { RENEW_SUCCEEDS, RENEW_FAILS_FAST, RENEW_HANGS };

struct flow {
    struct fence_facts f;
    uint64_t fence_started, last_step_started, alarm_at;
    unsigned renewals, escalations;
    struct fence_decision last;
};

/*
 * Runs the daemon from `from` to `until`, waking only when a decision asks to, with
 * renewals that behave as `renew` after `outage_at`, and fence steps that never finish.
 */
static void run_flow(struct flow *w, const struct fence_policy *p, uint64_t from, uint64_t until,
                     uint64_t outage_at, enum renewal_outcome renew)
{
    w->f.now_ms = from;
    for (int guard = 0; guard < 100000 && w->f.now_ms <= until; guard++) {
        struct fence_decision d = fence_policy_decide(p, &w->f);
        w->last = d;
        switch (d.kind) {
        case DECIDE_RENEW:
        case DECIDE_ACK_REQUEST:
            w->renewals++;
            w->f.last_renew_attempt_ms = w->f.now_ms;
            if (w->f.now_ms < outage_at || renew == RENEW_SUCCEEDS)
                w->f.last_renew_ok_ms = w->f.now_ms;
            else if (renew == RENEW_HANGS)
                w->f.renew_in_flight = true;
            if (d.kind == DECIDE_ACK_REQUEST)
                w->f.fence_requested = false;
            continue; /* decide again at the same moment */
        case DECIDE_START_FENCE:
            w->fence_started = w->f.now_ms;
            /* fall through */
        case DECIDE_ESCALATE:
            w->escalations += d.kind == DECIDE_ESCALATE;
            w->f.step = d.next_step;
            w->f.step_started_ms = w->f.now_ms;
            w->last_step_started = w->f.now_ms;
            continue;
        case DECIDE_FENCED_IDLE:
            if (!w->f.fenced) {
                w->f.fenced = true;
                continue;
            }
            break;
        case DECIDE_WAIT:
            if (w->f.step != FENCE_STEP_NONE && !w->f.step_done && !w->alarm_at &&
                fence_policy_next_step(p, w->f.step) == FENCE_STEP_NONE && d.next_check_ms > w->f.now_ms &&
                w->f.now_ms - w->f.step_started_ms >= p->step_timeout_ms)
                w->alarm_at = w->f.now_ms;
            break;
        }
        /* Sleep until the decision's next check: never busy, never late. */
        CU_ASSERT(d.next_check_ms > w->f.now_ms);
        if (d.next_check_ms <= w->f.now_ms)
            break;
        w->f.now_ms = d.next_check_ms;
    }
}

/* Healthy: a renewal every renew_interval, to the millisecond, and nothing else. */
static void test_flow_healthy(void)
{
    struct flow w = { .f = { .started_ms = T0 } };
    run_flow(&w, &P_DEFAULT, T0, T0 + 600 * SEC, UINT64_MAX, RENEW_SUCCEEDS);
    CU_ASSERT_EQUAL(w.renewals, 301); /* at 0, 2, ..., 600 s */
    CU_ASSERT_EQUAL(w.fence_started, 0);
    CU_ASSERT_EQUAL(w.f.last_renew_ok_ms, T0 + 600 * SEC);
}

/* The export fails: renewals fail (fast, or hang), and every step overruns. */
static void check_worst_case(const struct fence_policy *p, enum renewal_outcome how, uint64_t *end,
                             uint64_t *deadline)
{
    struct flow w = { .f = { .started_ms = T0 } };
    uint64_t outage = T0 + 100 * SEC + 1; /* just after the renewal at 100 s */
    run_flow(&w, p, T0, T0 + 400 * SEC, outage, how);
    uint64_t last_ok = T0 + 100 * SEC;
    CU_ASSERT_EQUAL(w.f.last_renew_ok_ms, last_ok);
    /* Fencing starts exactly fence_after after the last success began. */
    CU_ASSERT_EQUAL(w.fence_started, last_ok + p->fence_after_ms);
    CU_ASSERT_EQUAL(w.escalations, fence_policy_steps(p) - 1);
    /* Failing renewals were retried every renew_interval, not hammered; a hung one once. */
    unsigned failed = how == RENEW_FAILS_FAST ? (unsigned)((p->fence_after_ms - 1) / p->renew_interval_ms) : 1;
    unsigned expected_renewals = 51 + failed;
    CU_ASSERT_EQUAL(w.renewals, expected_renewals);
    /* Every step ran its whole timeout: the last one ends here. */
    CU_ASSERT_EQUAL(w.alarm_at, w.last_step_started + p->step_timeout_ms);
    CU_ASSERT_EQUAL(w.alarm_at, w.fence_started + fence_policy_steps(p) * p->step_timeout_ms);
    CU_ASSERT_EQUAL(w.last.deadline_ms, last_ok + p->lease_timeout_ms);
    *end = w.alarm_at;
    *deadline = w.last.deadline_ms;
}

static void test_flow_worst_case_defaults(void)
{
    static const int actions[] = { FENCE_ACTION_SUSPEND, FENCE_ACTION_DESTROY };
    static const int resorts[] = { FENCE_LAST_RESORT_NONE, FENCE_LAST_RESORT_WATCHDOG, FENCE_LAST_RESORT_REBOOT };
    for (size_t a = 0; a < 2; a++)
        for (size_t r = 0; r < 3; r++)
            for (int how = RENEW_FAILS_FAST; how <= RENEW_HANGS; how++) {
                struct fence_policy p = policy(actions[a], resorts[r]);
                uint64_t end = 0, deadline = 0;
                check_worst_case(&p, (enum renewal_outcome)how, &end, &deadline);
                /* renew 2 s, fence_after 20 s, lease_timeout 40 s, steps of 3 s: at most 29 s. */
                CU_ASSERT(end < deadline);
                CU_ASSERT(end <= T0 + 100 * SEC + 29 * SEC);
                CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
            }
}

/* fence_policy_check accepts exactly the policies whose simulated worst case ends in time. */
static void test_check_matches_worst_case(void)
{
    static const uint64_t fence_afters[] = { 3 * SEC, 20 * SEC, 30 * SEC, 31 * SEC, 34 * SEC, 37 * SEC };
    static const uint64_t steps[] = { 1 * SEC, 3 * SEC, 3 * SEC + 1, 5 * SEC, 10 * SEC };
    static const int actions[] = { FENCE_ACTION_SUSPEND, FENCE_ACTION_DESTROY };
    static const int resorts[] = { FENCE_LAST_RESORT_NONE, FENCE_LAST_RESORT_WATCHDOG, FENCE_LAST_RESORT_REBOOT };
    unsigned accepted = 0, rejected = 0;
    for (size_t i = 0; i < sizeof(fence_afters) / sizeof(fence_afters[0]); i++)
        for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
            for (size_t a = 0; a < 2; a++)
                for (size_t r = 0; r < 3; r++) {
                    struct fence_policy p = policy(actions[a], resorts[r]);
                    p.fence_after_ms = fence_afters[i];
                    p.step_timeout_ms = steps[j];
                    uint64_t end = 0, deadline = 0;
                    check_worst_case(&p, RENEW_HANGS, &end, &deadline);
                    char why[512] = "";
                    int ok = fence_policy_check(&p, why, sizeof(why)) == 0;
                    if (ok != (end < deadline))
                        fprintf(stderr, "\n    fence_after %" PRIu64 " step %" PRIu64 " %d/%d: check %s, end %" PRIu64
                                        " deadline %" PRIu64 "\n",
                                p.fence_after_ms, p.step_timeout_ms, p.fence_action, p.last_resort,
                                ok ? "ok" : why, end, deadline);
                    CU_ASSERT_EQUAL(ok, end < deadline);
                    accepted += ok;
                    rejected += !ok;
                }
    CU_ASSERT(accepted > 20);
    CU_ASSERT(rejected > 20);
}

/* A fence request on a healthy export: fence, hold, acknowledge, keep renewing as fenced. */
static void test_flow_request(void)
{
    const struct fence_policy *p = &P_DEFAULT;
    struct fence_facts f = healthy();
    f.fence_requested = true;

    struct fence_decision d = expect("request", p, &f, DECIDE_START_FENCE, FENCE_STEP_SUSPEND, NOW, "request");
    f.step = d.next_step;
    f.step_started_ms = NOW;
    f.now_ms = NOW + 1 * SEC;
    expect("request, suspending", p, &f, DECIDE_WAIT, FENCE_STEP_NONE, NOW + 3 * SEC, "running");
    f.step_done = true; /* every guest suspended after 1 s */
    expect("request, suspended", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 1 * SEC, "complete");
    f.fenced = true;
    expect("request, fenced", p, &f, DECIDE_ACK_REQUEST, FENCE_STEP_NONE, NOW + 1 * SEC, "acknowledgement");
    f.last_renew_ok_ms = f.last_renew_attempt_ms = NOW + 1 * SEC;
    f.fence_requested = false;
    expect("request, acknowledged", p, &f, DECIDE_FENCED_IDLE, FENCE_STEP_NONE, NOW + 3 * SEC, "fenced");
    f.now_ms = NOW + 3 * SEC;
    expect("request, renewing as fenced", p, &f, DECIDE_RENEW, FENCE_STEP_NONE, NOW + 3 * SEC, "says so");
}

/* --- checking policies -------------------------------------------------------------------- */

static void expect_rejected(const struct fence_policy *p, const char *needle)
{
    char why[512] = "";
    CU_ASSERT_EQUAL(fence_policy_check(p, why, sizeof(why)), -EINVAL);
    ASSERT_CONTAINS(why, needle);
    CU_ASSERT_PTR_NULL(strchr(why, '\n'));
}

static void test_check(void)
{
    struct fence_policy p = P_DEFAULT;
    char why[16];
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    CU_ASSERT_EQUAL(fence_policy_check(&p, why, sizeof(why)), 0);

    CU_ASSERT_EQUAL(fence_policy_check(NULL, NULL, 0), -EINVAL);
    expect_rejected(NULL, "no [lease] policy");

    p = P_DEFAULT;
    p.renew_interval_ms = 0;
    expect_rejected(&p, "[lease] renew_interval must be longer than 0");
    p = P_DEFAULT;
    p.step_timeout_ms = 0;
    expect_rejected(&p, "[lease] fence_step_timeout must be longer than 0");
    p = P_DEFAULT;
    p.fence_action = 2;
    expect_rejected(&p, "[lease] fence_action must be suspend or destroy");
    p.fence_action = -1;
    expect_rejected(&p, "[lease] fence_action");
    p = P_DEFAULT;
    p.last_resort = 3;
    expect_rejected(&p, "[lease] fence_last_resort must be none, watchdog or reboot");
    p.last_resort = -1;
    expect_rejected(&p, "[lease] fence_last_resort");

    /* renew_interval < fence_after < lease_timeout, strictly. */
    p = P_DEFAULT;
    p.fence_after_ms = 2 * SEC;
    expect_rejected(&p, "[lease] fence_after (2s) must be longer than renew_interval (2s)");
    p.fence_after_ms = 1500;
    expect_rejected(&p, "fence_after (1500ms) must be longer than renew_interval (2s)");
    p.fence_after_ms = 2 * SEC + 1;
    p.step_timeout_ms = 1 * SEC;
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    p = P_DEFAULT;
    p.lease_timeout_ms = 20 * SEC;
    expect_rejected(&p, "[lease] lease_timeout (20s) must be longer than fence_after (20s)");
    p.lease_timeout_ms = 10 * SEC;
    expect_rejected(&p, "before the others may treat its lease as expired");

    /* The worst case: fence_after + steps x step_timeout must end before lease_timeout. */
    p = P_DEFAULT;
    p.fence_after_ms = 31 * SEC; /* 31 + 3 x 3 = 40: not before 40 */
    expect_rejected(&p, "[lease] fence_after (31s) + 3 fence steps (suspend, destroy, watchdog) x "
                        "fence_step_timeout (3s) must end before lease_timeout (40s)");
    p.fence_after_ms = 31 * SEC - 1; /* 39.999 s */
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    p = P_DEFAULT;
    p.step_timeout_ms = 7 * SEC; /* 20 + 21 */
    expect_rejected(&p, "x fence_step_timeout (7s)");
    p.last_resort = FENCE_LAST_RESORT_NONE; /* 20 + 14 */
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    p.step_timeout_ms = 10 * SEC; /* 20 + 20 */
    expect_rejected(&p, "2 fence steps (suspend, destroy)");
    p.fence_action = FENCE_ACTION_DESTROY; /* 20 + 10 */
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    p.step_timeout_ms = 20 * SEC;
    expect_rejected(&p, "+ 1 fence step (destroy) x fence_step_timeout (20s)");
    p.last_resort = FENCE_LAST_RESORT_REBOOT;
    p.step_timeout_ms = 10 * SEC;
    expect_rejected(&p, "2 fence steps (destroy, reboot)");
    p.lease_timeout_ms = 2 * 60 * SEC;
    CU_ASSERT_EQUAL(fence_policy_check(&p, NULL, 0), 0);
    p.step_timeout_ms = 50 * SEC;
    expect_rejected(&p, "lease_timeout (2m)");
    expect_rejected(&p, "lower fence_after or fence_step_timeout, or raise lease_timeout");

    /* No overflow: enormous steps are simply too long. */
    p = P_DEFAULT;
    p.step_timeout_ms = UINT64_MAX / 2;
    expect_rejected(&p, "must end before lease_timeout");
    p.step_timeout_ms = UINT64_MAX;
    expect_rejected(&p, "must end before lease_timeout");
    p = P_DEFAULT;
    p.lease_timeout_ms = UINT64_MAX;
    p.fence_after_ms = UINT64_MAX - 1;
    expect_rejected(&p, "must end before lease_timeout");

    /* A reason buffer of size 0 is left alone, on success and on failure. */
    char keep[4] = "abc";
    p = P_DEFAULT;
    CU_ASSERT_EQUAL(fence_policy_check(&p, keep, 0), 0);
    ASSERT_STR(keep, "abc");
    p.renew_interval_ms = 0;
    CU_ASSERT_EQUAL(fence_policy_check(&p, keep, 0), -EINVAL);
    ASSERT_STR(keep, "abc");

    /* The reason is cut to the buffer, never past it. */
    char small[8];
    memset(small, '#', sizeof(small));
    p = P_DEFAULT;
    p.renew_interval_ms = 0;
    CU_ASSERT_EQUAL(fence_policy_check(&p, small, 5), -EINVAL);
    ASSERT_STR(small, "[lea");
    CU_ASSERT_EQUAL(small[5], '#');
}

/* --- names ------------------------------------------------------------------------------ */

static void test_names(void)
{
    ASSERT_STR(fence_step_name(FENCE_STEP_NONE), "none");
    ASSERT_STR(fence_step_name(FENCE_STEP_SUSPEND), "suspend");
    ASSERT_STR(fence_step_name(FENCE_STEP_DESTROY), "destroy");
    ASSERT_STR(fence_step_name(FENCE_STEP_LAST_RESORT), "last-resort");
    ASSERT_STR(fence_step_name((enum fence_step)9), "unknown");
    ASSERT_STR(fence_decision_kind_name(DECIDE_RENEW), "renew");
    ASSERT_STR(fence_decision_kind_name(DECIDE_WAIT), "wait");
    ASSERT_STR(fence_decision_kind_name(DECIDE_START_FENCE), "start-fence");
    ASSERT_STR(fence_decision_kind_name(DECIDE_ESCALATE), "escalate");
    ASSERT_STR(fence_decision_kind_name(DECIDE_ACK_REQUEST), "ack-request");
    ASSERT_STR(fence_decision_kind_name(DECIDE_FENCED_IDLE), "fenced-idle");
    ASSERT_STR(fence_decision_kind_name((enum fence_decision_kind)9), "unknown");
    ASSERT_STR(peer_liveness_name(PEER_LIVE), "live");
    ASSERT_STR(peer_liveness_name(PEER_EXPIRED), "expired");
    ASSERT_STR(peer_liveness_name(PEER_FENCED), "fenced");
    ASSERT_STR(peer_liveness_name(PEER_RELEASED), "released");
    ASSERT_STR(peer_liveness_name(PEER_UNKNOWN), "unknown");
    ASSERT_STR(peer_liveness_name((enum peer_liveness)9), "unknown");
}

/* --- the observer ----------------------------------------------------------------------- */

#define LT (40 * SEC)

static struct lease_record record(uint64_t counter, enum lease_state state)
{
    struct lease_record r = { .version = LEASE_RECORD_VERSION, .host = "compute1", .counter = counter, .state = state };
    return r;
}

static void test_observer_rows(void)
{
    struct peer_observation o = { 0 };
    struct lease_record r = record(7, LEASE_LIVE);

    /* Row 1: nothing read yet, however long we have watched. */
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW, LT), PEER_UNKNOWN);
    CU_ASSERT_EQUAL(peer_liveness(NULL, NOW, LT), PEER_UNKNOWN);
    peer_observe(&o, NULL, NOW, NOW + 10);
    CU_ASSERT_FALSE(o.seen);
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW + 100 * SEC, LT), PEER_UNKNOWN);
    peer_observe(NULL, &r, NOW, NOW); /* no observation: nothing to do, no crash */

    /* First sighting at NOW: unknown (it may have been dead for hours)... */
    peer_observe(&o, &r, NOW - 5, NOW);
    CU_ASSERT_TRUE(o.seen);
    CU_ASSERT_FALSE(o.changed);
    CU_ASSERT_EQUAL(o.counter, 7);
    CU_ASSERT_EQUAL(o.last_change_ms, NOW);
    CU_ASSERT_EQUAL(o.last_read_ms, NOW - 5);
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW, LT), PEER_UNKNOWN);
    /* ...until a read begun lease_timeout after it finds it unchanged: expired (row 4). */
    peer_observe(&o, &r, NOW + LT - 1, NOW + LT + 50);
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW + LT + 50, LT), PEER_UNKNOWN);
    peer_observe(&o, &r, NOW + LT, NOW + LT + 50);
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW + LT + 50, LT), PEER_EXPIRED);
    CU_ASSERT_EQUAL(o.last_change_ms, NOW); /* an unchanged read moves nothing else */
    /* An unreadable record afterwards changes nothing. */
    peer_observe(&o, NULL, NOW + LT + 100, NOW + LT + 200);
    CU_ASSERT_EQUAL(peer_liveness(&o, NOW + LT + 200, LT), PEER_EXPIRED);

    /* Row 5: a change seen: live, for lease_timeout after the read that saw it completed. */
    r.counter = 8;
    uint64_t t = NOW + 60 * SEC;
    peer_observe(&o, &r, t - 30, t);
    CU_ASSERT_TRUE(o.changed);
    CU_ASSERT_EQUAL(o.last_change_ms, t);
    CU_ASSERT_EQUAL(peer_liveness(&o, t, LT), PEER_LIVE);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + LT - 1, LT), PEER_LIVE);
    /* Row 6: past that, with no read since: unknown, not expired (our reads may be failing). */
    CU_ASSERT_EQUAL(peer_liveness(&o, t + LT, LT), PEER_UNKNOWN);
    peer_observe(&o, NULL, t + LT, t + LT + 10);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + LT + 10, LT), PEER_UNKNOWN);
    /* Row 4 needs a read that began lease_timeout after the change completed. */
    peer_observe(&o, &r, t + LT - 1, t + LT + 10);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + LT + 10, LT), PEER_UNKNOWN);
    peer_observe(&o, &r, t + LT, t + LT + 10);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + LT + 10, LT), PEER_EXPIRED);

    /* Any change revives: a lower counter too (a reinstalled host). */
    r.counter = 1;
    t += 100 * SEC;
    peer_observe(&o, &r, t - 10, t);
    CU_ASSERT_EQUAL(o.counter, 1);
    CU_ASSERT_EQUAL(peer_liveness(&o, t, LT), PEER_LIVE);
    /* A slow read that began before the change it reports is dated by its completion. */
    r.counter = 2;
    peer_observe(&o, &r, t + 1 * SEC, t + 30 * SEC);
    CU_ASSERT_EQUAL(o.last_change_ms, t + 30 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 30 * SEC + LT - 1, LT), PEER_LIVE);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 30 * SEC, LT), PEER_LIVE);
    /* A clock behind the observation (a confused caller) is not an expiry. */
    CU_ASSERT_EQUAL(peer_liveness(&o, 0, LT), PEER_LIVE);

    /* Rows 2 and 3: the record's state, however old. */
    r = record(9, LEASE_FENCED);
    peer_observe(&o, &r, t + 40 * SEC, t + 40 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 40 * SEC, LT), PEER_FENCED);
    peer_observe(&o, &r, t + 500 * SEC, t + 500 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 500 * SEC, LT), PEER_FENCED);
    r = record(10, LEASE_RELEASED);
    peer_observe(&o, &r, t + 501 * SEC, t + 501 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 501 * SEC, LT), PEER_RELEASED);
    peer_observe(&o, &r, t + 900 * SEC, t + 900 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 900 * SEC, LT), PEER_RELEASED);
    /* The state follows the latest read, even without a counter change. */
    r.state = LEASE_LIVE;
    peer_observe(&o, &r, t + 901 * SEC, t + 901 * SEC);
    CU_ASSERT_EQUAL(o.state, LEASE_LIVE);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 901 * SEC, LT), PEER_EXPIRED);
    /* ...and back to live with the next renewal. */
    r.counter = 11;
    peer_observe(&o, &r, t + 902 * SEC, t + 902 * SEC);
    CU_ASSERT_EQUAL(peer_liveness(&o, t + 902 * SEC, LT), PEER_LIVE);
}

/* --- two hosts, random latencies ----------------------------------------------------------- */

struct sim_options {
    struct fence_policy policy;
    uint64_t write_latency_max, read_latency_max, read_interval;
};

struct landing {
    uint64_t at, counter;
    enum lease_state state;
};

static uint64_t sim_rng_state;

static uint64_t sim_rand(uint64_t bound) /* 0 .. bound inclusive */
{
    sim_rng_state ^= sim_rng_state >> 12;
    sim_rng_state ^= sim_rng_state << 25;
    sim_rng_state ^= sim_rng_state >> 27;
    return (sim_rng_state * 0x2545F4914F6CDD1DULL) % (bound + 1);
}

/* Mostly quick, one in eight anywhere up to max. */
static uint64_t sim_latency(uint64_t max)
{
    return sim_rand(7) == 0 ? sim_rand(max) : sim_rand(max < 200 ? max : 200);
}

/*
 * One run: a host renews through writes of random latency (each lands on the server
 * somewhere between its start and its reported completion) until the export fails at a
 * random moment; after that writes hang or fail, and in half the runs some of them land
 * all the same. Once fenced, its writes say so. Fence steps take a random time and often
 * overrun, or in half the runs hang; the last resort takes effect within its timeout. An
 * observer reads every read_interval with random latency. Returns how many times the
 * observer called the host expired or fenced while its guests could still run; *expiries counts
 * all the times it called it expired, *slack the least time by which the guests had
 * stopped before such a call.
 */
static unsigned simulate(const struct sim_options *opt, uint64_t seed, unsigned *expiries, uint64_t *slack)
{
    const struct fence_policy *p = &opt->policy;
    const uint64_t never = UINT64_MAX, start = 1 * SEC;
    sim_rng_state = seed;
    uint64_t outage = start + 30 * SEC + sim_rand(30 * SEC), end = outage + 3 * p->lease_timeout_ms;
    bool late_landings = sim_rand(1), stuck_steps = sim_rand(1); /* suspend and destroy hang, as on a dead server */

    struct fence_facts f = { .started_ms = start };
    uint64_t counter = 0, w_start = 0, w_land = never, w_done = never, w_counter = 0;
    bool w_ok = false;
    enum lease_state w_state = LEASE_LIVE;
    uint64_t step_done_at = never, stopped_at = never;

    static struct landing landings[100000];
    size_t n_landings = 0;

    struct peer_observation o = { 0 };
    bool reading = false, r_fails = false, r_saw = false;
    uint64_t r_start = 0, r_serve = 0, r_done = 0, r_counter = 0, next_read = start;
    enum lease_state r_state = LEASE_LIVE;
    unsigned violations = 0;

    for (uint64_t t = start; t <= end; t++) {
        /* The host's write in flight. */
        if (t == w_land && n_landings < sizeof(landings) / sizeof(landings[0]))
            landings[n_landings++] = (struct landing){ t, w_counter, w_state };
        if (t == w_done) {
            f.renew_in_flight = false;
            if (w_ok && w_start > f.last_renew_ok_ms)
                f.last_renew_ok_ms = w_start;
            w_done = never;
        }
        /* The host's fence step. */
        if (t == step_done_at) {
            f.step_done = true;
            if (stopped_at == never)
                stopped_at = t;
        }
        f.now_ms = t;
        struct fence_decision d = fence_policy_decide(p, &f);
        switch (d.kind) {
        case DECIDE_RENEW:
        case DECIDE_ACK_REQUEST:
            w_counter = ++counter; /* a new value for every attempt */
            w_state = f.fenced ? LEASE_FENCED : LEASE_LIVE;
            w_start = t;
            f.last_renew_attempt_ms = t;
            f.renew_in_flight = true;
            if (t < outage) {
                w_land = t + sim_latency(opt->write_latency_max);
                w_done = w_land + sim_latency(opt->write_latency_max);
                w_ok = true;
            } else {
                w_land = late_landings && sim_rand(1) ? t + sim_latency(opt->write_latency_max) : never;
                w_done = sim_rand(1) ? t + 1 + sim_rand(10 * SEC) : never; /* fails, or hangs */
                w_ok = false;
            }
            break;
        case DECIDE_START_FENCE:
        case DECIDE_ESCALATE:
            f.step = d.next_step;
            f.step_started_ms = t;
            f.step_done = false;
            if (d.next_step == FENCE_STEP_LAST_RESORT) /* takes effect within its timeout */
                step_done_at = t + p->step_timeout_ms - 1 -
                               (stuck_steps ? sim_rand(100) : sim_rand(p->step_timeout_ms - 1));
            else
                step_done_at = stuck_steps ? never : t + sim_rand(2 * p->step_timeout_ms);
            break;
        case DECIDE_FENCED_IDLE:
            f.fenced = true;
            break;
        case DECIDE_WAIT:
            break;
        }

        /* The observer. */
        if (!reading && t >= next_read) {
            reading = true;
            r_start = t;
            r_serve = t + sim_latency(opt->read_latency_max);
            r_done = r_serve + sim_latency(opt->read_latency_max);
            r_fails = sim_rand(9) == 0;
        }
        if (reading && t == r_serve) {
            r_saw = n_landings > 0;
            if (r_saw) { /* the last write to land wins */
                r_counter = landings[n_landings - 1].counter;
                r_state = landings[n_landings - 1].state;
            }
        }
        if (reading && t == r_done) {
            reading = false;
            next_read = t + opt->read_interval;
            struct lease_record r = record(r_counter, r_state);
            peer_observe(&o, (r_fails || !r_saw) ? NULL : &r, r_start, r_done);
            enum peer_liveness l = peer_liveness(&o, t, p->lease_timeout_ms);
            if (l == PEER_FENCED && stopped_at > t)
                violations++;
            if (l == PEER_EXPIRED) {
                (*expiries)++;
                if (stopped_at > t)
                    violations++;
                else if (t - stopped_at < *slack)
                    *slack = t - stopped_at;
            }
        }
    }
    return violations;
}

static void test_two_hosts_never_unsafe(void)
{
    struct sim_options opts[] = {
        { P_DEFAULT, 500, 500, 1 * SEC },
        { P_DEFAULT, 3 * SEC, 3 * SEC, 2 * SEC },
        { policy(FENCE_ACTION_DESTROY, FENCE_LAST_RESORT_REBOOT), 1 * SEC, 1 * SEC, 500 },
        /* Tight but accepted: the worst case ends 100 ms before lease_timeout, and both
         * writes and reads are slow enough to land or be served 12 s late. */
        { { 2 * SEC, 30900, 40 * SEC, 3 * SEC, FENCE_ACTION_SUSPEND, FENCE_LAST_RESORT_WATCHDOG }, 12 * SEC,
          12 * SEC, 1 * SEC },
    };
    unsigned total_expiries = 0;
    uint64_t slack = UINT64_MAX;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(fence_policy_check(&opts[i].policy, NULL, 0), 0);
        for (uint64_t seed = 1; seed <= 40; seed++) {
            unsigned expiries = 0;
            unsigned v = simulate(&opts[i], seed * 7919 + i, &expiries, &slack);
            if (v)
                fprintf(stderr, "\n    options %zu seed %" PRIu64 ": %u unsafe expiries\n", i, seed, v);
            CU_ASSERT_EQUAL(v, 0);
            total_expiries += expiries;
        }
    }
    /* The observer did get to call the host expired, and close to the bound: the property
     * was exercised where it is tight. */
    CU_ASSERT(total_expiries > 100);
    if (slack >= 2 * SEC)
        fprintf(stderr, "\n    least slack %" PRIu64 " ms\n", slack);
    CU_ASSERT(slack < 2 * SEC);
}

/* The simulation catches what a bad policy or a wrongly dated read does. */
static void test_two_hosts_negative_controls(void)
{
    /* Fencing may run past lease_timeout: rejected by the check, unsafe in the simulation. */
    struct sim_options late = { { 2 * SEC, 38 * SEC, 40 * SEC, 3 * SEC, FENCE_ACTION_SUSPEND,
                                  FENCE_LAST_RESORT_WATCHDOG },
                                200, 200, 500 };
    CU_ASSERT_NOT_EQUAL(fence_policy_check(&late.policy, NULL, 0), 0);
    unsigned unsafe = 0, expiries = 0;
    uint64_t slack = UINT64_MAX;
    for (uint64_t seed = 1; seed <= 6; seed++)
        unsafe += simulate(&late, seed, &expiries, &slack);
    CU_ASSERT(unsafe > 0);

    /* An observer that dated unchanged reads by their completion would be unsafe with a
     * slow read: the timeline, step by step, with the tight but accepted policy. */
    const struct fence_policy tight = { 2 * SEC, 30900, 40 * SEC, 3 * SEC, FENCE_ACTION_SUSPEND,
                                        FENCE_LAST_RESORT_WATCHDOG };
    const uint64_t B = 100 * SEC;
    struct fence_facts f = { .started_ms = 1 * SEC, .last_renew_ok_ms = B, .last_renew_attempt_ms = B + 2 * SEC,
                             .renew_in_flight = true };
    struct peer_observation right = { 0 }, wrong = { 0 };
    struct lease_record n = record(1, LEASE_LIVE), n1 = record(2, LEASE_LIVE);
    /* Write N began at B and landed at B+0.1; both observers saw it by B+0.4 (after a first sighting). */
    peer_observe(&right, &n1, B - 5 * SEC, B - 5 * SEC);
    peer_observe(&wrong, &n1, B - 5 * SEC, B - 5 * SEC);
    peer_observe(&right, &n, B + 300, B + 400);
    peer_observe(&wrong, &n, B + 400, B + 400);
    /* Write N+1 began at B+2 s; a read begun at B+28.5 s is served before it lands (B+30.5 s)
     * and completes at B+40.5 s, still showing N. */
    peer_observe(&right, &n, B + 28500, B + 40500);
    peer_observe(&wrong, &n, B + 40500, B + 40500);
    /* N+1 completes at B+30.8 s, before fence_after: the host renewed in time, renews again
     * at once (N+2 lands at B+30.9 s, after that read was served) and keeps its guests. */
    f.now_ms = B + 30800;
    f.renew_in_flight = false;
    f.last_renew_ok_ms = B + 2 * SEC;
    struct fence_decision d = fence_policy_decide(&tight, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_RENEW);
    f.last_renew_ok_ms = f.last_renew_attempt_ms = B + 30800;
    f.now_ms = B + 40500;
    d = fence_policy_decide(&tight, &f);
    CU_ASSERT_EQUAL(d.kind, DECIDE_RENEW);
    CU_ASSERT_EQUAL(d.deadline_ms, B + 70800);
    /* Dated by its beginning, the read proves nothing yet; dated by its end, it would expire a live host. */
    CU_ASSERT_NOT_EQUAL(peer_liveness(&right, B + 40500, tight.lease_timeout_ms), PEER_EXPIRED);
    CU_ASSERT_EQUAL(peer_liveness(&wrong, B + 40500, tight.lease_timeout_ms), PEER_EXPIRED);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "policy from [lease]", test_from_config },
        { "escalation order", test_escalation_order },
        { "rows: renewing and starting to fence", test_rows_normal },
        { "rows: fence steps", test_rows_fencing },
        { "rows: fenced", test_rows_fenced },
        { "decide without policy or facts", test_decide_without_input },
        { "decide at the limits of uint64", test_decide_extremes },
        { "flow: healthy export", test_flow_healthy },
        { "flow: worst case with the default numbers", test_flow_worst_case_defaults },
        { "fence_policy_check agrees with the worst case", test_check_matches_worst_case },
        { "flow: a fence request", test_flow_request },
        { "fence_policy_check", test_check },
        { "names", test_names },
        { "observer rows", test_observer_rows },
        { "two hosts: never expired while guests run", test_two_hosts_never_unsafe },
        { "two hosts: negative controls", test_two_hosts_negative_controls },
        { NULL, NULL },
    };
    return test_run_suite("fence_policy", cases);
}
