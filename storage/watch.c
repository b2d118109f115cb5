/*
 * The watch daemon: this host's side of the delta leases (see fence_policy.h for why it is
 * safe). Three kinds of threads, so that nothing that can hang holds up a decision:
 *
 *   the main loop   asks fence_policy_decide() what to do, as often as it says, and acts;
 *                   it never touches the export or libvirt itself;
 *   the renewer     writes this host's lease record through libnfs when asked, each
 *                   attempt bounded by renew_interval; after a good write it also reads any
 *                   fence request for this host and the other hosts' records;
 *   fence steps     suspend or destroy the guests whose disks are on the export, from
 *                   fence_actions' bounded workers.
 *
 * All shared state is under one mutex; the threads hold it only to copy facts in and out.
 */
#include "watch.h"

#include "cleanup.h"
#include "clock.h"
#include "export_spec.h"
#include "fence_actions.h"
#include "fence_policy.h"
#include "json_output.h"
#include "log.h"
#include "mount.h"
#include "nfs_client.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 64
#define LOCAL_LIBVIRT "qemu:///system"
#define STATUS_EVERY_MS 500

struct peer {
    char host[LEASE_HOST_MAX + 1];
    struct peer_observation obs;
    char record_problem[200]; /* why the last read was not trusted; "" when it was */
};

struct watch {
    const struct ferry_config *cfg;
    struct fence_policy policy;
    struct export_spec spec;
    char host[LEASE_HOST_MAX + 1];
    char host_id[LEASE_UUID_LEN + 1];

    pthread_mutex_t lock;
    pthread_cond_t wake; /* the renewer waits on it */
    bool stop;

    /* renewals */
    bool renew_requested;
    bool releasing; /* stopping: the last record says "released" */
    bool renew_in_flight;
    uint64_t last_renew_attempt_ms, last_renew_ok_ms;
    uint64_t counter;
    uint64_t renewals_ok, renewals_failed;
    char renew_error[512];
    bool fence_requested;
    char request_id[LEASE_HOST_MAX + 1];
    char requested_by[LEASE_HOST_MAX + 1];
    char fence_ack[LEASE_HOST_MAX + 1];
    bool fence_ack_written; /* a record carrying fence_ack reached the export */
    struct peer peers[MAX_PEERS];
    size_t n_peers;

    /* fencing */
    bool fenced;     /* complete: the record says so */
    bool fencing;    /* STATE_DIR/fenced written, steps running or done */
    enum fence_step step;
    uint64_t step_started_ms;
    bool step_done;
    unsigned step_generation; /* a step thread reports only for its own step */
    char guests_done[1024];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Daemon log lines carry the wall-clock time: they are read beside other hosts' logs. */
static void watch_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void watch_log(const char *fmt, ...)
{
    char msg[2048], when[64];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ld ferry storage watch: %s\n", when, ts.tv_nsec / 1000000, msg);
    fflush(stderr);
}

/* ---- host identity and the fenced flag -------------------------------------------- */

int watch_host_name(char host[LEASE_HOST_MAX + 1])
{
    char name[256];
    if (gethostname(name, sizeof(name)) < 0)
        return -errno;
    name[sizeof(name) - 1] = 0;
    name[strcspn(name, ".")] = 0;
    if (!lease_host_valid(name))
        return -EINVAL;
    text_copy(host, LEASE_HOST_MAX + 1, name);
    return 0;
}

static int mkdir_parents(const char *dir)
{
    char buf[4096];
    text_copy(buf, sizeof(buf), dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Writes path atomically (tmp + rename) on the local disk. */
static int write_local(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    _cleanup_fclose_ FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0)
        return -errno;
    return rename(tmp, path) < 0 ? -errno : 0;
}

static int host_id_load(const struct ferry_config *cfg, char id[LEASE_UUID_LEN + 1])
{
    char path[4200], text[64] = "";
    snprintf(path, sizeof(path), "%s/host-id", cfg->storage.state_dir);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (f && fgets(text, sizeof(text), f)) {
        text[strcspn(text, "\n")] = 0;
        if (lease_uuid_valid(text)) {
            text_copy(id, LEASE_UUID_LEN + 1, text);
            return 0;
        }
    }
    _cleanup_fclose_ FILE *u = fopen("/proc/sys/kernel/random/uuid", "re");
    if (!u || !fgets(text, sizeof(text), u))
        return -EIO;
    text[strcspn(text, "\n")] = 0;
    int r = mkdir_parents(cfg->storage.state_dir);
    if (r < 0)
        return r;
    char line[80];
    snprintf(line, sizeof(line), "%s\n", text);
    r = write_local(path, line);
    if (r == 0)
        text_copy(id, LEASE_UUID_LEN + 1, text);
    return r;
}

static void fenced_path(const struct ferry_config *cfg, char *path, size_t size)
{
    snprintf(path, size, "%s/fenced", cfg->storage.state_dir);
}

bool watch_is_fenced(const struct ferry_config *cfg, char *reason, size_t size)
{
    char path[4200];
    fenced_path(cfg, path, sizeof(path));
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return false;
    if (reason && size) {
        reason[0] = 0;
        if (fgets(reason, (int)size, f))
            reason[strcspn(reason, "\n")] = 0;
    }
    return true;
}

int watch_set_fenced(const struct ferry_config *cfg, const char *reason)
{
    char path[4200], text[1200], when[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fenced_path(cfg, path, sizeof(path));
    snprintf(text, sizeof(text), "since %s: %s\n", when, reason);
    int r = mkdir_parents(cfg->storage.state_dir);
    return r < 0 ? r : write_local(path, text);
}

int watch_clear_fenced(const struct ferry_config *cfg)
{
    char path[4200];
    fenced_path(cfg, path, sizeof(path));
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int watch_peer_status(const struct ferry_config *cfg, const char *host, char *liveness, size_t lsize, char *state,
                      size_t ssize)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/watch.json", cfg->storage.runtime_dir);
    struct json_object *o = json_object_from_file(path), *v, *peers;
    int r = -ENOENT;
    if (!o)
        return r;
    int64_t pid = json_object_object_get_ex(o, "pid", &v) ? json_object_get_int64(v) : 0;
    if (pid > 0 && kill((pid_t)pid, 0) == 0 && json_object_object_get_ex(o, "peers", &peers)) {
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
            struct json_object *e = json_object_array_get_idx(peers, i);
            if (!json_object_object_get_ex(e, "host", &v) || strcasecmp(json_object_get_string(v), host))
                continue;
            if (json_object_object_get_ex(e, "liveness", &v))
                snprintf(liveness, lsize, "%s", json_object_get_string(v));
            if (json_object_object_get_ex(e, "state", &v))
                snprintf(state, ssize, "%s", json_object_get_string(v));
            r = 0;
        }
    }
    json_object_put(o);
    return r;
}

/* ---- the renewer -------------------------------------------------------------------- */

struct renewer_conn {
    struct nfs_client *client;
    struct nfs_client_file *record;
    size_t written_len;
};

static void renewer_drop(struct renewer_conn *rc)
{
    if (rc->client)
        nfs_client_close(rc->client, rc->record, 0);
    nfs_client_free(rc->client);
    memset(rc, 0, sizeof(*rc));
}

static int renewer_connect(struct watch *w, struct renewer_conn *rc, uint64_t deadline, char **error)
{
    char path[EXPORT_SPEC_PATH_MAX];
    if (rc->client)
        return 0;
    int r = nfs_client_connect(&w->spec, deadline, &rc->client, error);
    if (r < 0)
        return r;
    r = nfs_client_mkdir_p(rc->client, "/" LEASE_DIR, 0755, deadline);
    if (r == 0)
        r = nfs_client_mkdir_p(rc->client, "/" FENCE_DIR, 0755, deadline);
    snprintf(path, sizeof(path), "/" LEASE_DIR "/%s", w->host);
    if (r == 0)
        r = nfs_client_open(rc->client, path, O_RDWR | O_CREAT, 0644, &rc->record, deadline);
    /* What is in the file now is unknown (an older, longer record?): cut it on first write. */
    rc->written_len = SIZE_MAX;
    if (r < 0) {
        if (asprintf(error, "%s", nfs_client_last_error(rc->client)) < 0)
            *error = NULL;
        renewer_drop(rc);
    }
    return r;
}

/* Writes the record in place: one WRITE and one COMMIT (and a SETATTR if it shrank).
 * A reader may catch it half-written; the checksum makes that a failed read, not a lie. */
static int write_record(struct renewer_conn *rc, const struct lease_record *rec, uint64_t deadline)
{
    char buf[LEASE_RECORD_MAX];
    int len = lease_record_encode(rec, buf, sizeof(buf));
    if (len < 0)
        return len;
    int r = nfs_client_pwrite(rc->client, rc->record, 0, buf, (size_t)len, deadline);
    if (r == 0 && (size_t)len < rc->written_len)
        r = nfs_client_ftruncate(rc->client, rc->record, (uint64_t)len, deadline);
    if (r == 0)
        r = nfs_client_fsync(rc->client, rc->record, deadline);
    if (r == 0)
        rc->written_len = (size_t)len;
    return r;
}

static void read_fence_request(struct watch *w, struct renewer_conn *rc, uint64_t deadline)
{
    char path[EXPORT_SPEC_PATH_MAX], buf[LEASE_RECORD_MAX + 1], why[256];
    size_t len = 0;
    struct fence_request req;
    snprintf(path, sizeof(path), "/" FENCE_DIR "/%s", w->host);
    if (nfs_client_read_file(rc->client, path, buf, sizeof(buf) - 1, &len, deadline) < 0)
        return;
    if (fence_request_decode(buf, len, &req, why, sizeof(why)) != LEASE_DECODE_OK || strcmp(req.target, w->host))
        return;
    pthread_mutex_lock(&w->lock);
    /* Answered, and the answer is on the export (this renewal wrote it): the request is
     * spent. Removing it keeps a restarted daemon from obeying it a second time. */
    if (!strcmp(req.request_id, w->fence_ack) && w->fence_ack_written) {
        pthread_mutex_unlock(&w->lock);
        nfs_client_unlink(rc->client, path, deadline);
        return;
    }
    if (strcmp(req.request_id, w->fence_ack) != 0 && !w->fence_requested) {
        w->fence_requested = true;
        text_copy(w->request_id, sizeof(w->request_id), req.request_id);
        text_copy(w->requested_by, sizeof(w->requested_by), req.requested_by);
    }
    pthread_mutex_unlock(&w->lock);
}

struct peer_list {
    char names[MAX_PEERS][LEASE_HOST_MAX + 1];
    size_t n;
    const char *self;
};

static int collect_peer(const char *name, void *arg)
{
    struct peer_list *l = arg;
    if (l->n < MAX_PEERS && strcmp(name, l->self) && lease_host_valid(name) && !strstr(name, ".tmp-"))
        text_copy(l->names[l->n++], LEASE_HOST_MAX + 1, name);
    return 0;
}

static struct peer *peer_slot(struct watch *w, const char *host)
{
    for (size_t i = 0; i < w->n_peers; i++)
        if (!strcmp(w->peers[i].host, host))
            return &w->peers[i];
    if (w->n_peers == MAX_PEERS)
        return NULL;
    struct peer *p = &w->peers[w->n_peers++];
    memset(p, 0, sizeof(*p));
    text_copy(p->host, sizeof(p->host), host);
    return p;
}

static void observe_peers(struct watch *w, struct renewer_conn *rc, uint64_t deadline)
{
    struct peer_list list = { .self = w->host };
    if (nfs_client_list(rc->client, "/" LEASE_DIR, collect_peer, &list, deadline) < 0)
        return;
    for (size_t i = 0; i < list.n; i++) {
        char path[EXPORT_SPEC_PATH_MAX], buf[LEASE_RECORD_MAX + 1], why[256];
        size_t len = 0;
        struct lease_record rec;
        uint64_t started = clock_monotonic_ms();
        snprintf(path, sizeof(path), "/" LEASE_DIR "/%s", list.names[i]);
        int r = nfs_client_read_file(rc->client, path, buf, sizeof(buf) - 1, &len, deadline);
        char problem[200] = "";
        why[0] = 0;
        enum lease_decode_status st = r == 0 ? lease_record_decode(buf, len, &rec, why, sizeof(why)) : LEASE_DECODE_OK;
        if (r < 0)
            snprintf(problem, sizeof(problem), "unreadable: %s", strerror(-r));
        else if (st != LEASE_DECODE_OK)
            text_printf(problem, sizeof(problem), "%s: %s", lease_decode_status_name(st), why);
        else if (strcmp(rec.host, list.names[i]))
            text_printf(problem, sizeof(problem), "names host %s, not %s", rec.host, list.names[i]);
        uint64_t done = clock_monotonic_ms();
        pthread_mutex_lock(&w->lock);
        struct peer *p = peer_slot(w, list.names[i]);
        if (p) {
            /* A torn or garbage record is no evidence either way: it is reported, not trusted. */
            peer_observe(&p->obs, problem[0] ? NULL : &rec, started, done);
            text_copy(p->record_problem, sizeof(p->record_problem), problem);
        }
        pthread_mutex_unlock(&w->lock);
        if (r == -ETIMEDOUT || r == -ECONNRESET)
            break;
    }
}

static void *renewer_main(void *arg)
{
    struct watch *w = arg;
    struct renewer_conn rc = { 0 };
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->renew_requested && !w->stop)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        w->renew_requested = false;
        w->renew_in_flight = true;
        uint64_t started = clock_monotonic_ms();
        w->last_renew_attempt_ms = started;
        /* The counter goes up on every attempt, good or not (fence_policy.h says why). */
        struct lease_record rec = { .version = LEASE_RECORD_VERSION,
                                    .counter = ++w->counter,
                                    .state = w->fenced    ? LEASE_FENCED
                                             : w->releasing ? LEASE_RELEASED
                                                            : LEASE_LIVE,
                                    .written_at = time(NULL) };
        text_copy(rec.host, sizeof(rec.host), w->host);
        text_copy(rec.host_id, sizeof(rec.host_id), w->host_id);
        text_copy(rec.fence_ack, sizeof(rec.fence_ack), w->fence_ack);
        pthread_mutex_unlock(&w->lock);

        uint64_t deadline = started + w->policy.renew_interval_ms;
        char *error = NULL;
        int r = renewer_connect(w, &rc, deadline, &error);
        if (r == 0)
            r = write_record(&rc, &rec, deadline);
        if (r < 0 && !error && rc.client && asprintf(&error, "%s", nfs_client_last_error(rc.client)) < 0)
            error = NULL;
        if (r == 0 && rec.state != LEASE_RELEASED) {
            read_fence_request(w, &rc, deadline);
            observe_peers(w, &rc, deadline);
        } else if (r < 0) {
            renewer_drop(&rc);
        }

        pthread_mutex_lock(&w->lock);
        w->renew_in_flight = false;
        if (r == 0) {
            w->last_renew_ok_ms = started;
            w->fence_ack_written = !strcmp(rec.fence_ack, w->fence_ack) && w->fence_ack[0];
            w->renewals_ok++;
            w->renew_error[0] = 0;
        } else {
            w->renewals_failed++;
            snprintf(w->renew_error, sizeof(w->renew_error), "%s", error ? error : strerror(-r));
        }
        pthread_mutex_unlock(&w->lock);
        if (r < 0)
            watch_log("lease renewal failed: %s", error ? error : strerror(-r));
        free(error);
    }
    renewer_drop(&rc);
    return NULL;
}

/* ---- fencing steps ------------------------------------------------------------------ */

struct step_job {
    struct watch *w;
    enum fence_step step;
    unsigned generation;
};

static void last_resort(const struct ferry_config *cfg)
{
    switch (cfg->lease.fence_last_resort) {
    case FENCE_LAST_RESORT_WATCHDOG: {
        /* Opened and never fed: the watchdog resets the host when it fires. */
        int fd = open("/dev/watchdog", O_WRONLY | O_CLOEXEC);
        watch_log("last resort: %s /dev/watchdog%s", fd >= 0 ? "armed" : "cannot open",
                  fd >= 0 ? "; the host resets when it fires" : "");
        break;
    }
    case FENCE_LAST_RESORT_REBOOT:
        watch_log("last resort: rebooting the host now");
        sync();
        reboot(RB_AUTOBOOT);
        break;
    default:
        watch_log("last resort: none configured; guests may outlive the lease: stop them by hand");
        break;
    }
}

static void *step_main(void *arg)
{
    struct step_job *job = arg;
    struct watch *w = job->w;
    const struct ferry_config *cfg = w->cfg;
    bool done = false;
    char summary[1024] = "";

    if (job->step == FENCE_STEP_LAST_RESORT) {
        last_resort(cfg);
    } else {
        /* Guests blocked on the failing storage cannot be killed while their I/O waits for
         * a server that does not answer: before destroying, cut the storage off, which is
         * also what fencing is for — nothing more from this host reaches the export. */
        if (job->step == FENCE_STEP_DESTROY) {
            char *aerr = NULL;
            if (storage_abort_io(cfg->storage.mount_point, &aerr) < 0)
                watch_log("fencing: %s", aerr ? aerr : "cannot cut off the storage");
            else
                watch_log("fencing: I/O to the export aborted and %s detached", cfg->storage.mount_point);
            free(aerr);
        }
        enum fence_guest_action action = job->step == FENCE_STEP_SUSPEND ? FENCE_GUEST_SUSPEND : FENCE_GUEST_DESTROY;
        struct fence_guest *guests = NULL;
        size_t n = 0;
        char *error = NULL;
        if (fence_guests_on(LOCAL_LIBVIRT, cfg->storage.mount_point, &guests, &n, &error) < 0) {
            watch_log("fencing: cannot list guests: %s", error ? error : "?");
        } else {
            size_t ok = fence_guests_apply(LOCAL_LIBVIRT, guests, n, action, cfg->lease.fence_step_timeout_ms);
            size_t used = 0;
            for (size_t i = 0; i < n; i++) {
                watch_log("fencing: %s %s: %s%s%s", fence_guest_action_name(action), guests[i].name,
                          guests[i].outcome == FENCE_GUEST_DONE        ? "done"
                          : guests[i].outcome == FENCE_GUEST_TIMED_OUT ? "no answer in time"
                                                                       : "failed",
                          guests[i].error[0] ? ": " : "", guests[i].error);
                if (guests[i].outcome == FENCE_GUEST_DONE && used < sizeof(summary))
                    used += (size_t)snprintf(summary + used, sizeof(summary) - used, "%s%s (%s)", used ? ", " : "",
                                             guests[i].name, action == FENCE_GUEST_SUSPEND ? "suspended" : "destroyed");
            }
            if (n == 0)
                watch_log("fencing: no guest here has a disk under %s", cfg->storage.mount_point);
            done = ok == n;
        }
        free(error);
        free(guests);
    }

    pthread_mutex_lock(&w->lock);
    if (job->generation == w->step_generation) {
        w->step_done = done;
        if (summary[0])
            text_copy(w->guests_done, sizeof(w->guests_done), summary);
    }
    pthread_mutex_unlock(&w->lock);
    free(job);
    return NULL;
}

/* Starts a step in its own thread (a previous one may still be stuck in libvirt). */
static void step_start(struct watch *w, enum fence_step step, uint64_t now)
{
    struct step_job *job = calloc(1, sizeof(*job));
    pthread_t t;
    if (!job)
        return;
    w->step = step;
    w->step_started_ms = now;
    w->step_done = false;
    job->w = w;
    job->step = step;
    job->generation = ++w->step_generation;
    watch_log("fencing: step %s begins (must be complete before the lease may expire elsewhere)",
              fence_step_name(step));
    if (pthread_create(&t, NULL, step_main, job) != 0) {
        free(job);
        return;
    }
    pthread_detach(t);
}

/* ---- the status file --------------------------------------------------------------- */

static void write_status(struct watch *w, uint64_t now)
{
    char path[4200], tmp[4300];
    struct json_object *o = json_object_new_object();
    pthread_mutex_lock(&w->lock);
    json_object_object_add(o, "pid", json_object_new_int64(getpid()));
    json_object_object_add(o, "host", json_object_new_string(w->host));
    json_object_object_add(o, "host_id", json_object_new_string(w->host_id));
    json_object_object_add(o, "now_ms", json_object_new_int64((int64_t)now));
    json_object_object_add(o, "last_renew_ok_ms", json_object_new_int64((int64_t)w->last_renew_ok_ms));
    json_object_object_add(o, "renew_interval_ms", json_object_new_int64((int64_t)w->policy.renew_interval_ms));
    json_object_object_add(o, "lease_timeout_ms", json_object_new_int64((int64_t)w->policy.lease_timeout_ms));
    json_object_object_add(o, "counter", json_object_new_int64((int64_t)w->counter));
    json_object_object_add(o, "renewals_ok", json_object_new_int64((int64_t)w->renewals_ok));
    json_object_object_add(o, "renewals_failed", json_object_new_int64((int64_t)w->renewals_failed));
    json_object_object_add(o, "renew_error", json_object_new_string(w->renew_error));
    json_object_object_add(o, "fenced", json_object_new_boolean(w->fenced));
    json_object_object_add(o, "fencing", json_object_new_boolean(w->fencing));
    json_object_object_add(o, "fence_step", json_object_new_string(fence_step_name(w->step)));
    json_object_object_add(o, "fence_ack", json_object_new_string(w->fence_ack));
    json_object_object_add(o, "guests_fenced", json_object_new_string(w->guests_done));
    struct json_object *peers = json_object_new_array();
    for (size_t i = 0; i < w->n_peers; i++) {
        const struct peer *p = &w->peers[i];
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "host", json_object_new_string(p->host));
        json_object_object_add(e, "liveness",
                               json_object_new_string(peer_liveness_name(
                                   peer_liveness(&p->obs, now, w->policy.lease_timeout_ms))));
        json_object_object_add(e, "counter", json_object_new_int64((int64_t)p->obs.counter));
        json_object_object_add(e, "state", json_object_new_string(lease_state_name(p->obs.state)));
        json_object_object_add(e, "since_change_ms",
                               json_object_new_int64(p->obs.seen ? (int64_t)(now - p->obs.last_change_ms) : -1));
        json_object_object_add(e, "record", json_object_new_string(p->record_problem[0] ? p->record_problem : "ok"));
        json_object_array_add(peers, e);
    }
    pthread_mutex_unlock(&w->lock);
    json_object_object_add(o, "peers", peers);

    snprintf(path, sizeof(path), "%s/watch.json", w->cfg->storage.runtime_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) == 0)
        rename(tmp, path);
    json_object_put(o);
}

/* ---- the main loop ------------------------------------------------------------------- */

static void main_loop(struct watch *w)
{
    uint64_t started = clock_monotonic_ms();
    uint64_t last_status = 0;
    const char *last_reason = NULL;

    while (!stop_signal) {
        uint64_t now = clock_monotonic_ms();
        pthread_mutex_lock(&w->lock);

        /* `ferry storage unfence` removed the flag: the host is back in service. */
        if (w->fencing && !watch_is_fenced(w->cfg, NULL, 0)) {
            w->fencing = w->fenced = false;
            w->step = FENCE_STEP_NONE;
            w->fence_requested = false;
            w->guests_done[0] = 0;
            watch_log("unfenced: this host takes work on the export again");
        }

        struct fence_facts f = {
            .now_ms = now,
            .started_ms = started,
            .last_renew_ok_ms = w->last_renew_ok_ms,
            .last_renew_attempt_ms = w->last_renew_attempt_ms,
            .renew_in_flight = w->renew_in_flight,
            .fenced = w->fenced,
            .fence_requested = w->fence_requested,
            .step = w->step,
            .step_started_ms = w->step_started_ms,
            .step_done = w->step_done,
        };
        struct fence_decision d = fence_policy_decide(&w->policy, &f);

        switch (d.kind) {
        case DECIDE_RENEW:
            if (!w->renew_in_flight) {
                w->renew_requested = true;
                pthread_cond_signal(&w->wake);
            }
            break;
        case DECIDE_START_FENCE: {
            char reason[600];
            if (w->fence_requested)
                snprintf(reason, sizeof(reason), "%s asked (request %s)", w->requested_by, w->request_id);
            else
                snprintf(reason, sizeof(reason), "no lease renewal for %.1f s (last error: %s)",
                         (now - (w->last_renew_ok_ms ? w->last_renew_ok_ms : started)) / 1000.0,
                         w->renew_error[0] ? w->renew_error : "none");
            watch_log("fencing this host: %s", reason);
            w->fencing = true;
            watch_set_fenced(w->cfg, reason);
            step_start(w, d.next_step, now);
            break;
        }
        case DECIDE_ESCALATE:
            watch_log("fencing: step %s did not finish within %.1f s; escalating", fence_step_name(w->step),
                      w->policy.step_timeout_ms / 1000.0);
            step_start(w, d.next_step, now);
            break;
        case DECIDE_ACK_REQUEST:
            watch_log("acknowledging fence request %s from %s", w->request_id, w->requested_by);
            text_copy(w->fence_ack, sizeof(w->fence_ack), w->request_id);
            w->fence_ack_written = false;
            w->fence_requested = false;
            if (!w->renew_in_flight) {
                w->renew_requested = true;
                pthread_cond_signal(&w->wake);
            }
            break;
        case DECIDE_FENCED_IDLE:
            if (!w->fenced) {
                w->fenced = true;
                w->step = FENCE_STEP_NONE;
                watch_log("fenced: %s", w->guests_done[0] ? w->guests_done : "no guest had to be stopped");
            }
            break;
        case DECIDE_WAIT:
            break;
        }
        if (d.reason != last_reason && d.kind != DECIDE_RENEW && d.kind != DECIDE_WAIT)
            log_debug("%s", d.reason);
        last_reason = d.reason;
        pthread_mutex_unlock(&w->lock);

        if (now - last_status >= STATUS_EVERY_MS) {
            write_status(w, now);
            last_status = now;
        }
        uint64_t until = d.next_check_ms > now ? d.next_check_ms - now : 0;
        if (until > 100)
            until = 100; /* facts change under us (renewals, steps): look again soon */
        if (until)
            usleep((useconds_t)until * 1000);
    }
}

int storage_watch_run(const struct ferry_config *cfg)
{
    struct watch w = { .cfg = cfg };
    char why[512], *error = NULL;
    pthread_t renewer;

    w.policy = fence_policy_from_config(&cfg->lease);
    if (fence_policy_check(&w.policy, why, sizeof(why)) < 0) {
        log_error("%s", why);
        return 1;
    }
    if (!cfg->storage.export_spec[0]) {
        log_error("no export to hold a lease on: set [storage] export in ferry.conf");
        return 1;
    }
    if (export_spec_parse(cfg->storage.export_spec, &w.spec, &error) < 0) {
        log_error("[storage] export: %s", error ? error : "invalid");
        free(error);
        return 1;
    }
    if (watch_host_name(w.host) < 0) {
        log_error("this host's name cannot name a lease file (letters, digits, '.', '_', '-')");
        return 1;
    }
    int r = host_id_load(cfg, w.host_id);
    if (r < 0) {
        log_error_errno(r, "cannot read or create %s/host-id: %m", cfg->storage.state_dir);
        return 1;
    }
    r = mkdir_parents(cfg->storage.runtime_dir);
    if (r < 0) {
        log_error_errno(r, "cannot create %s: %m", cfg->storage.runtime_dir);
        return 1;
    }

    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.wake, NULL);
    /* A host that was fenced stays fenced across restarts, and fencing that a crash cut
     * short is finished: the first step runs again (already-stopped guests are done). */
    char reason[512];
    if (watch_is_fenced(cfg, reason, sizeof(reason))) {
        watch_log("this host is fenced (%s); finishing the fencing before anything else", reason);
        w.fencing = true;
        step_start(&w, w.policy.fence_action == FENCE_ACTION_DESTROY ? FENCE_STEP_DESTROY : FENCE_STEP_SUSPEND,
                   clock_monotonic_ms());
    }

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char source[EXPORT_SPEC_FORMAT_SIZE], a[32], b[32], c[32];
    export_spec_format(&w.spec, source, sizeof(source));
    watch_log("host %s (%s) holds a lease on %s: renew every %s, fence after %s, others expire it after %s", w.host,
              w.host_id, source, config_format_duration(w.policy.renew_interval_ms, a, sizeof(a)),
              config_format_duration(w.policy.fence_after_ms, b, sizeof(b)),
              config_format_duration(w.policy.lease_timeout_ms, c, sizeof(c)));

    if (pthread_create(&renewer, NULL, renewer_main, &w) != 0) {
        log_error("cannot start the renewer thread");
        return 1;
    }
    main_loop(&w);

    /* A clean stop says so on the export: "released" is neither live nor expired. A fenced
     * host stays fenced in its record. */
    pthread_mutex_lock(&w.lock);
    while (w.renew_in_flight) {
        pthread_mutex_unlock(&w.lock);
        usleep(20000);
        pthread_mutex_lock(&w.lock);
    }
    w.releasing = true;
    uint64_t ok_before = w.renewals_ok + w.renewals_failed;
    w.renew_requested = true;
    pthread_cond_signal(&w.wake);
    while (w.renewals_ok + w.renewals_failed == ok_before) {
        pthread_mutex_unlock(&w.lock);
        usleep(20000);
        pthread_mutex_lock(&w.lock);
    }
    w.stop = true;
    pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.lock);
    /* The renewer finishes its attempt (bounded by renew_interval) and goes. */
    pthread_join(renewer, NULL);
    char path[4200];
    snprintf(path, sizeof(path), "%s/watch.json", cfg->storage.runtime_dir);
    unlink(path);
    watch_log("stopped (signal %d)", (int)stop_signal);
    return 0;
}
