/*
 * Fence requests and lease sampling through libnfs, from a host other than the one
 * concerned. Every read is bounded; a client that timed out is replaced on the next read.
 */
#include "fence_request.h"

#include "clock.h"
#include "export_spec.h"
#include "nfs_client.h"
#include "text.h"
#include "watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 250

static int connect_export(const struct ferry_config *cfg, struct nfs_client **c, char **error)
{
    struct export_spec spec;
    if (!cfg->storage.export_spec[0]) {
        *error = strdup("no export configured: set [storage] export in ferry.conf");
        return -EINVAL;
    }
    int r = export_spec_parse(cfg->storage.export_spec, &spec, error);
    if (r < 0)
        return r;
    return nfs_client_connect(&spec, clock_monotonic_ms() + cfg->storage.probe_timeout_ms, c, error);
}

/* Reads HOST's lease record; 0 and *rec on success, else why (if given) says what was wrong. */
static int read_lease(struct nfs_client *c, const char *host, struct lease_record *rec, uint64_t deadline,
                      char *why, size_t why_size)
{
    char path[EXPORT_SPEC_PATH_MAX], buf[LEASE_RECORD_MAX + 1], reason[256] = "";
    size_t len = 0;
    snprintf(path, sizeof(path), "/" LEASE_DIR "/%s", host);
    int r = nfs_client_read_file(c, path, buf, sizeof(buf) - 1, &len, deadline);
    if (r < 0) {
        if (why)
            snprintf(why, why_size, "unreadable: %s", strerror(-r));
        return r;
    }
    enum lease_decode_status st = lease_record_decode(buf, len, rec, reason, sizeof(reason));
    if (st != LEASE_DECODE_OK || strcmp(rec->host, host)) {
        if (why && st != LEASE_DECODE_OK)
            snprintf(why, why_size, "%s: %s", lease_decode_status_name(st), reason);
        else if (why)
            snprintf(why, why_size, "names host %s, not %s", rec->host, host);
        return -EBADMSG;
    }
    if (why)
        why[0] = 0;
    return 0;
}

int storage_fence_host(const struct ferry_config *cfg, const char *target, bool wait, struct fence_wait_result *res,
                       char **error)
{
    struct nfs_client *c = NULL;
    struct lease_record rec;
    char me[LEASE_HOST_MAX + 1] = "unknown";
    int r;

    *error = NULL;
    memset(res, 0, sizeof(*res));
    if (!lease_host_valid(target)) {
        if (asprintf(error, "'%s' is not a host name ferry knows (letters, digits, '.', '_', '-')", target) < 0)
            *error = NULL;
        return -EINVAL;
    }
    r = connect_export(cfg, &c, error);
    if (r < 0)
        return r;
    uint64_t deadline = clock_monotonic_ms() + cfg->storage.probe_timeout_ms;
    r = read_lease(c, target, &rec, deadline, NULL, 0);
    if (r == -ENOENT) {
        if (asprintf(error, "no host %s holds a lease on %s (is 'ferry storage watch' running there?)", target,
                     cfg->storage.export_spec) < 0)
            *error = NULL;
        nfs_client_free(c);
        return r;
    }

    watch_host_name(me);
    struct fence_request req = { .requested_at = time(NULL) };
    text_copy(req.target, sizeof(req.target), target);
    text_copy(req.requested_by, sizeof(req.requested_by), me);
    /* At most 40 + 1 + 20 + 1 + 4 characters: within the 64 a request id may have. */
    text_printf(res->request_id, sizeof(res->request_id), "%.40s-%lld-%04x", me, (long long)req.requested_at,
                (unsigned)(getpid() ^ clock_monotonic_us()) & 0xffff);
    text_copy(req.request_id, sizeof(req.request_id), res->request_id);

    char buf[LEASE_RECORD_MAX], path[EXPORT_SPEC_PATH_MAX];
    int len = fence_request_encode(&req, buf, sizeof(buf));
    snprintf(path, sizeof(path), "/" FENCE_DIR "/%s", target);
    r = len < 0 ? len : nfs_client_mkdir_p(c, "/" FENCE_DIR, 0755, deadline);
    if (r == 0)
        r = nfs_client_write_file(c, path, buf, (size_t)len, 0644, NFS_WRITE_REPLACE, deadline);
    if (r < 0) {
        if (asprintf(error, "cannot write the fence request for %s: %s", target, nfs_client_last_error(c)) < 0)
            *error = NULL;
        nfs_client_free(c);
        return r;
    }
    res->outcome = FENCE_REQUESTED;
    if (!wait) {
        nfs_client_free(c);
        return 0;
    }

    /* Watch the target's record by our own clock until it answers or its lease expires. */
    struct peer_observation obs = { 0 };
    uint64_t start = clock_monotonic_ms();
    uint64_t give_up = start + cfg->lease.fence_after_ms + cfg->lease.lease_timeout_ms + 10000;
    res->outcome = FENCE_WAIT_TIMED_OUT;
    while (clock_monotonic_ms() < give_up) {
        char *cerr = NULL;
        if (!c && connect_export(cfg, &c, &cerr) < 0)
            c = NULL;
        free(cerr);
        uint64_t t0 = clock_monotonic_ms();
        int rr = c ? read_lease(c, target, &rec, t0 + cfg->storage.probe_timeout_ms, NULL, 0) : -ENOTCONN;
        uint64_t t1 = clock_monotonic_ms();
        peer_observe(&obs, rr == 0 ? &rec : NULL, t0, t1);
        if (rr == 0) {
            res->state = rec.state;
            if (!strcmp(rec.fence_ack, res->request_id)) {
                res->outcome = FENCE_ACKNOWLEDGED;
                break;
            }
        } else if (rr == -ETIMEDOUT || rr == -ECONNRESET || rr == -ENOTCONN) {
            nfs_client_free(c);
            c = NULL;
        }
        if (peer_liveness(&obs, t1, cfg->lease.lease_timeout_ms) == PEER_EXPIRED) {
            res->outcome = FENCE_LEASE_EXPIRED;
            break;
        }
        usleep(POLL_MS * 1000);
    }
    res->waited_s = (clock_monotonic_ms() - start) / 1000.0;
    nfs_client_free(c);
    return 0;
}

int storage_fence_request_clear(const struct ferry_config *cfg, const char *host, char **error)
{
    struct nfs_client *c = NULL;
    char path[EXPORT_SPEC_PATH_MAX];
    *error = NULL;
    int r = connect_export(cfg, &c, error);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "/" FENCE_DIR "/%s", host);
    r = nfs_client_unlink(c, path, clock_monotonic_ms() + cfg->storage.probe_timeout_ms);
    if (r == -ENOENT)
        r = 0;
    if (r < 0 && asprintf(error, "cannot remove the fence request %s: %s", path, nfs_client_last_error(c)) < 0)
        *error = NULL;
    nfs_client_free(c);
    return r;
}

struct name_list {
    struct sampled_host *hosts;
    size_t n;
};

static int add_name(const char *name, void *arg)
{
    struct name_list *l = arg;
    if (l->n < MAX_SAMPLED_HOSTS && lease_host_valid(name) && !strstr(name, ".tmp-"))
        text_copy(l->hosts[l->n++].host, LEASE_HOST_MAX + 1, name);
    return 0;
}

int storage_sample_leases(const struct ferry_config *cfg, unsigned window_ms, struct sampled_host *hosts, size_t *n,
                          char **error)
{
    struct nfs_client *c = NULL;
    *error = NULL;
    *n = 0;
    int r = connect_export(cfg, &c, error);
    if (r < 0)
        return r;
    struct name_list list = { .hosts = hosts };
    memset(hosts, 0, sizeof(*hosts) * MAX_SAMPLED_HOSTS);
    r = nfs_client_list(c, "/" LEASE_DIR, add_name, &list, clock_monotonic_ms() + cfg->storage.probe_timeout_ms);
    if (r == -ENOENT)
        r = 0;
    for (int round = 0; r == 0 && round < 2; round++) {
        if (round == 1)
            usleep(window_ms * 1000);
        for (size_t i = 0; i < list.n; i++) {
            struct lease_record rec;
            uint64_t t0 = clock_monotonic_ms();
            int rr = read_lease(c, hosts[i].host, &rec, t0 + cfg->storage.probe_timeout_ms, hosts[i].record_problem,
                                sizeof(hosts[i].record_problem));
            peer_observe(&hosts[i].obs, rr == 0 ? &rec : NULL, t0, clock_monotonic_ms());
            hosts[i].readable = rr == 0;
            if (rr == -ETIMEDOUT || rr == -ECONNRESET) {
                r = rr;
                break;
            }
        }
    }
    if (r < 0 && asprintf(error, "cannot read the leases on %s: %s", cfg->storage.export_spec,
                          nfs_client_last_error(c)) < 0)
        *error = NULL;
    uint64_t now = clock_monotonic_ms();
    for (size_t i = 0; i < list.n; i++)
        hosts[i].liveness = peer_liveness(&hosts[i].obs, now, cfg->lease.lease_timeout_ms);
    *n = list.n;
    nfs_client_free(c);
    return r;
}
