/*
 * The fencing decision table and the observer's liveness rule. See fence_policy.h for
 * why the two together are safe; this file is the tables and nothing else.
 *
 * What the watch daemon does, first matching row wins. "due" means no renewal in flight
 * and renew_interval passed since the last write attempt began (or there was none);
 * "overran" means the current step ran step_timeout without finishing; "silent" is the
 * time since the last successful renewal began (or since the daemon started).
 *
 *  #  step      step_done  overran  fenced  request  other             decision
 *  1  running   no         yes      any     any      a next step       ESCALATE to it
 *  2  running   no         yes      any     any      no next step      WAIT (alarm: nothing left)
 *  3  running   no         no       any     any                        WAIT until it overruns
 *  4  any       any        -        yes     pending  no write in       ACK_REQUEST
 *                                                    flight, none
 *                                                    failed in the last
 *                                                    renew_interval
 *  5  any       any        -        yes     any      due               RENEW (record says fenced)
 *  6  any       any        -        yes     any                        FENCED_IDLE
 *  7  running   yes        -        no      any                        FENCED_IDLE (complete: hold
 *                                                                      this host fenced)
 *  8  none      -          -        no      pending                    START_FENCE, first step
 *  9  none      -          -        no      none     silent >=         START_FENCE, first step
 *                                                    fence_after
 * 10  none      -          -        no      none     due               RENEW
 * 11  none      -          -        no      none                       WAIT (renewal pending or
 *                                                                      not due yet)
 *
 * The first step is suspend, or destroy with [lease] fence_action = destroy; then
 * suspend -> destroy -> the last resort (watchdog or reboot), unless that is "none".
 * Fencing is never undone here, however the facts change: once started it runs to the
 * end, and only `ferry storage unfence` clears `fenced`.
 *
 * Observers, first matching row wins:
 *
 *  #  observation                                                  liveness
 *  1  no record read yet                                           UNKNOWN
 *  2  last read says state fenced                                  FENCED
 *  3  last read says state released                                RELEASED
 *  4  a read begun >= lease_timeout after the last change (or      EXPIRED
 *     first sighting) found the counter unchanged
 *  5  the counter was seen to change, less than lease_timeout ago  LIVE
 *  6  otherwise: seen once and not yet timed out, or reads         UNKNOWN
 *     failing since the lease would have timed out
 */
#include "fence_policy.h"

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

struct fence_policy fence_policy_from_config(const struct lease_config *c)
{
    return (struct fence_policy){
        .renew_interval_ms = c->renew_interval_ms,
        .fence_after_ms = c->fence_after_ms,
        .lease_timeout_ms = c->lease_timeout_ms,
        .step_timeout_ms = c->fence_step_timeout_ms,
        .fence_action = c->fence_action,
        .last_resort = c->fence_last_resort,
    };
}

enum fence_step fence_policy_next_step(const struct fence_policy *p, enum fence_step step)
{
    switch (step) {
    case FENCE_STEP_NONE:
        return p->fence_action == FENCE_ACTION_DESTROY ? FENCE_STEP_DESTROY : FENCE_STEP_SUSPEND;
    case FENCE_STEP_SUSPEND:
        return FENCE_STEP_DESTROY;
    case FENCE_STEP_DESTROY:
        return p->last_resort == FENCE_LAST_RESORT_WATCHDOG || p->last_resort == FENCE_LAST_RESORT_REBOOT
                   ? FENCE_STEP_LAST_RESORT
                   : FENCE_STEP_NONE;
    case FENCE_STEP_LAST_RESORT:
        break;
    }
    return FENCE_STEP_NONE;
}

unsigned fence_policy_steps(const struct fence_policy *p)
{
    unsigned n = 0;
    for (enum fence_step s = fence_policy_next_step(p, FENCE_STEP_NONE); s != FENCE_STEP_NONE;
         s = fence_policy_next_step(p, s))
        n++;
    return n;
}

struct fence_decision fence_policy_decide(const struct fence_policy *p, const struct fence_facts *f)
{
    if (!p || !f)
        return (struct fence_decision){ DECIDE_WAIT, FENCE_STEP_NONE, "no policy or no facts to decide on", 0, 0 };

    const uint64_t now = f->now_ms;
    const uint64_t since = f->last_renew_ok_ms ? f->last_renew_ok_ms : f->started_ms;
    const uint64_t last_write = max_u64(f->last_renew_ok_ms, f->last_renew_attempt_ms);
    const uint64_t renew_at = last_write ? add_sat(last_write, p->renew_interval_ms) : now;
    const bool renew_due = !f->renew_in_flight && now >= renew_at;
    const bool last_write_failed = f->last_renew_attempt_ms > f->last_renew_ok_ms;
    const bool ack_allowed =
        !f->renew_in_flight && (!last_write_failed || sub_sat(now, f->last_renew_attempt_ms) >= p->renew_interval_ms);
    struct fence_decision d = {
        .kind = DECIDE_WAIT,
        .next_step = FENCE_STEP_NONE,
        .deadline_ms = add_sat(since, p->lease_timeout_ms),
        .next_check_ms = now,
    };

    if (f->step != FENCE_STEP_NONE && !f->step_done) {
        if (sub_sat(now, f->step_started_ms) >= p->step_timeout_ms) {
            d.next_step = fence_policy_next_step(p, f->step);
            if (d.next_step != FENCE_STEP_NONE) {
                d.kind = DECIDE_ESCALATE; /* row 1 */
                d.reason = "the fence step did not finish within fence_step_timeout: escalating";
            } else {
                d.reason = "the last fence step did not finish within fence_step_timeout and there is no further "
                           "step: guests may outlive the lease"; /* row 2 */
                d.next_check_ms = add_sat(now, p->step_timeout_ms);
            }
        } else {
            d.reason = "a fence step is running"; /* row 3 */
            d.next_check_ms = add_sat(f->step_started_ms, p->step_timeout_ms);
        }
        return d;
    }

    if (f->fenced) {
        if (f->fence_requested && ack_allowed) {
            d.kind = DECIDE_ACK_REQUEST; /* row 4 */
            d.reason = "fenced, and a fence request is waiting for its acknowledgement";
        } else if (renew_due) {
            d.kind = DECIDE_RENEW; /* row 5 */
            d.reason = "fenced: renewing the record that says so, for observers";
        } else {
            d.kind = DECIDE_FENCED_IDLE; /* row 6 */
            d.reason = "fenced";
            d.next_check_ms = f->renew_in_flight ? add_sat(now, p->renew_interval_ms) : renew_at;
        }
        return d;
    }

    if (f->step != FENCE_STEP_NONE) {
        d.kind = DECIDE_FENCED_IDLE; /* row 7 */
        d.reason = "fencing is complete: hold this host fenced";
        return d;
    }

    if (f->fence_requested || sub_sat(now, since) >= p->fence_after_ms) {
        d.kind = DECIDE_START_FENCE; /* rows 8 and 9 */
        d.next_step = fence_policy_next_step(p, FENCE_STEP_NONE);
        if (f->fence_requested)
            d.reason = "a fence request for this host is on the export";
        else if (f->last_renew_ok_ms)
            d.reason = "no renewal succeeded for fence_after";
        else
            d.reason = "no renewal succeeded within fence_after of starting";
        return d;
    }

    if (renew_due) {
        d.kind = DECIDE_RENEW; /* row 10 */
        d.reason = "the lease is due for renewal";
        return d;
    }

    /* Row 11: wake for the renewal, or to fence if it has not succeeded by then. */
    d.reason = f->renew_in_flight ? "a renewal is in flight" : "the lease is not due for renewal";
    d.next_check_ms = add_sat(since, p->fence_after_ms);
    if (!f->renew_in_flight)
        d.next_check_ms = min_u64(d.next_check_ms, renew_at);
    return d;
}

/* --- checking a policy ----------------------------------------------------------------- */

static int __attribute__((format(printf, 3, 4))) invalid(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* "suspend, destroy, watchdog": the steps this policy escalates through. */
static const char *step_list(char *buf, size_t size, const struct fence_policy *p)
{
    size_t len = 0;
    buf[0] = 0;
    for (enum fence_step s = fence_policy_next_step(p, FENCE_STEP_NONE); s != FENCE_STEP_NONE;
         s = fence_policy_next_step(p, s)) {
        const char *name = s != FENCE_STEP_LAST_RESORT                   ? fence_step_name(s)
                           : p->last_resort == FENCE_LAST_RESORT_WATCHDOG ? "watchdog"
                                                                          : "reboot";
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    return buf;
}

int fence_policy_check(const struct fence_policy *p, char *why, size_t why_size)
{
    char a[32], b[32], c[32], steps[64];

    if (why && why_size)
        why[0] = 0;
    if (!p)
        return invalid(why, why_size, "no [lease] policy to check");
    if (p->renew_interval_ms == 0)
        return invalid(why, why_size, "[lease] renew_interval must be longer than 0");
    if (p->step_timeout_ms == 0)
        return invalid(why, why_size, "[lease] fence_step_timeout must be longer than 0");
    if (p->fence_action != FENCE_ACTION_SUSPEND && p->fence_action != FENCE_ACTION_DESTROY)
        return invalid(why, why_size, "[lease] fence_action must be suspend or destroy");
    if (p->last_resort != FENCE_LAST_RESORT_NONE && p->last_resort != FENCE_LAST_RESORT_WATCHDOG &&
        p->last_resort != FENCE_LAST_RESORT_REBOOT)
        return invalid(why, why_size, "[lease] fence_last_resort must be none, watchdog or reboot");
    if (p->fence_after_ms <= p->renew_interval_ms)
        return invalid(why, why_size, "[lease] fence_after (%s) must be longer than renew_interval (%s)",
                       config_format_duration(p->fence_after_ms, a, sizeof(a)), config_format_duration(p->renew_interval_ms, b, sizeof(b)));
    if (p->lease_timeout_ms <= p->fence_after_ms)
        return invalid(why, why_size,
                       "[lease] lease_timeout (%s) must be longer than fence_after (%s): a host must fence itself "
                       "before the others may treat its lease as expired",
                       config_format_duration(p->lease_timeout_ms, a, sizeof(a)), config_format_duration(p->fence_after_ms, b, sizeof(b)));

    /* Each step may use its whole timeout before the next begins; the last one included. */
    unsigned n = fence_policy_steps(p);
    uint64_t worst;
    if (__builtin_mul_overflow(p->step_timeout_ms, (uint64_t)n, &worst) ||
        __builtin_add_overflow(worst, p->fence_after_ms, &worst))
        worst = UINT64_MAX;
    if (worst >= p->lease_timeout_ms)
        return invalid(why, why_size,
                       "[lease] fence_after (%s) + %u fence step%s (%s) x fence_step_timeout (%s) must end before "
                       "lease_timeout (%s): fencing could still run when other hosts treat this host's lease as "
                       "expired; lower fence_after or fence_step_timeout, or raise lease_timeout",
                       config_format_duration(p->fence_after_ms, a, sizeof(a)), n, n == 1 ? "" : "s",
                       step_list(steps, sizeof(steps), p), config_format_duration(p->step_timeout_ms, b, sizeof(b)),
                       config_format_duration(p->lease_timeout_ms, c, sizeof(c)));
    return 0;
}

const char *fence_step_name(enum fence_step s)
{
    switch (s) {
    case FENCE_STEP_NONE:
        return "none";
    case FENCE_STEP_SUSPEND:
        return "suspend";
    case FENCE_STEP_DESTROY:
        return "destroy";
    case FENCE_STEP_LAST_RESORT:
        return "last-resort";
    }
    return "unknown";
}

const char *fence_decision_kind_name(enum fence_decision_kind k)
{
    switch (k) {
    case DECIDE_RENEW:
        return "renew";
    case DECIDE_WAIT:
        return "wait";
    case DECIDE_START_FENCE:
        return "start-fence";
    case DECIDE_ESCALATE:
        return "escalate";
    case DECIDE_ACK_REQUEST:
        return "ack-request";
    case DECIDE_FENCED_IDLE:
        return "fenced-idle";
    }
    return "unknown";
}

/* --- the observer's side ----------------------------------------------------------------- */

void peer_observe(struct peer_observation *o, const struct lease_record *r, uint64_t read_started_ms,
                  uint64_t read_done_ms)
{
    if (!o || !r)
        return; /* an unreadable record proves nothing, either way */
    if (!o->seen || r->counter != o->counter) {
        /* Any change counts, a lower counter too (a reinstalled host): only an unchanged
         * counter is a sign of death. */
        o->changed = o->seen;
        o->seen = true;
        o->counter = r->counter;
        o->last_change_ms = read_done_ms;
    }
    o->last_read_ms = read_started_ms;
    o->state = r->state;
}

enum peer_liveness peer_liveness(const struct peer_observation *o, uint64_t now_ms, uint64_t lease_timeout_ms)
{
    if (!o || !o->seen)
        return PEER_UNKNOWN; /* row 1 */
    if (o->state == LEASE_FENCED)
        return PEER_FENCED; /* row 2 */
    if (o->state == LEASE_RELEASED)
        return PEER_RELEASED; /* row 3 */
    if (sub_sat(o->last_read_ms, o->last_change_ms) >= lease_timeout_ms)
        return PEER_EXPIRED; /* row 4 */
    if (o->changed && sub_sat(now_ms, o->last_change_ms) < lease_timeout_ms)
        return PEER_LIVE; /* row 5 */
    return PEER_UNKNOWN; /* row 6 */
}

const char *peer_liveness_name(enum peer_liveness l)
{
    switch (l) {
    case PEER_LIVE:
        return "live";
    case PEER_EXPIRED:
        return "expired";
    case PEER_FENCED:
        return "fenced";
    case PEER_RELEASED:
        return "released";
    case PEER_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}
