/*
 * libvirt://HOST/dir/file as a destination: a storage volume upload over HOST's libvirt (the
 * URI is [migrate] uri_template with HOST), so a copy needs no daemon or port beyond what
 * live migration uses. ferry makes a transient dir pool for the target directory (or uses an
 * active pool that already has that target), uploads with a sparse stream (holes travel as
 * holes), and destroys its pool at the end, also on failure: volumes stay as plain files.
 *
 * libvirt has no volume rename, so the data cannot be renamed into place: it is written in
 * place under NAME, and a small manifest volume NAME.ferry-partial.manifest, created before
 * the first byte and deleted after the last one (and after verification), marks NAME as
 * unfinished. A run that finds both resumes from NAME's size — the upload offset — after
 * checking that the source is the same; fsck treats NAME as a partial while the manifest is
 * there. (Uploading to NAME.ferry-partial and cloning it into NAME would need a second full
 * copy on the remote disk, and libvirt's clone writes under NAME while it runs anyway.)
 */
#include "stream_internal.h"

#include "cleanup.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Data goes out in stream messages of SEND_PIECE bytes: 256 KiB, libvirt's classic payload
 * size, measured fastest (1 GiB dense: 0.8 s; 1 MiB messages 1.6 s, 128 KiB 0.95 s). */
enum { SEND_PIECE = 256 << 10, CONNECT_TIMEOUT_MS = 10000 };

struct libvirt_endpoint {
    struct endpoint ep;
    char *uri;
    char dir[4096];
    char name[256];
    char manifest_name[300];
    virConnectPtr conn;
    virStoragePoolPtr pool;
    bool pool_ours;
    virStorageVolPtr vol;
    virStreamPtr stream;
    uint64_t pending_hole;
    bool manifest_exists; /* as far as this run knows */
};

#define LV_EP(e) ((struct libvirt_endpoint *)(e))

static const char *libvirt_words(void)
{
    const char *m = virGetLastErrorMessage();
    return m ? m : "unknown libvirt error";
}

static void quiet_errors(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

/* qemu+tcp:// and qemu+tls:// URIs: host and port, for a bounded reachability check. */
static bool uri_tcp_target(const char *uri, char *host, size_t hsize, char *port, size_t psize)
{
    const char *tcp = strstr(uri, "+tcp://"), *tls = strstr(uri, "+tls://");
    const char *p = tcp ? tcp + 7 : tls ? tls + 7 : NULL;
    if (!p)
        return false;
    const char *end = p + strcspn(p, "/?");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    const char *colon = *p == '[' ? strchr(p, ']') : p;
    colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
    const char *hend = colon ? colon : end;
    if (*p == '[' && hend > p + 1 && hend[-1] == ']')
        p++, hend--;
    if (hend <= p || (size_t)(hend - p) >= hsize)
        return false;
    memcpy(host, p, (size_t)(hend - p));
    host[hend - p] = 0;
    snprintf(port, psize, "%.*s", colon ? (int)(end - colon - 1) : 5, colon ? colon + 1 : tcp ? "16509" : "16514");
    return true;
}

/* Connecting to a host that is gone must not take the kernel's two minutes. */
static int check_reachable(struct endpoint *e, const char *uri)
{
    char host[256], port[16];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (!uri_tcp_target(uri, host, sizeof(host), port, sizeof(port)))
        return 0; /* ssh, unix: left to libvirt */
    int r = getaddrinfo(host, port, &hints, &ai);
    if (r != 0)
        return endpoint_fail(e, -EHOSTUNREACH, "%s %s: cannot resolve host %s: %s", e->role, e->label, host,
                             gai_strerror(r));
    int err = -EHOSTUNREACH;
    unsigned timeout = e->io_timeout_ms ? e->io_timeout_ms : CONNECT_TIMEOUT_MS;
    for (struct addrinfo *a = ai; a && err < 0; a = a->ai_next) {
        _cleanup_close_ int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            err = 0;
            break;
        }
        if (errno != EINPROGRESS) {
            err = -errno;
            continue;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n = poll(&pfd, 1, (int)timeout);
        int so = 0;
        socklen_t len = sizeof(so);
        if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len) == 0 && so == 0)
            err = 0;
        else
            err = n == 0 ? -ETIMEDOUT : -(so ? so : EHOSTUNREACH);
    }
    freeaddrinfo(ai);
    if (err < 0)
        return endpoint_fail(e, err, "%s %s: libvirt on %s does not answer at %s (%s); check that the host is up "
                                     "and libvirtd listens (see [migrate] uri_template)", e->role, e->label,
                             e->spec.host, uri, err == -ETIMEDOUT ? "no answer" : strerror(-err));
    return 0;
}

/* The target path of pool, from its XML. */
static char *pool_target(virStoragePoolPtr pool)
{
    _cleanup_free_ char *xml = virStoragePoolGetXMLDesc(pool, 0);
    char *path = NULL;
    if (!xml)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (!doc)
        return NULL;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr obj = ctx ? xmlXPathEvalExpression((const xmlChar *)"string(/pool/target/path)", ctx) : NULL;
    if (obj && obj->type == XPATH_STRING && obj->stringval && obj->stringval[0])
        path = strdup((const char *)obj->stringval);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return path;
}

/* An active pool whose target is dir already: libvirt refuses a second one. */
static virStoragePoolPtr find_pool(virConnectPtr conn, const char *dir)
{
    virStoragePoolPtr *pools = NULL, found = NULL;
    int n = virConnectListAllStoragePools(conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *target = found ? NULL : pool_target(pools[i]);
        if (target && !strcmp(target, dir))
            found = pools[i];
        else
            virStoragePoolFree(pools[i]);
    }
    free(pools);
    return found;
}

static int open_pool(struct endpoint *e)
{
    struct libvirt_endpoint *l = LV_EP(e);
    static atomic_uint counter;
    _cleanup_free_ char *xml = NULL;
    if (asprintf(&xml, "<pool type='dir'><name>ferry-%d-%u</name><target><path>%s</path></target></pool>",
                 (int)getpid(), atomic_fetch_add(&counter, 1), l->dir) < 0)
        return -ENOMEM;
    l->pool = virStoragePoolCreateXML(l->conn, xml, 0);
    if (l->pool) {
        l->pool_ours = true;
        return 0;
    }
    virErrorPtr err = virGetLastError();
    if (err && err->code == VIR_ERR_SYSTEM_ERROR && err->int1 == ENOENT)
        return endpoint_fail(e, -ENOENT, "destination directory %s does not exist on %s; create it first", l->dir,
                             e->spec.host);
    _cleanup_free_ char *words = strdup(libvirt_words());
    l->pool = find_pool(l->conn, l->dir);
    if (!l->pool)
        return endpoint_fail(e, -EIO, "cannot open directory %s on %s as a storage pool: %s", l->dir, e->spec.host,
                             words ? words : "?");
    if (virStoragePoolRefresh(l->pool, 0) < 0)
        return endpoint_fail(e, -EIO, "cannot refresh the storage pool of %s on %s: %s", l->dir, e->spec.host,
                             libvirt_words());
    return 0;
}

static int connect_host(struct endpoint *e)
{
    struct libvirt_endpoint *l = LV_EP(e);
    const char *slash = strrchr(e->spec.path, '/');
    snprintf(l->dir, sizeof(l->dir), "%.*s", slash == e->spec.path ? 1 : (int)(slash - e->spec.path), e->spec.path);
    snprintf(l->name, sizeof(l->name), "%s", slash + 1);
    snprintf(l->manifest_name, sizeof(l->manifest_name), "%s" STREAM_MANIFEST_SUFFIX, l->name);
    virSetErrorFunc(NULL, quiet_errors);
    l->uri = e->config ? config_migrate_uri(e->config, e->spec.host) : NULL;
    if (!l->uri && asprintf(&l->uri, "qemu+tcp://%s/system", e->spec.host) < 0)
        return -ENOMEM;
    int r = check_reachable(e, l->uri);
    if (r < 0)
        return r;
    l->conn = virConnectOpen(l->uri);
    if (!l->conn)
        return endpoint_fail(e, -EHOSTUNREACH, "%s %s: cannot connect to %s: %s", e->role, e->label, l->uri,
                             libvirt_words());
    return open_pool(e);
}

static virStorageVolPtr lookup(struct libvirt_endpoint *l, const char *name)
{
    return virStorageVolLookupByName(l->pool, name);
}

static int download_small(struct endpoint *e, virStorageVolPtr vol, char **text)
{
    struct libvirt_endpoint *l = LV_EP(e);
    virStreamPtr st = virStreamNew(l->conn, 0);
    size_t size = 65536, len = 0;
    char *buf = calloc(1, size + 1);
    int r = -EIO;
    if (!st || !buf)
        goto out;
    if (virStorageVolDownload(vol, st, 0, 0, 0) < 0)
        goto out;
    for (;;) {
        int n = virStreamRecv(st, buf + len, size - len);
        if (n < 0) {
            virStreamAbort(st);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == size) {
            virStreamAbort(st);
            r = -EFBIG;
            goto out;
        }
    }
    if (virStreamFinish(st) < 0)
        goto out;
    *text = buf;
    buf = NULL;
    r = 0;
out:
    if (st)
        virStreamFree(st);
    free(buf);
    return r;
}

static int lv_dest_probe(struct endpoint *e, struct dest_state *dst)
{
    struct libvirt_endpoint *l = LV_EP(e);
    int r = connect_host(e);
    if (r < 0)
        return r;
    virStorageVolPtr mvol = lookup(l, l->manifest_name);
    l->vol = lookup(l, l->name);
    l->manifest_exists = mvol != NULL;
    if (mvol) {
        r = download_small(e, mvol, &dst->manifest_text);
        virStorageVolFree(mvol);
        if (r < 0)
            return endpoint_fail(e, r, "cannot read %s/%s on %s: %s", l->dir, l->manifest_name, e->spec.host,
                                 libvirt_words());
    }
    if (l->vol) {
        virStorageVolInfo info;
        if (virStorageVolGetInfo(l->vol, &info) < 0)
            return endpoint_fail(e, -EIO, "cannot look at %s on %s: %s", e->spec.path, e->spec.host, libvirt_words());
        if (info.type == VIR_STORAGE_VOL_DIR)
            return endpoint_fail(e, -EISDIR, "destination %s is a directory; name the file to create", e->label);
        /* Our own unfinished copy, or someone's file. */
        dst->partial_exists = dst->manifest_text != NULL;
        dst->final_exists = dst->manifest_text == NULL;
        dst->partial_size = info.capacity; /* a raw file's size */
    }
    return 0;
}

static int create_volume(struct endpoint *e, const char *name, uint32_t mode, virStorageVolPtr *vol)
{
    struct libvirt_endpoint *l = LV_EP(e);
    _cleanup_free_ char *xml = NULL;
    if (asprintf(&xml,
                 "<volume><name>%s</name><capacity>0</capacity><allocation>0</allocation>"
                 "<target><format type='raw'/><permissions><mode>0%o</mode></permissions></target></volume>",
                 name, mode ? mode & 0777 : 0644) < 0)
        return -ENOMEM;
    *vol = virStorageVolCreateXML(l->pool, xml, 0);
    if (!*vol)
        return endpoint_fail(e, -EIO, "cannot create %s/%s on %s: %s", l->dir, name, e->spec.host, libvirt_words());
    return 0;
}

static int delete_volume(struct endpoint *e, const char *name)
{
    struct libvirt_endpoint *l = LV_EP(e);
    virStorageVolPtr vol = lookup(l, name);
    if (!vol)
        return 0;
    int r = virStorageVolDelete(vol, 0);
    virStorageVolFree(vol);
    if (r < 0)
        return endpoint_fail(e, -EIO, "cannot remove %s/%s on %s: %s", l->dir, name, e->spec.host, libvirt_words());
    return 0;
}

static int send_all(virStreamPtr st, const char *data, size_t len)
{
    while (len > 0) {
        int n = virStreamSend(st, data, len < SEND_PIECE ? len : SEND_PIECE);
        if (n < 0)
            return -EIO;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The manifest is replaced whole: an upload does not truncate. */
static int lv_write_manifest(struct endpoint *e, const char *text)
{
    struct libvirt_endpoint *l = LV_EP(e);
    virStorageVolPtr mvol = NULL;
    int r = l->manifest_exists ? delete_volume(e, l->manifest_name) : 0;
    if (r == 0)
        r = create_volume(e, l->manifest_name, 0644, &mvol);
    if (r < 0)
        return r;
    l->manifest_exists = true;
    virStreamPtr st = virStreamNew(l->conn, 0);
    r = st && virStorageVolUpload(mvol, st, 0, strlen(text), 0) == 0 && send_all(st, text, strlen(text)) == 0 &&
                virStreamFinish(st) == 0
            ? 0
            : -EIO;
    if (r < 0) {
        if (st)
            virStreamAbort(st);
        endpoint_fail(e, r, "cannot write %s/%s on %s: %s", l->dir, l->manifest_name, e->spec.host, libvirt_words());
    }
    if (st)
        virStreamFree(st);
    virStorageVolFree(mvol);
    return r;
}

static int lv_dest_start(struct endpoint *e, bool fresh, uint64_t offset, uint64_t size, uint32_t mode)
{
    struct libvirt_endpoint *l = LV_EP(e);
    int r;
    if (fresh) {
        if (l->vol) { /* --force: the old file goes now (libvirt cannot replace it later) */
            virStorageVolFree(l->vol);
            l->vol = NULL;
            if ((r = delete_volume(e, l->name)) < 0)
                return r;
        }
        if ((r = create_volume(e, l->name, mode, &l->vol)) < 0)
            return r;
    } else if (!l->vol) {
        return endpoint_fail(e, -ENOENT, "%s vanished on %s", e->spec.path, e->spec.host);
    }
    if (offset >= size)
        return 0; /* nothing (more) to send */
    l->stream = virStreamNew(l->conn, 0);
    if (!l->stream || virStorageVolUpload(l->vol, l->stream, offset, size - offset,
                                          VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0)
        return endpoint_fail(e, -EIO, "cannot upload to %s on %s: %s", e->spec.path, e->spec.host, libvirt_words());
    return 0;
}

static int flush_hole(struct endpoint *e)
{
    struct libvirt_endpoint *l = LV_EP(e);
    if (!l->pending_hole)
        return 0;
    if (virStreamSendHole(l->stream, (long long)l->pending_hole, 0) < 0)
        return endpoint_fail(e, -EIO, "uploading a hole to %s on %s: %s", e->spec.path, e->spec.host,
                             libvirt_words());
    l->pending_hole = 0;
    return 0;
}

static int lv_write_submit(struct endpoint *e, struct slot *slot)
{
    struct libvirt_endpoint *l = LV_EP(e);
    uint32_t pos = 0;
    for (unsigned i = 0; i < slot->nruns; i++) {
        const struct run *run = &slot->runs[i];
        l->pending_hole += run->start - pos;
        int r = flush_hole(e);
        if (r < 0)
            return r;
        if (send_all(l->stream, slot->buf + run->start, run->len) < 0)
            return endpoint_fail(e, -EIO, "uploading to %s on %s: %s", e->spec.path, e->spec.host, libvirt_words());
        pos = run->start + run->len;
    }
    l->pending_hole += slot->len - pos;
    return 0;
}

static int lv_write_wait(struct endpoint *e, struct slot *slot)
{
    (void)e;
    (void)slot;
    return 0;
}

static int lv_dest_finish(struct endpoint *e, uint64_t size, bool durable)
{
    struct libvirt_endpoint *l = LV_EP(e);
    (void)size;
    (void)durable; /* libvirt's upload closes the file without a flush; nothing to ask for */
    if (!l->stream)
        return 0;
    int r = flush_hole(e);
    if (r < 0)
        return r;
    r = virStreamFinish(l->stream);
    virStreamFree(l->stream);
    l->stream = NULL;
    if (r < 0)
        return endpoint_fail(e, -EIO, "finishing the upload to %s on %s: %s", e->spec.path, e->spec.host,
                             libvirt_words());
    return 0;
}

struct read_back {
    struct checksum *c;
    const atomic_bool *cancel;
};

static int recv_data(virStreamPtr st, const char *buf, size_t nbytes, void *opaque)
{
    struct read_back *rb = opaque;
    (void)st;
    if (rb->cancel && atomic_load(rb->cancel))
        return -1;
    checksum_update(rb->c, buf, nbytes);
    return (int)nbytes;
}

static int recv_hole(virStreamPtr st, long long length, void *opaque)
{
    struct read_back *rb = opaque;
    (void)st;
    checksum_update_zeros(rb->c, (uint64_t)length);
    return 0;
}

static int lv_dest_read_back(struct endpoint *e, uint64_t size, struct checksum *c, const atomic_bool *cancel)
{
    struct libvirt_endpoint *l = LV_EP(e);
    struct read_back rb = { .c = c, .cancel = cancel };
    if (size == 0)
        return 0;
    virStreamPtr st = virStreamNew(l->conn, 0);
    int r = st && virStorageVolDownload(l->vol, st, 0, size, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) == 0 &&
                    virStreamSparseRecvAll(st, recv_data, recv_hole, &rb) == 0 && virStreamFinish(st) == 0
                ? 0
                : -EIO;
    if (r < 0 && st)
        virStreamAbort(st);
    if (st)
        virStreamFree(st);
    if (r < 0 && cancel && atomic_load(cancel))
        return -ECANCELED;
    if (r < 0)
        return endpoint_fail(e, r, "cannot read back %s on %s: %s", e->spec.path, e->spec.host, libvirt_words());
    return 0;
}

static int lv_dest_commit(struct endpoint *e, bool replace)
{
    (void)replace;
    int r = delete_volume(e, LV_EP(e)->manifest_name);
    if (r == 0)
        LV_EP(e)->manifest_exists = false;
    return r;
}

static int lv_dest_discard(struct endpoint *e)
{
    struct libvirt_endpoint *l = LV_EP(e);
    if (l->stream) {
        virStreamAbort(l->stream);
        virStreamFree(l->stream);
        l->stream = NULL;
    }
    if (l->vol) {
        virStorageVolFree(l->vol);
        l->vol = NULL;
    }
    int r = delete_volume(e, l->name);
    if (r == 0)
        r = delete_volume(e, l->manifest_name);
    if (r == 0)
        l->manifest_exists = false;
    return r;
}

static void lv_close(struct endpoint *e)
{
    struct libvirt_endpoint *l = LV_EP(e);
    if (l->stream) {
        virStreamAbort(l->stream);
        virStreamFree(l->stream);
    }
    if (l->vol)
        virStorageVolFree(l->vol);
    if (l->pool) {
        if (l->pool_ours)
            virStoragePoolDestroy(l->pool); /* transient: gone; its files stay */
        virStoragePoolFree(l->pool);
    }
    if (l->conn)
        virConnectClose(l->conn);
    free(l->uri);
}

/* ---- as a source: the volume's bytes, downloaded a slot at a time as a sparse stream ---- */

static int lv_source_open(struct endpoint *e, struct source_info *info)
{
    struct libvirt_endpoint *l = LV_EP(e);
    int r = connect_host(e);
    if (r < 0)
        return r;
    l->vol = lookup(l, l->name);
    if (!l->vol)
        return endpoint_fail(e, -ENOENT, "source %s: no %s in %s on %s; check the path", e->label, l->name, l->dir,
                             e->spec.host);
    /* The file's own size (a qcow2 file's, not its virtual disk's): libvirt calls it physical. */
    virStorageVolInfo vi;
    if (virStorageVolGetInfoFlags(l->vol, &vi, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
        return endpoint_fail(e, -EIO, "source %s: cannot read its size: %s", e->label, libvirt_words());
    if (vi.type != VIR_STORAGE_VOL_FILE)
        return endpoint_fail(e, -EINVAL, "source %s is not a regular file", e->label);
    info->size = vi.allocation;
    info->mtime_ns = 0; /* not told: the manifest's size and first-chunk hash identify the source */
    info->mode = 0644;
    info->local_fd = -1;
    return 0;
}

/* Reads [offset, offset+len) into buf: data as it comes, holes as zeros (never sent). */
static int lv_read_submit(struct endpoint *e, struct slot *slot, uint64_t offset, char *buf, size_t len)
{
    struct libvirt_endpoint *l = LV_EP(e);
    virStreamPtr st = virStreamNew(l->conn, 0);
    size_t got = 0;
    int r = -EIO;
    if (st && virStorageVolDownload(l->vol, st, offset, len, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) == 0) {
        r = 0;
        while (got < len) {
            int n = virStreamRecvFlags(st, buf + got, len - got, VIR_STREAM_RECV_STOP_AT_HOLE);
            if (n > 0) {
                got += (size_t)n;
            } else if (n == -3) {
                long long hole = 0;
                if (virStreamRecvHole(st, &hole, 0) < 0 || hole < 0) {
                    r = -EIO;
                    break;
                }
                size_t take = (size_t)hole < len - got ? (size_t)hole : len - got;
                memset(buf + got, 0, take);
                got += take;
            } else {
                r = n == 0 ? -ENODATA : -EIO; /* ended early: the volume shrank under us */
                break;
            }
        }
        if (r == 0 && virStreamFinish(st) < 0)
            r = -EIO;
    }
    if (r < 0 && st)
        virStreamAbort(st);
    if (st)
        virStreamFree(st);
    (void)slot;
    if (r < 0)
        return endpoint_fail(e, r == -ENODATA ? -EIO : r, "cannot read %s at offset %llu on %s: %s", e->label,
                             (unsigned long long)offset, e->spec.host,
                             r == -ENODATA ? "it became shorter while it was copied" : libvirt_words());
    return 0;
}

/* Reads are synchronous: nothing is left to wait for. */
static int lv_read_wait(struct endpoint *e, struct slot *slot)
{
    (void)e;
    (void)slot;
    return 0;
}

static const struct endpoint_ops libvirt_ops = {
    .source_open = lv_source_open,
    .read_submit = lv_read_submit,
    .read_wait = lv_read_wait,
    .dest_probe = lv_dest_probe,
    .dest_start = lv_dest_start,
    .write_manifest = lv_write_manifest,
    .write_submit = lv_write_submit,
    .write_wait = lv_write_wait,
    .dest_finish = lv_dest_finish,
    .dest_read_back = lv_dest_read_back,
    .dest_commit = lv_dest_commit,
    .dest_discard = lv_dest_discard,
    .in_place = true,
    .close = lv_close,
};

int endpoint_libvirt_new(struct endpoint **ep)
{
    struct libvirt_endpoint *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->ep.ops = &libvirt_ops;
    *ep = &l->ep;
    return 0;
}
