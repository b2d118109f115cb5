/*
 * libvirt, for migrate: connections, facts, the sharing proof, and the live migration with
 * its monitor. Domain XML is read with XPath (libxml2), never by string search.
 */
#include "driver.h"
#include "driver_internal.h"

#include "bounded_io.h"
#include "cleanup.h"
#include "clock.h"
#include "log.h"
#include "mount_table.h"
#include "text.h"
#include "validate.h"
#include "watch.h"
#include "fence_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCAL_URI "qemu:///system"
#define MAGIC_READ 65536



static void quiet(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

const char *driver_libvirt_error(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown libvirt error";
}

/* ---- connecting ------------------------------------------------------------------- */

/* libvirt's connect has no timeout: an unreachable host holds it for minutes. Knock first. */
static int tcp_answers(const char *host, const char *port, unsigned timeout_ms, char *why, size_t size)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        snprintf(why, size, "%s does not resolve: %s", host, gai_strerror(r));
        return -EHOSTUNREACH;
    }
    int result = -ETIMEDOUT;
    for (struct addrinfo *a = res; a && result != 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            result = 0;
        } else if (errno == EINPROGRESS) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int err = 0;
            socklen_t len = sizeof(err);
            if (poll(&pfd, 1, (int)timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
                result = err ? -err : 0;
        } else {
            result = -errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (result < 0)
        snprintf(why, size, "%s port %s: %s", host, port,
                 result == -ETIMEDOUT ? "no answer within the probe timeout" : strerror(-result));
    return result;
}

/* The transport's port, from the URI's scheme (qemu+tcp://, qemu+tls://, qemu+ssh://). */
static const char *uri_port(const char *uri, char *scheme, size_t size)
{
    const char *plus = strchr(uri, '+');
    const char *colon = strstr(uri, "://");
    snprintf(scheme, size, "%.*s", plus && colon && plus < colon ? (int)(colon - plus - 1) : 0, plus ? plus + 1 : "");
    if (!strcmp(scheme, "tcp"))
        return "16509";
    if (!strcmp(scheme, "tls") || !scheme[0])
        return scheme[0] ? "16514" : NULL;
    if (!strcmp(scheme, "ssh"))
        return "22";
    return NULL;
}

static int auth_callback(virConnectCredentialPtr cred, unsigned int ncred, void *arg)
{
    struct driver *d = arg;
    d->auth_asked = true;
    /* Ask the operator as virsh would (a TTY), else fail. */
    return virConnectAuthPtrDefault->cb(cred, ncred, virConnectAuthPtrDefault->cbdata);
}

static xmlXPathObjectPtr xpath(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
    ctx->node = node;
    return xmlXPathEvalExpression(BAD_CAST expr, ctx);
}

/* The string value of expr (relative to node), into buf; "" when absent. */
static const char *xpath_string(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr, char *buf, size_t size)
{
    xmlXPathObjectPtr o = xpath(ctx, node, expr);
    buf[0] = 0;
    if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
        xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        if (v)
            text_copy(buf, size, (const char *)v);
        xmlFree(v);
    }
    xmlXPathFreeObject(o);
    return buf;
}

static void read_domain_basics(struct driver *d)
{
    xmlDocPtr doc = xmlReadMemory(d->xml, (int)strlen(d->xml), "domain.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        return;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xpath_string(ctx, root, "/domain/@type", d->virt_type, sizeof(d->virt_type));
    xpath_string(ctx, root, "/domain/os/type/@arch", d->arch, sizeof(d->arch));
    xpath_string(ctx, root, "/domain/os/type/@machine", d->machine, sizeof(d->machine));
    xpath_string(ctx, root, "/domain/devices/emulator", d->emulator, sizeof(d->emulator));
    xmlXPathObjectPtr cpu = xpath(ctx, root, "/domain/cpu");
    if (cpu && cpu->nodesetval && cpu->nodesetval->nodeNr > 0) {
        xmlBufferPtr buf = xmlBufferCreate();
        xmlNodeDump(buf, doc, cpu->nodesetval->nodeTab[0], 0, 0);
        d->cpu_xml = strdup((const char *)xmlBufferContent(buf));
        xmlBufferFree(buf);
    }
    xmlXPathFreeObject(cpu);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

int driver_open(const struct ferry_config *cfg, const char *domain, const char *host, struct driver **out,
                char **error)
{
    struct driver *d = calloc(1, sizeof(*d));
    *error = NULL;
    if (!d)
        return -ENOMEM;
    d->cfg = cfg;
    text_copy(d->host, sizeof(d->host), host);
    char *uri = config_migrate_uri(cfg, host);
    if (!uri) {
        free(d);
        return -ENOMEM;
    }
    text_copy(d->dest_uri, sizeof(d->dest_uri), uri);
    free(uri);

    virSetErrorFunc(NULL, quiet);
    d->src = virConnectOpen(LOCAL_URI);
    if (!d->src) {
        if (asprintf(error, "cannot connect to the local libvirt (%s): %s", LOCAL_URI, driver_libvirt_error()) < 0)
            *error = NULL;
        driver_close(d);
        return -ECONNREFUSED;
    }
    d->dom = virDomainLookupByName(d->src, domain);
    if (!d->dom)
        d->dom = virDomainLookupByUUIDString(d->src, domain);
    if (!d->dom) {
        if (asprintf(error, "no guest %s on this host (%s); 'virsh list --all' shows what there is", domain,
                     LOCAL_URI) < 0)
            *error = NULL;
        driver_close(d);
        return -ENOENT;
    }
    text_copy(d->name, sizeof(d->name), virDomainGetName(d->dom));
    d->xml = virDomainGetXMLDesc(d->dom, 0);
    if (!d->xml) {
        if (asprintf(error, "cannot read guest %s's definition: %s", d->name, driver_libvirt_error()) < 0)
            *error = NULL;
        driver_close(d);
        return -EIO;
    }
    read_domain_basics(d);

    char scheme[16], why[512];
    const char *port = uri_port(d->dest_uri, scheme, sizeof(scheme));
    if (port && tcp_answers(host, port, cfg->storage.probe_timeout_ms, why, sizeof(why)) < 0) {
        text_printf(d->dst_error, sizeof(d->dst_error), "libvirt at %s does not answer: %s", d->dest_uri, why);
    } else {
        int types[] = { VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE, VIR_CRED_NOECHOPROMPT, VIR_CRED_ECHOPROMPT };
        virConnectAuth auth = { types, ARRAY_SIZE(types), auth_callback, d };
        d->dst = virConnectOpenAuth(d->dest_uri, &auth, 0);
        if (!d->dst)
            text_printf(d->dst_error, sizeof(d->dst_error), "cannot connect to %s: %s", d->dest_uri, driver_libvirt_error());
    }
    *out = d;
    return 0;
}

void driver_close(struct driver *d)
{
    if (!d)
        return;
    if (d->dom)
        virDomainFree(d->dom);
    if (d->dst)
        virConnectClose(d->dst);
    if (d->src)
        virConnectClose(d->src);
    free(d->xml);
    free(d->cpu_xml);
    free(d);
}

const char *driver_dest_uri(const struct driver *d)
{
    return d->dest_uri;
}

const char *driver_domain_name(const struct driver *d)
{
    return d->name;
}

/* ---- facts -------------------------------------------------------------------------- */

static enum guest_state state_of(int s)
{
    switch (s) {
    case VIR_DOMAIN_RUNNING:
        return GUEST_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return GUEST_PAUSED;
    case VIR_DOMAIN_SHUTOFF:
        return GUEST_SHUTOFF;
    default:
        return GUEST_OTHER;
    }
}

int driver_domain_state(struct driver *d, bool on_destination, enum guest_state *state)
{
    virConnectPtr c = on_destination ? d->dst : d->src;
    if (!c)
        return -ENOTCONN;
    virDomainPtr dom = virDomainLookupByName(c, d->name);
    if (!dom)
        return -ENOENT;
    int s = 0, reason = 0;
    int r = virDomainGetState(dom, &s, &reason, 0) < 0 ? -EIO : 0;
    virDomainFree(dom);
    if (r == 0)
        *state = state_of(s);
    return r;
}

/* iso9660 says "CD001" at 0x8001; a FAT boot sector ends in 55 AA and names its type. */
static void config_drive_format(const char *path, char *format, size_t size, unsigned timeout_ms)
{
    _cleanup_free_ unsigned char *buf = malloc(MAGIC_READ);
    size_t len = 0;
    snprintf(format, size, "unknown");
    if (!buf || bounded_read_file(path, buf, MAGIC_READ, &len, timeout_ms) < 0)
        return;
    if (len >= 0x8006 && !memcmp(buf + 0x8001, "CD001", 5))
        snprintf(format, size, "iso9660");
    else if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xAA &&
             (!memcmp(buf + 0x36, "FAT", 3) || !memcmp(buf + 0x52, "FAT", 3)))
        snprintf(format, size, "vfat");
}

static void gather_disks(struct driver *d, xmlXPathContextPtr ctx, xmlNodePtr root, struct guest_facts *g)
{
    xmlXPathObjectPtr disks = xpath(ctx, root, "/domain/devices/disk[@type='file']");
    for (int i = 0; disks && disks->nodesetval && i < disks->nodesetval->nodeNr && g->n_disks < FACTS_MAX_DISKS;
         i++) {
        xmlNodePtr n = disks->nodesetval->nodeTab[i];
        struct disk_facts *k = &g->disks[g->n_disks];
        char ro[8];
        xpath_string(ctx, n, "source/@file", k->path, sizeof(k->path));
        if (!k->path[0])
            continue; /* an empty cdrom */
        xpath_string(ctx, n, "target/@dev", k->target, sizeof(k->target));
        xpath_string(ctx, n, "@device", k->device, sizeof(k->device));
        xpath_string(ctx, n, "driver/@type", k->format, sizeof(k->format));
        xpath_string(ctx, n, "backingStore/source/@file", k->backing, sizeof(k->backing));
        xpath_string(ctx, n, "backingStore/format/@type", k->backing_format, sizeof(k->backing_format));
        k->readonly = xpath_string(ctx, n, "count(readonly)", ro, sizeof(ro))[0] == '1';
        const char *base = strrchr(k->path, '/');
        k->is_config_drive = (base && !strcmp(base + 1, "disk.config")) || !strcmp(k->device, "cdrom");
        if (k->is_config_drive)
            config_drive_format(k->path, k->config_drive_format, sizeof(k->config_drive_format),
                                d->cfg->storage.probe_timeout_ms);
        virDomainBlockInfo info;
        if (virDomainGetBlockInfo(d->dom, k->target, &info, 0) == 0) {
            k->virtual_size = info.capacity;
            k->allocation = info.allocation;
        }
        struct stat st;
        if (k->backing[0] && stat(k->backing, &st) == 0)
            k->backing_allocation = (uint64_t)st.st_blocks * 512;
        g->n_disks++;
    }
    xmlXPathFreeObject(disks);
}

static void gather_guest(struct driver *d, struct guest_facts *g)
{
    virDomainInfo info;
    int s = 0, reason = 0;
    text_copy(g->name, sizeof(g->name), d->name);
    virDomainGetUUIDString(d->dom, g->uuid);
    if (virDomainGetState(d->dom, &s, &reason, 0) == 0)
        g->state = state_of(s);
    if (virDomainGetInfo(d->dom, &info) == 0)
        g->memory_bytes = (uint64_t)info.maxMem * 1024;

    xmlDocPtr doc = xmlReadMemory(d->xml, (int)strlen(d->xml), "domain.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        return;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xpath_string(ctx, root, "/domain/cpu/@mode", g->cpu_mode, sizeof(g->cpu_mode));
    gather_disks(d, ctx, root, g);
    xmlXPathObjectPtr nics = xpath(ctx, root, "/domain/devices/interface");
    for (int i = 0; nics && nics->nodesetval && i < nics->nodesetval->nodeNr && g->n_nics < FACTS_MAX_NICS; i++) {
        xmlNodePtr n = nics->nodesetval->nodeTab[i];
        struct nic_facts *c = &g->nics[g->n_nics++];
        xpath_string(ctx, n, "@type", c->type, sizeof(c->type));
        if (!strcmp(c->type, "network"))
            xpath_string(ctx, n, "source/@network", c->source, sizeof(c->source));
        else if (!strcmp(c->type, "bridge"))
            xpath_string(ctx, n, "source/@bridge", c->source, sizeof(c->source));
        else
            snprintf(c->type, sizeof(c->type), "other");
    }
    xmlXPathFreeObject(nics);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);

    /* Nova's layout: STORE/<uuid>/disk; the instance directory is the first disk's. */
    for (size_t i = 0; i < g->n_disks && !g->instance_dir[0]; i++) {
        char copy[FACTS_PATH_MAX];
        text_copy(copy, sizeof(copy), g->disks[i].path);
        text_copy(g->instance_dir, sizeof(g->instance_dir), dirname(copy));
    }
}

static void short_name(const char *host, char *out, size_t size)
{
    text_copy(out, size, host);
    out[strcspn(out, ".")] = 0;
}

static void gather_host(struct driver *d, virConnectPtr c, struct host_facts *h)
{
    unsigned long v = 0;
    h->connected = c != NULL;
    if (!c)
        return;
    char *name = virConnectGetHostname(c);
    if (name)
        text_copy(h->hostname, sizeof(h->hostname), name);
    free(name);
    if (virConnectGetLibVersion(c, &v) == 0)
        h->libvirt_version = v;
    if (virConnectGetVersion(c, &v) == 0)
        h->qemu_version = v;
    unsigned long long mem = virNodeGetFreeMemory(c);
    h->free_memory_bytes = mem;

    virNetworkPtr *nets = NULL;
    int n = virConnectListAllNetworks(c, &nets, VIR_CONNECT_LIST_NETWORKS_ACTIVE);
    for (int i = 0; i < n; i++) {
        if (h->n_networks < FACTS_MAX_NETS)
            text_copy(h->networks[h->n_networks++], FACTS_NAME_MAX, virNetworkGetName(nets[i]));
        virNetworkFree(nets[i]);
    }
    free(nets);
    virInterfacePtr *ifs = NULL;
    n = virConnectListAllInterfaces(c, &ifs, VIR_CONNECT_LIST_INTERFACES_ACTIVE);
    for (int i = 0; i < n; i++) {
        if (h->n_bridges < FACTS_MAX_NETS)
            text_copy(h->bridges[h->n_bridges++], FACTS_NAME_MAX, virInterfaceGetName(ifs[i]));
        virInterfaceFree(ifs[i]);
    }
    free(ifs);
    (void)d;
}

/* A transient directory pool on the destination over the instance store. */
virStoragePoolPtr driver_dest_pool(struct driver *d, const char *dir)
{
    char xml[FACTS_PATH_MAX + 256];
    snprintf(xml, sizeof(xml),
             "<pool type='dir'><name>ferry-%d-%u</name><target><path>%s</path></target></pool>", (int)getpid(),
             (unsigned)(clock_monotonic_us() & 0xffffff), dir);
    return d->dst ? virStoragePoolCreateXML(d->dst, xml, 0) : NULL;
}

static void gather_dest_space(struct driver *d, struct host_facts *h)
{
    virStoragePoolPtr pool = driver_dest_pool(d, d->cfg->storage.mount_point);
    virStoragePoolInfo info;
    if (pool && virStoragePoolGetInfo(pool, &info) == 0) {
        h->instance_dir_free_bytes = info.available;
        h->instance_dir_free_known = true;
    }
    if (pool) {
        virStoragePoolDestroy(pool);
        virStoragePoolFree(pool);
    }
}

static bool addresses_overlap(const char *a, const char *b)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ra = NULL, *rb = NULL;
    bool same = false;
    if (getaddrinfo(a, NULL, &hints, &ra) != 0)
        return false;
    if (getaddrinfo(b, NULL, &hints, &rb) == 0)
        for (struct addrinfo *x = ra; x && !same; x = x->ai_next)
            for (struct addrinfo *y = rb; y && !same; y = y->ai_next)
                same = x->ai_addrlen == y->ai_addrlen && !memcmp(x->ai_addr, y->ai_addr, x->ai_addrlen);
    freeaddrinfo(ra);
    if (rb)
        freeaddrinfo(rb);
    return same;
}

static void gather_hostname(struct migrate_facts *f, const char *host)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    const char *name = f->dst.hostname;
    if (!name[0]) {
        snprintf(f->hostname_detail, sizeof(f->hostname_detail), "the destination's name is unknown (not connected)");
        return;
    }
    f->hostname_resolves = getaddrinfo(name, NULL, &hints, &res) == 0;
    if (res)
        freeaddrinfo(res);
    f->hostname_matches = f->hostname_resolves && addresses_overlap(name, host);
    if (!f->hostname_resolves)
        snprintf(f->hostname_detail, sizeof(f->hostname_detail), "%s (the destination's own name) does not resolve here",
                 name);
    else if (!f->hostname_matches)
        snprintf(f->hostname_detail, sizeof(f->hostname_detail),
                 "%s (the destination's own name) resolves here to another address than %s", name, host);
    else
        f->hostname_detail[0] = 0;
}

static void gather_cpu(struct driver *d, struct migrate_facts *f)
{
    if (!d->dst) {
        f->cpu = CPU_UNKNOWN;
        snprintf(f->cpu_detail, sizeof(f->cpu_detail), "destination not connected");
        return;
    }
    int r;
    if (d->cpu_xml) {
        r = virConnectCompareHypervisorCPU(d->dst, d->emulator[0] ? d->emulator : NULL, d->arch[0] ? d->arch : NULL,
                                           d->machine[0] ? d->machine : NULL, d->virt_type[0] ? d->virt_type : NULL,
                                           d->cpu_xml, 0);
    } else {
        /* No CPU in the guest's definition: compare the source host's CPU model. */
        char *caps = virConnectGetCapabilities(d->src);
        r = caps ? virConnectCompareCPU(d->dst, caps, 0) : VIR_CPU_COMPARE_ERROR;
        free(caps);
    }
    switch (r) {
    case VIR_CPU_COMPARE_IDENTICAL:
        f->cpu = CPU_IDENTICAL;
        break;
    case VIR_CPU_COMPARE_SUPERSET:
        f->cpu = CPU_SUPERSET;
        break;
    case VIR_CPU_COMPARE_INCOMPATIBLE:
        f->cpu = CPU_INCOMPATIBLE;
        break;
    default:
        f->cpu = CPU_UNKNOWN;
        break;
    }
    snprintf(f->cpu_detail, sizeof(f->cpu_detail), "%s%s", r == VIR_CPU_COMPARE_ERROR ? "cannot compare: " : "",
             r == VIR_CPU_COMPARE_ERROR ? driver_libvirt_error() : d->cpu_xml ? "the guest's CPU against the destination's hypervisor"
                                                                  : "this host's CPU against the destination's");
}

static void gather_fenced(struct driver *d, struct migrate_facts *f)
{
    char reason[256], liveness[32] = "", state[32] = "", host[FACTS_NAME_MAX];
    f->src.fenced = watch_is_fenced(d->cfg, reason, sizeof(reason));
    if (f->src.fenced)
        snprintf(f->src.fenced_detail, sizeof(f->src.fenced_detail), "%s", reason);
    short_name(f->dst.hostname[0] ? f->dst.hostname : d->host, host, sizeof(host));
    if (watch_peer_status(d->cfg, host, liveness, sizeof(liveness), state, sizeof(state)) == 0 &&
        (!strcmp(liveness, "fenced") || !strcmp(state, "fenced"))) {
        f->dst.fenced = true;
        snprintf(f->dst.fenced_detail, sizeof(f->dst.fenced_detail), "its lease record on the export says fenced");
    }
}

int driver_gather(struct driver *d, struct migrate_facts *f)
{
    char me[FACTS_NAME_MAX] = "localhost";
    gethostname(me, sizeof(me));
    me[sizeof(me) - 1] = 0;
    text_copy(f->src.name, sizeof(f->src.name), me);
    text_copy(f->src.uri, sizeof(f->src.uri), LOCAL_URI);
    text_copy(f->dst.name, sizeof(f->dst.name), d->host);
    text_copy(f->dst.uri, sizeof(f->dst.uri), d->dest_uri);
    text_copy(f->dst.connect_error, sizeof(f->dst.connect_error), d->dst_error);
    gather_guest(d, &f->guest);
    gather_host(d, d->src, &f->src);
    gather_host(d, d->dst, &f->dst);
    if (d->dst)
        gather_dest_space(d, &f->dst);
    gather_hostname(f, d->host);
    gather_cpu(d, f);
    gather_fenced(d, f);
    char scheme[16];
    uri_port(d->dest_uri, scheme, sizeof(scheme));
    text_copy(f->uri_scheme, sizeof(f->uri_scheme), scheme);
    f->auth_none = d->dst && !strcmp(scheme, "tcp") && !d->auth_asked;
    f->same_host = f->dst.connected && f->src.hostname[0] && !strcasecmp(f->src.hostname, f->dst.hostname);
    f->version_match_minor = d->cfg->migrate.libvirt_version_match == VERSION_MATCH_MINOR;
    return 0;
}

/* ---- the sharing proof -------------------------------------------------------------- */

static void prove_source_healthy(struct driver *d, struct sharing_facts *s)
{
    struct validate_report report;
    char *error = NULL;
    if (storage_validate(d->cfg, NULL, &report, &error) < 0) {
        snprintf(s->source_detail, sizeof(s->source_detail), "validate could not run here: %s", error ? error : "?");
        free(error);
        return;
    }
    s->source_healthy = report.verdict != VERDICT_UNHEALTHY;
    size_t used = (size_t)snprintf(s->source_detail, sizeof(s->source_detail), "validate here: %s",
                                   verdict_name(report.verdict));
    for (size_t i = 0; i < report.n && used < sizeof(s->source_detail); i++)
        if (report.checks[i].status == CHECK_FAIL)
            used += (size_t)snprintf(s->source_detail + used, sizeof(s->source_detail) - used, "; %s: %s",
                                     report.checks[i].name, report.checks[i].detail);
}

static void prove_dest_lease(struct driver *d, struct migrate_facts *f)
{
    struct sharing_facts *s = &f->sharing;
    char host[FACTS_NAME_MAX], liveness[32] = "", state[32] = "";
    short_name(f->dst.hostname[0] ? f->dst.hostname : d->host, host, sizeof(host));
    if (watch_peer_status(d->cfg, host, liveness, sizeof(liveness), state, sizeof(state)) == 0) {
        s->dest_lease_live = !strcmp(liveness, "live");
        snprintf(s->dest_detail, sizeof(s->dest_detail), "%s's lease, as this host's watch daemon sees it: %s", host,
                 liveness);
        return;
    }
    /* No local daemon: watch the destination's counter ourselves for one renewal. */
    struct sampled_host hosts[MAX_SAMPLED_HOSTS];
    size_t n = 0;
    char *error = NULL;
    if (storage_sample_leases(d->cfg, d->cfg->lease.renew_interval_ms + 300, hosts, &n, &error) < 0) {
        snprintf(s->dest_detail, sizeof(s->dest_detail), "cannot read the leases: %s", error ? error : "?");
        free(error);
        return;
    }
    snprintf(s->dest_detail, sizeof(s->dest_detail), "%s holds no lease on the export (is its watch daemon running?)",
             host);
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(hosts[i].host, host)) {
            s->dest_lease_live = hosts[i].liveness == PEER_LIVE;
            snprintf(s->dest_detail, sizeof(s->dest_detail), "%s's lease, sampled: %s", host,
                     peer_liveness_name(hosts[i].liveness));
        }
}

/* A token made through the destination's libvirt must appear in this host's store. */
static void prove_token(struct driver *d, struct sharing_facts *s)
{
    const char *store = d->cfg->storage.mount_point;
    char name[64], content[FACTS_NAME_MAX + 64], path[FACTS_PATH_MAX + 64], xml[512];
    uint64_t nonce = clock_monotonic_us() ^ ((uint64_t)getpid() << 32);
    snprintf(name, sizeof(name), "ferry-token-%016llx", (unsigned long long)nonce);
    snprintf(content, sizeof(content), "ferry sharing token %016llx for %s\n", (unsigned long long)nonce, d->name);
    snprintf(path, sizeof(path), "%s/%s", store, name);
    s->token_tried = true;

    virStoragePoolPtr pool = driver_dest_pool(d, store);
    if (!pool) {
        snprintf(s->token_detail, sizeof(s->token_detail), "cannot open %s through the destination's libvirt: %s",
                 store, driver_libvirt_error());
        return;
    }
    snprintf(xml, sizeof(xml),
             "<volume><name>%s</name><capacity unit='bytes'>%zu</capacity><target><format type='raw'/>"
             "</target></volume>",
             name, strlen(content));
    virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);
    virStreamPtr st = vol ? virStreamNew(d->dst, 0) : NULL;
    bool written = st && virStorageVolUpload(vol, st, 0, strlen(content), 0) == 0 &&
                   virStreamSend(st, content, strlen(content)) == (int)strlen(content) && virStreamFinish(st) == 0;
    if (st)
        virStreamFree(st);
    if (!written) {
        snprintf(s->token_detail, sizeof(s->token_detail), "cannot write a token in %s on the destination: %s", store,
                 driver_libvirt_error());
    } else {
        char back[256];
        size_t len = 0;
        int r = bounded_read_file(path, back, sizeof(back), &len, d->cfg->storage.probe_timeout_ms);
        s->token_seen = r == 0 && len == strlen(content) && !memcmp(back, content, len);
        if (r == -ENOENT)
            snprintf(s->token_detail, sizeof(s->token_detail),
                     "a token written in %s through the destination's libvirt is not in this host's %s: the hosts do "
                     "not see the same directory",
                     store, store);
        else if (r < 0)
            snprintf(s->token_detail, sizeof(s->token_detail), "cannot read the token here: %s", strerror(-r));
        else
            snprintf(s->token_detail, sizeof(s->token_detail), "a token written on the destination %s here",
                     s->token_seen ? "reads back identical" : "reads back DIFFERENT");
    }
    if (vol) {
        virStorageVolDelete(vol, 0);
        virStorageVolFree(vol);
    }
    virStoragePoolDestroy(pool);
    virStoragePoolFree(pool);
}

void driver_prove_sharing(struct driver *d, struct migrate_facts *f)
{
    struct sharing_facts *s = &f->sharing;
    struct mount_entry e;
    if (mount_table_find(d->cfg->storage.mount_point, &e) == 0) {
        enum mount_kind kind = mount_entry_kind(&e);
        /* libvirt knows NFS as shared; ferry's FUSE bridge it does not. */
        s->fs_recognised_shared = kind == MOUNT_KIND_KERNEL_NFS;
        mount_entry_clear(&e);
    }
    prove_source_healthy(d, s);
    prove_dest_lease(d, f);
    if (!d->dst) {
        snprintf(s->token_detail, sizeof(s->token_detail), "no token: the destination's libvirt is not connected");
        return;
    }
    prove_token(d, s);
}

/* ---- live migration ----------------------------------------------------------------- */

struct monitor {
    struct driver *d;
    const struct live_options *o;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool done;
    bool timed_out;
    bool cancelled;
    unsigned downtime_ms;
};

static uint64_t param_u64(virTypedParameterPtr p, int n, const char *name)
{
    unsigned long long v = 0;
    virTypedParamsGetULLong(p, n, name, &v);
    return v;
}

/* Polls the job: reports progress, raises the allowed downtime step by step while memory
 * does not converge, and aborts on timeout or cancel. */
static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    const struct migrate_config *mc = &m->d->cfg->migrate;
    uint64_t start = clock_monotonic_ms();
    uint64_t last_iteration = 0, last_step = start;
    unsigned step = 0;
    for (;;) {
        /* Poll the job every 200 ms, but wake at once when the migration returns: a plain
         * sleep here cost every migration up to 200 ms after it had finished. */
        pthread_mutex_lock(&m->lock);
        if (!m->done) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&m->wake, &m->lock, &until);
        }
        bool done = m->done;
        pthread_mutex_unlock(&m->lock);
        if (done)
            break;
        uint64_t now = clock_monotonic_ms();
        if ((m->o->cancel && atomic_load(m->o->cancel)) || now - start >= mc->completion_timeout_ms) {
            bool post_copy = !(m->o->cancel && atomic_load(m->o->cancel)) && mc->allow_post_copy;
            if (post_copy && virDomainMigrateStartPostCopy(m->d->dom, 0) == 0) {
                log_warn("migration not finished after %llu s: switched to post-copy",
                         (unsigned long long)(now - start) / 1000);
                start = UINT64_MAX / 2; /* no second switch */
                continue;
            }
            pthread_mutex_lock(&m->lock);
            if (m->o->cancel && atomic_load(m->o->cancel))
                m->cancelled = true;
            else
                m->timed_out = true;
            pthread_mutex_unlock(&m->lock);
            virDomainAbortJob(m->d->dom);
            break;
        }
        int type = 0, n = 0;
        virTypedParameterPtr p = NULL;
        if (virDomainGetJobStats(m->d->dom, &type, &p, &n, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
            virTypedParamsFree(p, n);
            continue;
        }
        struct live_progress lp = {
            .elapsed_ms = now - start,
            .memory_total = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL),
            .memory_remaining = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING),
            .memory_processed = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED),
            .disk_total = param_u64(p, n, VIR_DOMAIN_JOB_DISK_TOTAL),
            .disk_remaining = param_u64(p, n, VIR_DOMAIN_JOB_DISK_REMAINING),
            .disk_processed = param_u64(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED),
            .bytes_per_second = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_BPS) + param_u64(p, n, VIR_DOMAIN_JOB_DISK_BPS),
            .iteration = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION),
        };
        virTypedParamsFree(p, n);
        lp.phase = lp.disk_remaining > 0 ? "disks" : lp.memory_total ? "memory" : "starting";
        /* Memory does not converge: allow more downtime, one step per second at most. */
        if (lp.iteration > last_iteration + 1 && now - last_step >= 1000 && step < mc->downtime_steps.n) {
            unsigned ms = mc->downtime_steps.ms[step++];
            if (virDomainMigrateSetMaxDowntime(m->d->dom, ms, 0) == 0) {
                pthread_mutex_lock(&m->lock);
                m->downtime_ms = ms;
                pthread_mutex_unlock(&m->lock);
            }
            last_step = now;
        }
        last_iteration = lp.iteration;
        pthread_mutex_lock(&m->lock);
        lp.downtime_ms = m->downtime_ms;
        pthread_mutex_unlock(&m->lock);
        if (m->o->progress)
            m->o->progress(&lp, m->o->progress_arg);
    }
    return NULL;
}

int driver_live_migrate(struct driver *d, const struct live_options *o, struct live_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!d->dst) {
        snprintf(res->error, sizeof(res->error), "%s", d->dst_error);
        return -ENOTCONN;
    }
    unsigned long flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
                          VIR_MIGRATE_ABORT_ON_ERROR;
    if (o->unsafe)
        flags |= VIR_MIGRATE_UNSAFE;
    if (o->copy_storage_inc)
        flags |= VIR_MIGRATE_NON_SHARED_INC;
    if (o->copy_storage_all)
        flags |= VIR_MIGRATE_NON_SHARED_DISK;
    if (d->cfg->migrate.allow_post_copy)
        flags |= VIR_MIGRATE_POSTCOPY;

    struct monitor m = { .d = d, .o = o };
    pthread_mutex_init(&m.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m.wake, &ca);
    pthread_condattr_destroy(&ca);
    if (d->cfg->migrate.downtime_steps.n > 0) {
        m.downtime_ms = d->cfg->migrate.downtime_steps.ms[0];
        virDomainMigrateSetMaxDowntime(d->dom, m.downtime_ms, 0);
    }
    pthread_t t;
    bool monitoring = pthread_create(&t, NULL, monitor_main, &m) == 0;

    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0;
    if (d->cfg->migrate.bandwidth_mib)
        virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH,
                                d->cfg->migrate.bandwidth_mib);
    uint64_t t0 = clock_monotonic_ms();
    int rc = virDomainMigrateToURI3(d->dom, d->dest_uri, params, nparams, flags);
    virTypedParamsFree(params, nparams);
    res->migrate_ms = clock_monotonic_ms() - t0;
    if (rc < 0) {
        const char *why = driver_libvirt_error();
        /* QEMU's words when the destination's QEMU cannot get a userfaultfd. */
        if (d->cfg->migrate.allow_post_copy && strstr(why, "Postcopy is not supported"))
            text_printf(res->error, sizeof(res->error),
                        "%s ([migrate] allow_post_copy needs userfaultfd for the destination's QEMU: with "
                        "QEMU 7.2 running unprivileged, sysctl vm.unprivileged_userfaultfd = 1 there; or set "
                        "allow_post_copy = false)",
                        why);
        else
            snprintf(res->error, sizeof(res->error), "%s", why);
    }

    pthread_mutex_lock(&m.lock);
    m.done = true;
    pthread_cond_signal(&m.wake);
    pthread_mutex_unlock(&m.lock);
    if (monitoring)
        pthread_join(t, NULL);
    pthread_mutex_destroy(&m.lock);
    pthread_cond_destroy(&m.wake);
    if (m.timed_out || m.cancelled) {
        res->aborted = true;
        if (rc < 0)
            snprintf(res->error, sizeof(res->error), "%s",
                     m.cancelled ? "cancelled by the operator; libvirt rolled the migration back"
                                 : "not finished within [migrate] completion_timeout; aborted");
    }
    if (rc < 0)
        return -EIO;

    /* The completed job's figures, then the source's definition goes (persistent there). */
    int type = 0, n = 0;
    virTypedParameterPtr p = NULL;
    if (virDomainGetJobStats(d->dom, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0) {
        res->downtime_ms = param_u64(p, n, VIR_DOMAIN_JOB_DOWNTIME);
        res->memory_bytes = param_u64(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
        res->disk_bytes = param_u64(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
    }
    virTypedParamsFree(p, n);
    if (virDomainUndefine(d->dom) < 0)
        log_warn("guest %s runs on %s, but its old definition here could not be removed: %s (virsh undefine %s)",
                 d->name, d->host, driver_libvirt_error(), d->name);
    return 0;
}
