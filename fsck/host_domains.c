/*
 * Asking the local libvirt which guests it has. The conversation runs in a worker thread;
 * the caller waits for it at most a deadline. A worker still blocked in libvirt when the
 * deadline passes is left behind (detached), and whichever of the two lets go of the shared
 * state last frees it.
 */
#include "host_domains.h"

#include "clock.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct listing {
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    char *uri;
    int result;
    char error[512];
    struct domain_facts *domains;
    size_t n;
};

static void listing_unref(struct listing *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    free(l->uri);
    free(l->domains);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->done_cond);
    free(l);
}

static void quiet_errors(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

static const char *last_error(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown libvirt error";
}

static int list_domains(struct listing *l)
{
    virSetErrorFunc(NULL, quiet_errors);
    virConnectPtr conn = virConnectOpenReadOnly(l->uri);
    if (!conn) {
        snprintf(l->error, sizeof(l->error), "cannot connect to libvirt at %s: %s", l->uri, last_error());
        return -ECONNREFUSED;
    }
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0) {
        snprintf(l->error, sizeof(l->error), "cannot list the domains of %s: %s", l->uri, last_error());
        virConnectClose(conn);
        return -EIO;
    }
    l->domains = calloc(n ? (size_t)n : 1, sizeof(*l->domains));
    for (int i = 0; i < n; i++) {
        struct domain_facts *d = l->domains ? &l->domains[l->n] : NULL;
        virDomainInfo info;
        virDomainJobInfo job;
        if (d && virDomainGetUUIDString(doms[i], d->uuid) == 0) {
            const char *name = virDomainGetName(doms[i]);
            snprintf(d->name, sizeof(d->name), "%s", name ? name : "?");
            d->active = virDomainIsActive(doms[i]) == 1;
            if (virDomainGetInfo(doms[i], &info) == 0 && info.state == VIR_DOMAIN_SHUTOFF)
                d->active = false;
            d->job = d->active && virDomainGetJobInfo(doms[i], &job) == 0 && job.type != VIR_DOMAIN_JOB_NONE;
            l->n++;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    return l->domains ? 0 : -ENOMEM;
}

static void *worker(void *arg)
{
    struct listing *l = arg;
    int r = list_domains(l);
    pthread_mutex_lock(&l->lock);
    l->result = r;
    l->done = true;
    pthread_cond_signal(&l->done_cond);
    pthread_mutex_unlock(&l->lock);
    listing_unref(l);
    return NULL;
}

int host_domains_list(const char *uri, unsigned timeout_ms, struct domain_facts **domains, size_t *n, char **error)
{
    *domains = NULL;
    *n = 0;
    *error = NULL;
    struct listing *l = calloc(1, sizeof(*l));
    if (!l || !(l->uri = strdup(uri))) {
        free(l);
        return -ENOMEM;
    }
    atomic_init(&l->refs, 2);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->done_cond, NULL);

    pthread_t t;
    if (pthread_create(&t, NULL, worker, l) != 0) {
        atomic_store(&l->refs, 1);
        listing_unref(l);
        return -EAGAIN;
    }
    pthread_detach(t);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->lock);
    while (!l->done)
        if (pthread_cond_timedwait(&l->done_cond, &l->lock, &deadline) == ETIMEDOUT)
            break;
    int r;
    if (!l->done) {
        r = -ETIMEDOUT;
        if (asprintf(error, "libvirt at %s did not answer within %u ms", uri, timeout_ms) < 0)
            *error = NULL;
    } else {
        r = l->result;
        if (r < 0) {
            *error = strdup(l->error[0] ? l->error : "libvirt failed");
        } else {
            *domains = l->domains;
            *n = l->n;
            l->domains = NULL;
        }
    }
    pthread_mutex_unlock(&l->lock);
    listing_unref(l);
    return r;
}
