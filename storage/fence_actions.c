/*
 * libvirt for fencing: list the guests that use the export, then suspend or destroy them
 * from worker threads, waiting for each at most a deadline. A worker that is still blocked
 * inside libvirt when the deadline passes is abandoned (detached); its state is freed by
 * whichever of the two — worker or waiter — lets go last.
 */
#include "fence_actions.h"

#include "cleanup.h"
#include "clock.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *fence_guest_action_name(enum fence_guest_action a)
{
    return a == FENCE_GUEST_SUSPEND ? "suspend" : "destroy";
}

static void quiet_libvirt_errors(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

static virConnectPtr connect_local(const char *uri)
{
    virSetErrorFunc(NULL, quiet_libvirt_errors);
    return virConnectOpen(uri);
}

static const char *last_libvirt_error(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown libvirt error";
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return !strncmp(path, dir, n) && path[n] == '/';
}

/* Does the domain XML name a disk source file under dir? */
static bool domain_uses_dir(const char *xml, const char *dir)
{
    bool found = false;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (!doc)
        return false;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr res = ctx ? xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk/source/@file", ctx) : NULL;
    for (int i = 0; res && res->nodesetval && i < res->nodesetval->nodeNr && !found; i++) {
        xmlChar *path = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
        found = path && under((const char *)path, dir);
        xmlFree(path);
    }
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return found;
}

int fence_guests_on(const char *uri, const char *dir, struct fence_guest **guests, size_t *n, char **error)
{
    virDomainPtr *domains = NULL;
    *guests = NULL;
    *n = 0;
    *error = NULL;
    virConnectPtr conn = connect_local(uri);
    if (!conn) {
        if (asprintf(error, "cannot connect to libvirt at %s: %s", uri, last_libvirt_error()) < 0)
            *error = NULL;
        return -ECONNREFUSED;
    }
    int count = virConnectListAllDomains(conn, &domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (count < 0) {
        if (asprintf(error, "cannot list guests at %s: %s", uri, last_libvirt_error()) < 0)
            *error = NULL;
        virConnectClose(conn);
        return -EIO;
    }
    struct fence_guest *list = calloc((size_t)count + 1, sizeof(*list));
    for (int i = 0; i < count; i++) {
        char *xml = list ? virDomainGetXMLDesc(domains[i], 0) : NULL;
        if (xml && domain_uses_dir(xml, dir)) {
            snprintf(list[*n].name, sizeof(list[*n].name), "%s", virDomainGetName(domains[i]));
            list[*n].outcome = FENCE_GUEST_PENDING;
            (*n)++;
        }
        free(xml);
        virDomainFree(domains[i]);
    }
    free(domains);
    virConnectClose(conn);
    if (!list)
        return -ENOMEM;
    *guests = list;
    return 0;
}

struct worker {
    atomic_int refs; /* the waiter and the worker */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
    char uri[512];
    char name[256];
    enum fence_guest_action action;
    enum fence_guest_outcome outcome;
    char error[256];
};

static void worker_put(struct worker *w)
{
    if (atomic_fetch_sub(&w->refs, 1) == 1) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
    }
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    enum fence_guest_outcome outcome = FENCE_GUEST_FAILED;
    char error[256] = "";
    virConnectPtr conn = connect_local(w->uri);
    virDomainPtr dom = conn ? virDomainLookupByName(conn, w->name) : NULL;
    if (!dom) {
        snprintf(error, sizeof(error), "%s", last_libvirt_error());
    } else if (w->action == FENCE_GUEST_SUSPEND) {
        int state = 0, reason = 0;
        if (virDomainGetState(dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED)
            outcome = FENCE_GUEST_DONE;
        else if (virDomainSuspend(dom) == 0)
            outcome = FENCE_GUEST_DONE;
        else
            snprintf(error, sizeof(error), "%s", last_libvirt_error());
    } else {
        if (virDomainDestroy(dom) == 0 || !virDomainIsActive(dom))
            outcome = FENCE_GUEST_DONE;
        else
            snprintf(error, sizeof(error), "%s", last_libvirt_error());
    }
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);

    pthread_mutex_lock(&w->lock);
    w->outcome = outcome;
    snprintf(w->error, sizeof(w->error), "%s", error);
    w->finished = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    worker_put(w);
    return NULL;
}

static struct worker *worker_start(const char *uri, const struct fence_guest *g, enum fence_guest_action action)
{
    struct worker *w = calloc(1, sizeof(*w));
    pthread_condattr_t attr;
    pthread_t thread;
    if (!w)
        return NULL;
    atomic_init(&w->refs, 2);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    snprintf(w->uri, sizeof(w->uri), "%s", uri);
    snprintf(w->name, sizeof(w->name), "%s", g->name);
    w->action = action;
    if (pthread_create(&thread, NULL, worker_run, w) != 0) {
        w->refs = 1;
        worker_put(w);
        return NULL;
    }
    pthread_detach(thread);
    return w;
}

/* Waits for w until deadline_ms; copies its outcome into g, then lets go of w. */
static void worker_collect(struct worker *w, struct fence_guest *g, uint64_t deadline_ms)
{
    struct timespec until = { .tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000 };
    pthread_mutex_lock(&w->lock);
    while (!w->finished && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
        ;
    if (w->finished) {
        g->outcome = w->outcome;
        snprintf(g->error, sizeof(g->error), "%s", w->error);
    } else {
        g->outcome = FENCE_GUEST_TIMED_OUT;
        snprintf(g->error, sizeof(g->error), "no answer from libvirt within the deadline");
    }
    pthread_mutex_unlock(&w->lock);
    worker_put(w);
}

size_t fence_guests_apply(const char *uri, struct fence_guest *guests, size_t n, enum fence_guest_action action,
                          unsigned timeout_ms)
{
    uint64_t deadline = clock_monotonic_ms() + timeout_ms;
    struct worker **workers = calloc(n ? n : 1, sizeof(*workers));
    size_t done = 0;
    if (!workers)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (guests[i].outcome != FENCE_GUEST_DONE) {
            workers[i] = worker_start(uri, &guests[i], action);
            if (!workers[i]) {
                guests[i].outcome = FENCE_GUEST_FAILED;
                snprintf(guests[i].error, sizeof(guests[i].error), "cannot start a thread");
            }
        }
    for (size_t i = 0; i < n; i++) {
        if (workers[i])
            worker_collect(workers[i], &guests[i], deadline);
        if (guests[i].outcome == FENCE_GUEST_DONE)
            done++;
    }
    free(workers);
    return done;
}
