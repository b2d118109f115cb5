/*
 * The destination through its libvirt: persistent directory pools under unique names
 * (built to make the directory, deleted to remove it, always undefined afterwards),
 * storage volumes for overlays and empty images, downloads for checksums, and the guest's
 * definition. Plus the source-side lifecycle calls cold migration needs.
 */
#include "dest.h"

#include "cleanup.h"
#include "clock.h"
#include "driver_internal.h"
#include "log.h"
#include "text.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

struct dest_dir {
    struct driver *d;
    virStoragePoolPtr pool;
    char path[FACTS_PATH_MAX];
};

static int set_error(char **error, const char *fmt, const char *a, const char *b)
{
    if (asprintf(error, fmt, a, b) < 0)
        *error = NULL;
    return -EIO;
}

/* Does path exist on the destination? Its parent's pool lists it (a dir pool lists its
 * subdirectories as volumes). 1 yes, 0 no, <0 cannot tell. */
static int dest_path_exists(struct driver *d, const char *path)
{
    char parent[FACTS_PATH_MAX], name[FACTS_NAME_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash || !slash[1])
        return -EINVAL;
    text_printf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    text_copy(name, sizeof(name), slash + 1);
    virStoragePoolPtr pool = driver_dest_pool(d, parent);
    if (!pool)
        return -EIO;
    virStorageVolPtr vol = virStorageVolLookupByName(pool, name);
    int r = vol ? 1 : 0;
    if (vol)
        virStorageVolFree(vol);
    virStoragePoolDestroy(pool);
    virStoragePoolFree(pool);
    return r;
}

int dest_dir_open(struct driver *d, const char *path, struct dest_dir **out, bool *created, char **error)
{
    char xml[FACTS_PATH_MAX + 256];
    *error = NULL;
    *created = false;
    if (!d->dst)
        return set_error(error, "%s%s", "the destination's libvirt is not connected", "");
    struct dest_dir *dir = calloc(1, sizeof(*dir));
    if (!dir)
        return -ENOMEM;
    dir->d = d;
    text_copy(dir->path, sizeof(dir->path), path);
    snprintf(xml, sizeof(xml), "<pool type='dir'><name>ferry-%d-%llx</name><target><path>%s</path>"
             "<permissions><mode>0755</mode></permissions></target></pool>",
             (int)getpid(), (unsigned long long)clock_monotonic_us(), path);
    /* Persistent while in use, so that a directory ferry made can be deleted with it. */
    dir->pool = virStoragePoolDefineXML(d->dst, xml, 0);
    if (!dir->pool) {
        free(dir);
        return set_error(error, "cannot use %s on the destination: %s", path, driver_libvirt_error());
    }
    /* Whether ferry makes the directory decides whether a rollback removes it. */
    int exists = dest_path_exists(d, path);
    if (exists == 0 && virStoragePoolBuild(dir->pool, 0) == 0)
        *created = true;
    log_debug("destination directory %s: %s", path, *created ? "made by ferry" : "was there");
    if (virStoragePoolCreate(dir->pool, 0) < 0) {
        char *msg = strdup(driver_libvirt_error());
        virStoragePoolUndefine(dir->pool);
        virStoragePoolFree(dir->pool);
        free(dir);
        int r = set_error(error, "cannot open %s on the destination: %s", path, msg ? msg : "?");
        free(msg);
        return r;
    }
    *out = dir;
    return 0;
}

void dest_dir_close(struct dest_dir *dir, bool remove)
{
    if (!dir)
        return;
    virStoragePoolDestroy(dir->pool);
    if (remove && virStoragePoolDelete(dir->pool, 0) < 0)
        log_warn("could not remove %s on the destination: %s", dir->path, driver_libvirt_error());
    virStoragePoolUndefine(dir->pool);
    virStoragePoolFree(dir->pool);
    free(dir);
}

static virStorageVolPtr lookup(struct dest_dir *dir, const char *name)
{
    virStoragePoolRefresh(dir->pool, 0);
    return virStorageVolLookupByName(dir->pool, name);
}

int dest_file_size(struct dest_dir *dir, const char *name, uint64_t *size)
{
    virStorageVolPtr vol = lookup(dir, name);
    virStorageVolInfo info;
    if (!vol)
        return -ENOENT;
    int r = virStorageVolGetInfo(vol, &info) == 0 ? 0 : -EIO;
    if (r == 0)
        *size = info.capacity;
    virStorageVolFree(vol);
    return r;
}

struct hash_sink {
    XXH3_state_t *state;
};

static int hash_chunk(virStreamPtr st, const char *data, size_t n, void *opaque)
{
    struct hash_sink *h = opaque;
    (void)st;
    XXH3_128bits_update(h->state, data, n);
    return (int)n;
}

int dest_file_checksum(struct dest_dir *dir, const char *name, char hex[33], char **error)
{
    *error = NULL;
    virStorageVolPtr vol = lookup(dir, name);
    if (!vol)
        return set_error(error, "no %s in %s on the destination", name, dir->path);
    struct hash_sink h = { .state = XXH3_createState() };
    virStreamPtr st = virStreamNew(dir->d->dst, 0);
    int r = -EIO;
    if (h.state && st && XXH3_128bits_reset(h.state) == XXH_OK && virStorageVolDownload(vol, st, 0, 0, 0) == 0 &&
        virStreamRecvAll(st, hash_chunk, &h) == 0 && virStreamFinish(st) == 0) {
        XXH128_hash_t v = XXH3_128bits_digest(h.state);
        snprintf(hex, 33, "%016llx%016llx", (unsigned long long)v.high64, (unsigned long long)v.low64);
        r = 0;
    } else {
        set_error(error, "cannot read %s on the destination: %s", name, driver_libvirt_error());
        if (st)
            virStreamAbort(st);
    }
    if (st)
        virStreamFree(st);
    XXH3_freeState(h.state);
    virStorageVolFree(vol);
    return r;
}

static int create_volume(struct dest_dir *dir, const char *name, const char *xml, char **error)
{
    *error = NULL;
    virStorageVolPtr vol = virStorageVolCreateXML(dir->pool, xml, 0);
    if (!vol)
        return set_error(error, "cannot create %s on the destination: %s", name, driver_libvirt_error());
    virStorageVolFree(vol);
    return 0;
}

int dest_create_overlay(struct dest_dir *dir, const char *name, uint64_t capacity, const char *backing,
                        const char *backing_format, char **error)
{
    char xml[2 * FACTS_PATH_MAX];
    snprintf(xml, sizeof(xml),
             "<volume><name>%s</name><capacity unit='bytes'>%llu</capacity><allocation>0</allocation>"
             "<target><format type='qcow2'/></target>"
             "<backingStore><path>%s</path><format type='%s'/></backingStore></volume>",
             name, (unsigned long long)capacity, backing, backing_format);
    return create_volume(dir, name, xml, error);
}

int dest_create_image(struct dest_dir *dir, const char *name, uint64_t capacity, const char *format, char **error)
{
    char xml[FACTS_PATH_MAX];
    snprintf(xml, sizeof(xml),
             "<volume><name>%s</name><capacity unit='bytes'>%llu</capacity><allocation>0</allocation>"
             "<target><format type='%s'/></target></volume>",
             name, (unsigned long long)capacity, format);
    return create_volume(dir, name, xml, error);
}

int dest_delete(struct dest_dir *dir, const char *name)
{
    virStorageVolPtr vol = lookup(dir, name);
    if (!vol)
        return -ENOENT;
    int r = virStorageVolDelete(vol, 0) == 0 ? 0 : -EIO;
    virStorageVolFree(vol);
    return r;
}

int dest_write_file(struct dest_dir *dir, const char *name, const void *data, size_t len, char **error)
{
    char xml[FACTS_PATH_MAX];
    *error = NULL;
    dest_delete(dir, name);
    snprintf(xml, sizeof(xml),
             "<volume><name>%s</name><capacity unit='bytes'>%zu</capacity><target><format type='raw'/>"
             "<permissions><mode>0644</mode></permissions></target></volume>",
             name, len);
    virStorageVolPtr vol = virStorageVolCreateXML(dir->pool, xml, 0);
    if (!vol)
        return set_error(error, "cannot create %s on the destination: %s", name, driver_libvirt_error());
    virStreamPtr st = virStreamNew(dir->d->dst, 0);
    bool ok = st && virStorageVolUpload(vol, st, 0, len, 0) == 0 && virStreamSend(st, data, len) == (int)len &&
              virStreamFinish(st) == 0;
    if (st)
        virStreamFree(st);
    virStorageVolFree(vol);
    return ok ? 0 : set_error(error, "cannot write %s on the destination: %s", name, driver_libvirt_error());
}

char *driver_migratable_xml(struct driver *d)
{
    return virDomainGetXMLDesc(d->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_MIGRATABLE | VIR_DOMAIN_XML_SECURE);
}

int driver_dest_define(struct driver *d, const char *xml, bool start, char **error)
{
    *error = NULL;
    virDomainPtr dom = d->dst ? virDomainDefineXML(d->dst, xml) : NULL;
    if (!dom)
        return set_error(error, "cannot define %s on the destination: %s", d->name, driver_libvirt_error());
    int r = 0;
    if (start && virDomainCreate(dom) < 0)
        r = set_error(error, "%s is defined on the destination but does not start: %s", d->name,
                      driver_libvirt_error());
    virDomainFree(dom);
    return r;
}

int driver_dest_remove(struct driver *d)
{
    virDomainPtr dom = d->dst ? virDomainLookupByName(d->dst, d->name) : NULL;
    if (!dom)
        return -ENOENT;
    if (virDomainIsActive(dom) == 1)
        virDomainDestroy(dom);
    int r = virDomainUndefine(dom) == 0 || virDomainIsPersistent(dom) == 0 ? 0 : -EIO;
    virDomainFree(dom);
    return r;
}

int driver_source_shutdown(struct driver *d, unsigned timeout_ms, bool allow_destroy, char **error)
{
    int state = 0, reason = 0;
    *error = NULL;
    if (virDomainGetState(d->dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_SHUTOFF)
        return 0;
    if (virDomainShutdown(d->dom) == 0) {
        uint64_t deadline = clock_monotonic_ms() + timeout_ms;
        while (clock_monotonic_ms() < deadline) {
            if (virDomainGetState(d->dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_SHUTOFF)
                return 0;
            usleep(200 * 1000);
        }
    }
    if (!allow_destroy) {
        char secs[32];
        snprintf(secs, sizeof(secs), "%u", timeout_ms / 1000);
        return set_error(error,
                         "guest %s did not shut down within %s s; shut it down yourself, or allow ferry to destroy it "
                         "([migrate] allow_destroy = true)",
                         d->name, secs);
    }
    log_warn("guest %s did not shut down in time: destroying it ([migrate] allow_destroy)", d->name);
    if (virDomainDestroy(d->dom) < 0)
        return set_error(error, "cannot destroy %s: %s", d->name, driver_libvirt_error());
    return 0;
}

int driver_source_start(struct driver *d, char **error)
{
    *error = NULL;
    if (virDomainIsActive(d->dom) == 1)
        return 0;
    if (virDomainCreate(d->dom) < 0)
        return set_error(error, "cannot start %s here again: %s", d->name, driver_libvirt_error());
    return 0;
}

int driver_source_undefine(struct driver *d, char **error)
{
    *error = NULL;
    if (virDomainUndefine(d->dom) < 0)
        return set_error(error, "cannot remove %s's definition here: %s", d->name, driver_libvirt_error());
    return 0;
}

int driver_reconnect_dest(struct driver *d, unsigned timeout_ms)
{
    uint64_t deadline = clock_monotonic_ms() + timeout_ms;
    unsigned long v;
    /* No event loop runs here, so a dead connection shows only when it is used: ask. */
    if (d->dst && virConnectGetLibVersion(d->dst, &v) == 0)
        return 0;
    while (clock_monotonic_ms() < deadline) {
        if (d->dst) {
            virConnectClose(d->dst);
            d->dst = NULL;
        }
        d->dst = virConnectOpen(d->dest_uri);
        if (d->dst)
            return 0;
        usleep(500 * 1000);
    }
    return -ENOTCONN;
}
