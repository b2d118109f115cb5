/*
 * Fencing decisions, after sanlock's delta leases. Pure: the watch daemon gathers facts
 * (its own monotonic clock, how its renewals went, what its fence steps did) and asks what
 * to do; observers feed the lease records they read and ask whether a peer is alive.
 * Nothing here reads a clock, a file or libvirt.
 *
 * The two sides meet on one inequality. A host has stopped its guests by
 *     S + fence_after + (its fence steps) < S + lease_timeout
 * where S is when its last successful renewal *began*, by its own clock. An observer calls
 * the host expired only when a read it *began* at least lease_timeout after the read that
 * *completed* with the last change of the counter still finds the counter unchanged. That
 * write landed on the server after S and before the observer saw it, so S <= the observer's
 * last change, and the host's fencing ends before the observer may act. No clocks are
 * compared across hosts, and no bound on I/O latency is assumed, provided that:
 *   - the counter goes up on every write attempt, successful or not, so a late-landing
 *     failed attempt is never mistaken for a later successful one;
 *   - once started, fencing runs to its end even if a renewal succeeds meanwhile (only
 *     `ferry storage unfence` ends it).
 */
#pragma once

#include "config.h"
#include "lease_record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fence_step { FENCE_STEP_NONE, FENCE_STEP_SUSPEND, FENCE_STEP_DESTROY, FENCE_STEP_LAST_RESORT };

struct fence_facts {
    uint64_t now_ms;
    uint64_t started_ms; /* daemon start */
    /* When the last successful renewal was *begun* (0 = none since start). Its write cannot
     * have reached the server earlier, so observers cannot start counting earlier. */
    uint64_t last_renew_ok_ms;
    /* When the last renewal (or acknowledgement, which is a renewal) was begun, whatever
     * its outcome (0 = none). A failed write is retried renew_interval after it began,
     * not at once, so a failing server is not hammered. */
    uint64_t last_renew_attempt_ms;
    bool renew_in_flight; /* a renewal is still pending (hung server) */
    /* This host completed fencing and holds itself fenced (remembered locally; its lease
     * record says "fenced" once it could be written). Only `ferry storage unfence` clears it. */
    bool fenced;
    bool fence_requested;      /* a fence request for this host is on the export, not yet acknowledged */
    enum fence_step step;      /* the fencing step in progress, FENCE_STEP_NONE when not fencing */
    uint64_t step_started_ms;
    bool step_done; /* the current step finished for every guest */
};

struct fence_policy {
    uint64_t renew_interval_ms, fence_after_ms, lease_timeout_ms, step_timeout_ms;
    int fence_action; /* enum fence_action: the first step, suspend or destroy */
    int last_resort;  /* enum fence_last_resort: none, watchdog, reboot */
};

enum fence_decision_kind {
    DECIDE_RENEW,       /* write this host's lease record now (state fenced if fenced) */
    DECIDE_WAIT,        /* nothing to do before next_check_ms, unless a fact changes */
    DECIDE_START_FENCE, /* begin fencing with next_step */
    DECIDE_ESCALATE,    /* the current step overran: begin next_step */
    DECIDE_ACK_REQUEST, /* write the lease record with fence_ack = the pending request's id */
    DECIDE_FENCED_IDLE, /* fencing is complete: hold (or start holding) this host fenced */
};

struct fence_decision {
    enum fence_decision_kind kind;
    enum fence_step next_step; /* for START_FENCE and ESCALATE; FENCE_STEP_NONE otherwise */
    const char *reason;        /* one static line for the log */
    /* By when fencing must be complete: (last_renew_ok, or started) + lease_timeout. */
    uint64_t deadline_ms;
    /* When to decide again if no fact changes first (now, when there is something to do). */
    uint64_t next_check_ms;
};

/* The policy from [lease]. */
struct fence_policy fence_policy_from_config(const struct lease_config *c);

struct fence_decision fence_policy_decide(const struct fence_policy *p, const struct fence_facts *f);

/* The step after `step` by the policy (suspend -> destroy -> last resort), or FENCE_STEP_NONE. */
enum fence_step fence_policy_next_step(const struct fence_policy *p, enum fence_step step);

/* How many steps the escalation can run through: 1 to 3. */
unsigned fence_policy_steps(const struct fence_policy *p);

/*
 * Validates a policy: every duration positive, renew_interval < fence_after < lease_timeout,
 * and the worst case of fencing ends before lease_timeout:
 *     fence_after + steps x step_timeout < lease_timeout
 * (each step may use its whole timeout before it escalates, the last one included, so a
 * watchdog must be armed to fire within fence_step_timeout). Returns 0, or -EINVAL with one
 * line in why naming the [lease] keys involved.
 */
int fence_policy_check(const struct fence_policy *p, char *why, size_t why_size);

const char *fence_step_name(enum fence_step s);
const char *fence_decision_kind_name(enum fence_decision_kind k);

/* --- the observer's side ------------------------------------------------------------- */

enum peer_liveness {
    PEER_LIVE,     /* its counter changed less than lease_timeout ago */
    PEER_EXPIRED,  /* read unchanged lease_timeout after its last change (or first sighting) */
    PEER_FENCED,   /* its record says it fenced itself */
    PEER_RELEASED, /* its record says it let go of its lease (clean stop) */
    PEER_UNKNOWN,  /* not observed long enough to know, or reads failing */
};

struct peer_observation {
    uint64_t counter;
    bool seen;               /* a record has been read */
    bool changed;            /* its counter was seen to change (not just a first sighting) */
    uint64_t last_change_ms; /* observer's monotonic clock: completion of the read that saw the
                                last change (or the first sighting) */
    uint64_t last_read_ms;   /* observer's clock: beginning of the last successful read */
    enum lease_state state;  /* as of the last read */
};

/*
 * Feeds a freshly read record (NULL when it could not be read or decoded: no evidence
 * either way) into o, which starts zeroed. The two times are when the read began and when
 * it completed, by the observer's monotonic clock: a change is dated by the completion
 * (the latest it can have happened), an unchanged read by its beginning (the earliest
 * moment it vouches for), so read latency can only delay an expiry, never advance it.
 */
void peer_observe(struct peer_observation *o, const struct lease_record *r, uint64_t read_started_ms,
                  uint64_t read_done_ms);

enum peer_liveness peer_liveness(const struct peer_observation *o, uint64_t now_ms, uint64_t lease_timeout_ms);

const char *peer_liveness_name(enum peer_liveness l);
