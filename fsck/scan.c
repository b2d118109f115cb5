/*
 * The walk. The main thread lists the store's top level and _base, and sorts what it finds
 * into work items: instance directories and base images. Workers take items by an atomic
 * counter and write into the item's own slot, so they share nothing but the read-only
 * directory descriptors; the main thread then concatenates the slots in item order (the
 * facts come out the same whatever the number of workers), resolves backing files (adding
 * images that only a chain names), and gathers the facts that are not in the store: lease
 * liveness, the local libvirt, open files in /proc, the qemu user.
 */
#include "scan.h"

#include "cleanup.h"
#include "clock.h"
#include "host_domains.h"
#include "live_files.h"
#include "paths.h"
#include "text.h"
#include "validate.h"
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DISK_INFO_MAX (64u << 10)
#define LIBVIRT_XML_MAX (1u << 20)
#define MAX_CHAIN_IMAGES 10000 /* images found only through backing chains */

/* ---- opening without leaving the store -------------------------------------------------- */

static int open_beneath_walk(int dirfd, const char *rel, int flags)
{
    /* No openat2: walk component by component and refuse every symlink. */
    char buf[4096];
    if (strlen(rel) >= sizeof(buf))
        return -ENAMETOOLONG;
    strcpy(buf, rel);
    int fd = dup(dirfd);
    if (fd < 0)
        return -errno;
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        bool last = save == NULL || *save == 0;
        if (!strcmp(c, "..") || !strcmp(c, ".")) {
            close(fd);
            return -EXDEV;
        }
        int next = openat(fd, c, last ? (flags | O_NOFOLLOW | O_CLOEXEC) : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        int e = errno;
        close(fd);
        if (next < 0)
            return -e;
        fd = next;
    }
    return fd;
}

int open_beneath(int dirfd, const char *rel, int flags)
{
    struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd < 0 && errno == EPERM && (flags & O_NOATIME)) {
        how.flags &= ~(uint64_t)O_NOATIME; /* not the file's owner, no CAP_FOWNER */
        fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    }
    if (fd >= 0)
        return (int)fd;
    if (errno == ENOSYS) {
        int r = open_beneath_walk(dirfd, rel, flags);
        if (r == -EPERM && (flags & O_NOATIME))
            r = open_beneath_walk(dirfd, rel, flags & ~O_NOATIME);
        return r;
    }
    return -errno;
}

/* One component in an already-safe directory: never follows a final symlink. */
static int open_child(int dirfd, const char *name, int flags)
{
    int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Reads a small file (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
static int read_small(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
    _cleanup_close_ int fd = open_child(dirfd, name, O_RDONLY);
    if (fd < 0)
        return fd;
    char *buf = malloc(max + 2);
    if (!buf)
        return -ENOMEM;
    ssize_t n = pread_full(fd, buf, max + 1, 0);
    if (n < 0 || (size_t)n > max) {
        free(buf);
        return n < 0 ? (int)n : -EFBIG;
    }
    buf[n] = 0;
    *out = buf;
    *len = (size_t)n;
    return 0;
}

static void stat_to_facts(const struct stat *st, struct file_stat *fs)
{
    fs->ok = true;
    fs->err = 0;
    fs->size = (uint64_t)st->st_size;
    fs->mode = st->st_mode;
    fs->uid = st->st_uid;
    fs->gid = st->st_gid;
    fs->dev = st->st_dev;
    fs->ino = st->st_ino;
    fs->mtime = st->st_mtim.tv_sec;
}

/* ---- growing arrays ------------------------------------------------------------------------ */

static void *push(void *vp, size_t *n, size_t *cap, size_t size)
{
    void **v = vp;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void *nv = realloc(*v, c * size);
        if (!nv)
            abort(); /* facts for tens of thousands of files are a few MB: out of memory is fatal */
        *v = nv;
        *cap = c;
    }
    void *e = (char *)*v + (*n)++ * size;
    memset(e, 0, size);
    return e;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort();
    return s;
}

/* What one work item found; concatenated in item order afterwards. */
struct item_out {
    struct image_facts *images;
    size_t n_images, cap_images;
    struct leftover_facts *leftovers;
    size_t n_leftovers, cap_leftovers;
    struct symlink_facts *symlinks;
    size_t n_symlinks, cap_symlinks;
    struct scan_problem *problems;
    size_t n_problems, cap_problems;
};

static void add_problem(struct item_out *o, const char *rel, int err, const char *what)
{
    struct scan_problem *p = push(&o->problems, &o->n_problems, &o->cap_problems, sizeof(*p));
    p->rel = xstrdup(rel);
    p->err = err;
    p->what = xstrdup(what);
}

static void add_symlink(struct item_out *o, int dirfd, const char *name, const char *rel, const char *instance)
{
    char target[4096];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
    if (n < 0) {
        add_problem(o, rel, errno, "cannot read the symlink");
        return;
    }
    target[n] = 0;
    struct symlink_facts *s = push(&o->symlinks, &o->n_symlinks, &o->cap_symlinks, sizeof(*s));
    s->rel = xstrdup(rel);
    s->target = xstrdup(target);
    snprintf(s->instance, sizeof(s->instance), "%s", instance ? instance : "");
}

/* The newest mtime of a leftover: the entry itself and, for a directory, what it holds. */
static int64_t newest_mtime(int parent, const char *name, const struct stat *st)
{
    int64_t newest = st->st_mtim.tv_sec;
    if (!S_ISDIR(st->st_mode))
        return newest;
    int fd = open_child(parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return newest;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return newest;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat s;
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            fstatat(dirfd(d), e->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_mtim.tv_sec > newest)
            newest = s.st_mtim.tv_sec;
    }
    closedir(d);
    return newest;
}

static void add_leftover(struct item_out *o, int dirfd, const char *name, const char *rel, enum leftover_kind kind,
                         const char *instance, const struct stat *st)
{
    struct leftover_facts *l = push(&o->leftovers, &o->n_leftovers, &o->cap_leftovers, sizeof(*l));
    l->rel = xstrdup(rel);
    l->kind = kind;
    l->is_dir = S_ISDIR(st->st_mode);
    l->newest_mtime = newest_mtime(dirfd, name, st);
    snprintf(l->instance, sizeof(l->instance), "%s", instance ? instance : "");
}

/* ---- images ----------------------------------------------------------------------------------- */

/* Reads the facts of an open image file into im (rel, role, instance already set). */
static void image_read(int fd, struct image_facts *im)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        im->st.err = errno;
        return;
    }
    stat_to_facts(&st, &im->st);
    if (!S_ISREG(st.st_mode))
        return;
    static _Thread_local uint8_t buf[CONFIG_DRIVE_PROBE_BYTES];
    size_t want = im->role == IMAGE_CONFIG_DRIVE ? CONFIG_DRIVE_PROBE_BYTES : QCOW2_FIRST_READ;
    if ((uint64_t)want > im->st.size)
        want = (size_t)im->st.size;
    ssize_t n = pread_full(fd, buf, want, 0);
    if (n < 0) {
        im->read_errno = (int)-n;
        return;
    }
    snprintf(im->format, sizeof(im->format), "%s", image_format_detect(buf, (size_t)n));
    if (!strcmp(im->format, "qcow2")) {
        im->qcow2 = malloc(sizeof(*im->qcow2));
        if (!im->qcow2)
            abort();
        qcow2_parse(buf, (size_t)n, im->st.size, im->qcow2);
        if (im->qcow2->need > (size_t)n) {
            int r = qcow2_read_header(fd, im->st.size, im->qcow2);
            if (r < 0)
                im->read_errno = -r;
        }
    }
    if (im->role == IMAGE_CONFIG_DRIVE)
        im->config_drive = config_drive_detect(buf, (size_t)n);
}

static void scan_image(struct item_out *o, int dirfd, const char *name, const char *rel, enum image_role role,
                       size_t instance)
{
    struct image_facts *im = push(&o->images, &o->n_images, &o->cap_images, sizeof(*im));
    im->rel = xstrdup(rel);
    im->role = role;
    im->instance = instance;
    im->backing = FSCK_NO_INDEX;
    int fd = open_child(dirfd, name, O_RDONLY);
    if (fd < 0) {
        im->st.err = -fd;
        im->read_errno = -fd;
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            stat_to_facts(&st, &im->st);
        return;
    }
    image_read(fd, im);
    close(fd);
}

/* Which files of an instance directory are images, and of what kind. */
static bool image_role_of(const char *name, enum image_role *role)
{
    if (!strcmp(name, "disk.config")) {
        *role = IMAGE_CONFIG_DRIVE;
        return true;
    }
    if (!strcmp(name, "disk") || (!strncmp(name, "disk.", 5) && strcmp(name, "disk.info"))) {
        *role = IMAGE_DISK;
        return true;
    }
    if (!strncmp(name, "kernel", 6) || !strncmp(name, "ramdisk", 7)) {
        *role = IMAGE_BOOT_FILE;
        return true;
    }
    return false;
}

/* ---- disk.info and libvirt.xml ---------------------------------------------------------------- */

struct scan; /* below */
static const char *const *scan_roots(const struct scan *s, size_t *n);

static void decl_set(struct disk_decl *d, const char *path, const char *format, const char *uuid,
                     const char *const *roots, size_t n_roots)
{
    char rel[4096];
    d->path = xstrdup(path);
    snprintf(d->format, sizeof(d->format), "%s", format ? format : "");
    d->rel = path_map_instance_file(path, uuid, roots, n_roots, rel, sizeof(rel)) == 0 ? xstrdup(rel) : NULL;
    d->stat_errno = 0;
}

static void parse_disk_info(const struct scan *s, int dirfd, struct instance_facts *in)
{
    char *text = NULL;
    size_t len = 0, n_roots, cap = 0;
    const char *const *roots = scan_roots(s, &n_roots);
    in->has_disk_info = true;
    int r = read_small(dirfd, "disk.info", DISK_INFO_MAX, &text, &len);
    if (r < 0) {
        snprintf(in->disk_info_error, sizeof(in->disk_info_error), "cannot read disk.info: %s",
                 r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
        return;
    }
    enum json_tokener_error jerr;
    struct json_object *o = json_tokener_parse_verbose(text, &jerr);
    free(text);
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(in->disk_info_error, sizeof(in->disk_info_error), "disk.info is not a JSON object%s%s",
                 o ? "" : ": ", o ? "" : json_tokener_error_desc(jerr));
        json_object_put(o);
        return;
    }
    json_object_object_foreach(o, key, val)
    {
        const char *format = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
        if (!format || strlen(format) >= sizeof(in->disk_info[0].format)) {
            snprintf(in->disk_info_error, sizeof(in->disk_info_error),
                     "disk.info: the format of %.80s is not a format name", key);
            continue;
        }
        struct disk_decl *d = push(&in->disk_info, &in->n_disk_info, &cap, sizeof(*d));
        decl_set(d, key, format, in->uuid, roots, n_roots);
    }
    json_object_put(o);
}

static char *node_prop(xmlNodePtr node, const char *child, const char *attr)
{
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, child))
            continue;
        xmlChar *v = xmlGetProp(c, BAD_CAST attr);
        if (!v)
            continue;
        char *s = xstrdup((const char *)v);
        xmlFree(v);
        return s;
    }
    return NULL;
}

static void parse_libvirt_xml(const struct scan *s, int dirfd, struct instance_facts *in)
{
    char *text = NULL;
    size_t len = 0, n_roots, cap = 0;
    const char *const *roots = scan_roots(s, &n_roots);
    in->has_libvirt_xml = true;
    int r = read_small(dirfd, "libvirt.xml", LIBVIRT_XML_MAX, &text, &len);
    if (r < 0) {
        snprintf(in->libvirt_xml_error, sizeof(in->libvirt_xml_error), "cannot read libvirt.xml: %s",
                 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
        return;
    }
    xmlDocPtr doc = xmlReadMemory(text, (int)len, "libvirt.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(text);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || strcmp((const char *)root->name, "domain")) {
        snprintf(in->libvirt_xml_error, sizeof(in->libvirt_xml_error), "libvirt.xml is not a domain's XML%s",
                 doc ? "" : " (not well-formed)");
        xmlFreeDoc(doc);
        return;
    }
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr uuid = ctx ? xmlXPathEvalExpression(BAD_CAST "string(/domain/uuid)", ctx) : NULL;
    if (uuid && uuid->stringval && uuid->stringval[0] && strcmp((const char *)uuid->stringval, in->uuid))
        snprintf(in->libvirt_xml_error, sizeof(in->libvirt_xml_error), "libvirt.xml describes domain %.40s, not %s",
                 (const char *)uuid->stringval, in->uuid);
    xmlXPathFreeObject(uuid);
    xmlXPathObjectPtr disks = ctx ? xmlXPathEvalExpression(BAD_CAST "/domain/devices/disk", ctx) : NULL;
    for (int i = 0; disks && disks->nodesetval && i < disks->nodesetval->nodeNr; i++) {
        xmlNodePtr disk = disks->nodesetval->nodeTab[i];
        char *file = node_prop(disk, "source", "file");
        if (file) {
            char *format = node_prop(disk, "driver", "type");
            struct disk_decl *d = push(&in->xml_disks, &in->n_xml_disks, &cap, sizeof(*d));
            decl_set(d, file, format && strlen(format) < sizeof(d->format) ? format : "", in->uuid, roots, n_roots);
            free(format);
            free(file);
        }
    }
    xmlXPathFreeObject(disks);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

/* ---- the scan ---------------------------------------------------------------------------------- */

struct scan {
    const struct scan_options *o;
    struct store_facts *f;
    int rootfd, basefd, ownersfd;
    char **names; /* instances, then base images */
    size_t n_instances, n_bases;
    struct item_out *outs;
    atomic_size_t next;
};

static const char *const *scan_roots(const struct scan *s, size_t *n)
{
    *n = s->f->n_roots;
    return s->f->roots;
}

static void read_claims(struct scan *s, struct instance_facts *in, struct item_out *o)
{
    if (s->ownersfd < 0)
        return;
    int fd = open_beneath(s->ownersfd, in->uuid, O_RDONLY | O_DIRECTORY | O_NOATIME);
    if (fd < 0) {
        if (fd != -ENOENT) {
            char *rel = xasprintf(OWNER_DIR "/%s", in->uuid);
            add_problem(o, rel, -fd, "cannot list the owner records");
            free(rel);
        }
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and writers' ".<host>.tmp" files */
        struct owner_claim *c = push(&in->claims, &in->n_claims, &cap, sizeof(*c));
        if (!text_copy(c->host, sizeof(c->host), e->d_name) || !lease_host_valid(c->host)) {
            c->status = LEASE_DECODE_GARBAGE;
            snprintf(c->why, sizeof(c->why), "the file's name is not a host name");
            continue;
        }
        char *text = NULL;
        size_t len = 0;
        int r = read_small(dirfd(d), e->d_name, OWNER_RECORD_MAX, &text, &len);
        if (r < 0) {
            c->status = LEASE_DECODE_GARBAGE;
            snprintf(c->why, sizeof(c->why), "cannot read it: %s", r == -EFBIG ? "too large" : strerror(-r));
            continue;
        }
        c->status = owner_record_decode(text, len, &c->rec, c->why, sizeof(c->why));
        free(text);
        if (c->status != LEASE_DECODE_OK)
            continue;
        if (strcmp(c->rec.host, e->d_name) || strcmp(c->rec.instance, in->uuid)) {
            c->status = LEASE_DECODE_GARBAGE;
            snprintf(c->why, sizeof(c->why), "it says host %s, instance %s: not what its path says", c->rec.host,
                     c->rec.instance);
        }
    }
    closedir(d);
}

static void stat_decls(struct scan *s, struct disk_decl *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!d[i].rel)
            continue;
        int fd = open_beneath(s->rootfd, d[i].rel, O_PATH);
        d[i].stat_errno = fd < 0 ? -fd : 0;
        if (fd >= 0)
            close(fd);
    }
}

static void scan_instance(struct scan *s, size_t idx, struct item_out *o)
{
    struct instance_facts *in = &s->f->instances[idx];
    int fd = open_beneath(s->rootfd, in->uuid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);
    if (fd < 0) {
        in->list_errno = -fd;
        add_problem(o, in->uuid, -fd, "cannot open the instance directory");
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0)
        stat_to_facts(&st, &in->dir);
    DIR *d = fdopendir(fd);
    if (!d) {
        in->list_errno = errno;
        add_problem(o, in->uuid, errno, "cannot list the instance directory");
        close(fd);
        return;
    }
    struct dirent *e;
    char rel[FSCK_UUID_LEN + 300];
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", in->uuid, name);
        enum image_role role = IMAGE_DISK;
        bool image = image_role_of(name, &role);
        bool partial = path_is_partial(name);
        bool meta = !strcmp(name, "disk.info") || !strcmp(name, "libvirt.xml");
        if (!image && !partial && !meta && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
            continue; /* console.log and the like: nothing to check */
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            add_problem(o, rel, errno, "cannot stat");
            continue;
        }
        if (S_ISLNK(st.st_mode))
            add_symlink(o, dirfd(d), name, rel, in->uuid);
        else if (partial)
            add_leftover(o, dirfd(d), name, rel, LEFTOVER_PARTIAL, in->uuid, &st);
        else if (!strcmp(name, "disk.info") && S_ISREG(st.st_mode))
            parse_disk_info(s, dirfd(d), in);
        else if (!strcmp(name, "libvirt.xml") && S_ISREG(st.st_mode))
            parse_libvirt_xml(s, dirfd(d), in);
        else if (image && S_ISREG(st.st_mode))
            scan_image(o, dirfd(d), name, rel, role, idx);
    }
    closedir(d);
    stat_decls(s, in->disk_info, in->n_disk_info);
    stat_decls(s, in->xml_disks, in->n_xml_disks);
    read_claims(s, in, o);
}

static void *scan_worker(void *arg)
{
    struct scan *s = arg;
    size_t total = s->n_instances + s->n_bases;
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= total)
            return NULL;
        if (i < s->n_instances) {
            scan_instance(s, i, &s->outs[i]);
        } else {
            char rel[300];
            snprintf(rel, sizeof(rel), "_base/%s", s->names[i]);
            scan_image(&s->outs[i], s->basefd, s->names[i], rel, IMAGE_BASE, FSCK_NO_INDEX);
        }
    }
}

/* ---- listing the top level and _base ------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct name_list {
    char **v;
    size_t n, cap;
};

static void name_add(struct name_list *l, const char *name)
{
    char **slot = push(&l->v, &l->n, &l->cap, sizeof(char *));
    *slot = xstrdup(name);
}

/* d_type when the file system gives it, lstat otherwise. */
static int entry_stat(int dirfd, const struct dirent *e, struct stat *st, bool *have_stat)
{
    *have_stat = false;
    if (e->d_type != DT_UNKNOWN) {
        memset(st, 0, sizeof(*st));
        st->st_mode = DTTOIF(e->d_type);
        return 0;
    }
    if (fstatat(dirfd, e->d_name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    *have_stat = true;
    return 0;
}

/* A leftover needs its full stat (for its age). */
static int full_stat(int dirfd, const char *name, struct stat *st, bool have)
{
    return have || fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static bool leftover_name(const char *name, enum leftover_kind *kind, char uuid[FSCK_UUID_LEN + 1])
{
    size_t n = strlen(name);
    if (n == FSCK_UUID_LEN + 7 && !strcmp(name + FSCK_UUID_LEN, "_resize"))
        *kind = LEFTOVER_RESIZE;
    else if (n == FSCK_UUID_LEN + 4 && !strcmp(name + FSCK_UUID_LEN, "_del"))
        *kind = LEFTOVER_DELETED;
    else
        return false;
    memcpy(uuid, name, FSCK_UUID_LEN);
    uuid[FSCK_UUID_LEN] = 0;
    return path_is_uuid(uuid);
}

static int list_top(struct scan *s, struct item_out *top, struct name_list *instances, char **error)
{
    int fd = dup(s->rootfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        *error = xasprintf("cannot list the instance store %s: %s", s->f->root, strerror(e));
        return -e;
    }
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        struct stat st;
        bool have;
        enum leftover_kind kind;
        char uuid[FSCK_UUID_LEN + 1];
        if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, FERRY_AREA))
            continue;
        int sr = entry_stat(s->rootfd, e, &st, &have);
        if (sr < 0) {
            add_problem(top, name, -sr, "cannot stat");
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            bool owned = path_is_uuid(name) || leftover_name(name, &kind, uuid);
            if (path_is_uuid(name))
                text_copy(uuid, sizeof(uuid), name);
            add_symlink(top, s->rootfd, name, name, owned ? uuid : NULL);
        } else if (S_ISDIR(st.st_mode) && path_is_uuid(name)) {
            name_add(instances, name);
        } else if (leftover_name(name, &kind, uuid) || path_is_partial(name)) {
            if (full_stat(s->rootfd, name, &st, have) == 0)
                add_leftover(top, s->rootfd, name, name, path_is_partial(name) ? LEFTOVER_PARTIAL : kind,
                             path_is_partial(name) ? NULL : uuid, &st);
        }
        errno = 0;
    }
    int err = errno;
    closedir(d);
    if (err) {
        *error = xasprintf("cannot list the instance store %s: %s", s->f->root, strerror(err));
        return -err;
    }
    return 0;
}

static void list_base(struct scan *s, struct item_out *top, struct name_list *bases)
{
    int fd = open_beneath(s->rootfd, "_base", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME);
    if (fd < 0) {
        if (fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP)
            add_problem(top, "_base", -fd, "cannot open");
        return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0)
        stat_to_facts(&st, &s->f->base_dir_st);
    s->basefd = fd;
    int lfd = dup(fd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        add_problem(top, "_base", errno, "cannot list");
        if (lfd >= 0)
            close(lfd);
        return;
    }
    struct dirent *e;
    char rel[300];
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        bool have;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        snprintf(rel, sizeof(rel), "_base/%s", name);
        int sr = entry_stat(fd, e, &st, &have);
        if (sr < 0) {
            add_problem(top, rel, -sr, "cannot stat");
            continue;
        }
        if (S_ISLNK(st.st_mode))
            add_symlink(top, fd, name, rel, NULL);
        else if (path_is_partial(name)) {
            if (full_stat(fd, name, &st, have) == 0)
                add_leftover(top, fd, name, rel, LEFTOVER_PARTIAL, NULL, &st);
        } else if (S_ISREG(st.st_mode))
            name_add(bases, name);
    }
    closedir(d);
}

/* ---- after the walk: merge, resolve backing files ------------------------------------------------- */

#define APPEND(dst, n_dst, src, n_src)                                                         \
    do {                                                                                       \
        if (n_src) {                                                                           \
            void *nv_ = realloc(dst, ((n_dst) + (n_src)) * sizeof(*(dst)));                    \
            if (!nv_)                                                                          \
                abort();                                                                       \
            dst = nv_;                                                                         \
            memcpy((dst) + (n_dst), src, (n_src) * sizeof(*(dst)));                            \
            n_dst += n_src;                                                                    \
        }                                                                                      \
        free(src);                                                                             \
    } while (0)

static void merge(struct scan *s, struct item_out *top)
{
    struct store_facts *f = s->f;
    size_t total = s->n_instances + s->n_bases;
    for (size_t i = 0; i <= total; i++) {
        struct item_out *o = i < total ? &s->outs[i] : top;
        if (i < s->n_instances) {
            f->instances[i].first_image = f->n_images;
            f->instances[i].n_images = o->n_images;
        }
        APPEND(f->images, f->n_images, o->images, o->n_images);
        APPEND(f->leftovers, f->n_leftovers, o->leftovers, o->n_leftovers);
        APPEND(f->symlinks, f->n_symlinks, o->symlinks, o->n_symlinks);
        APPEND(f->problems, f->n_problems, o->problems, o->n_problems);
    }
}

static size_t find_by_inode(const struct store_facts *f, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < f->n_images; i++)
        if (f->images[i].st.ok && f->images[i].st.dev == dev && f->images[i].st.ino == ino)
            return i;
    return FSCK_NO_INDEX;
}

/* Follows each backing file name into the store: found among the images, or opened (and
 * added) beneath the store's root, or the reason it cannot be. */
static void resolve_backing(struct scan *s)
{
    struct store_facts *f = s->f;
    size_t indexed = f->n_images, cap = f->n_images, added = 0;
    char rel[4096];
    for (size_t i = 0; i < f->n_images; i++) {
        struct image_facts *im = &f->images[i];
        if (!im->qcow2 || im->qcow2->status != QCOW2_VALID || !im->qcow2->has_backing)
            continue;
        im->backing_class = backing_classify(im->qcow2->backing_name, im->rel, f->roots, f->n_roots, rel, sizeof(rel));
        if (im->backing_class != BACKING_IN_STORE)
            continue;
        im->backing_rel = xstrdup(rel);
        size_t idx = store_find_image(f, rel);
        for (size_t k = indexed; idx == FSCK_NO_INDEX && k < f->n_images; k++)
            if (!strcmp(f->images[k].rel, rel))
                idx = k;
        if (idx != FSCK_NO_INDEX) {
            im->backing = idx;
            continue;
        }
        int fd = rel[0] ? open_beneath(s->rootfd, rel, O_RDONLY | O_NOATIME) : -EISDIR;
        if (fd < 0) {
            im->backing_errno = -fd;
            continue;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            im->backing_errno = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
            close(fd);
            continue;
        }
        idx = find_by_inode(f, st.st_dev, st.st_ino);
        if (idx != FSCK_NO_INDEX || added >= MAX_CHAIN_IMAGES) {
            im->backing = idx;
            im->backing_errno = idx == FSCK_NO_INDEX ? EMLINK : 0;
            close(fd);
            continue;
        }
        /* Named only by a chain: read it too. (im may move: use indexes from here.) */
        size_t n = f->n_images;
        struct image_facts *chain = push(&f->images, &f->n_images, &cap, sizeof(*chain));
        chain->rel = xstrdup(rel);
        chain->role = IMAGE_CHAIN;
        chain->instance = FSCK_NO_INDEX;
        chain->backing = FSCK_NO_INDEX;
        image_read(fd, chain);
        close(fd);
        f->images[i].backing = n;
        added++;
    }
}

/* ---- facts from outside the store -------------------------------------------------------------------- */

static struct host_lease *lease_slot(struct store_facts *f, const char *host, size_t *cap)
{
    for (size_t i = 0; i < f->n_leases; i++)
        if (!strcmp(f->leases[i].host, host))
            return &f->leases[i];
    struct host_lease *h = push(&f->leases, &f->n_leases, cap, sizeof(*h));
    text_copy(h->host, sizeof(h->host), host);
    return h;
}

/* Reads every lease record once; called at the start and at the end of the run, so that a
 * long run can see a counter that does not move. */
static void read_leases(struct scan *s, size_t *cap)
{
    int fd = open_beneath(s->rootfd, LEASE_DIR, O_RDONLY | O_DIRECTORY | O_NOATIME);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!lease_host_valid(e->d_name))
            continue;
        struct host_lease *h = lease_slot(s->f, e->d_name, cap);
        s->f->leases_in_use = true;
        char *text = NULL;
        size_t len = 0;
        struct lease_record rec;
        uint64_t t0 = clock_monotonic_ms();
        bool ok = read_small(dirfd(d), e->d_name, LEASE_RECORD_MAX, &text, &len) == 0 &&
                  lease_record_decode(text, len, &rec, NULL, 0) == LEASE_DECODE_OK;
        free(text);
        peer_observe(&h->obs, ok ? &rec : NULL, t0, clock_monotonic_ms());
        h->readable = ok;
        if (ok)
            h->state = rec.state;
    }
    closedir(d);
}

/* The local watch daemon observes the other hosts all the time: its judgement of a lease
 * that has not moved for lease_timeout is better than anything one fsck run can see. */
static void read_watch_status(struct scan *s)
{
    if (!s->o->runtime_dir)
        return;
    char path[4200];
    snprintf(path, sizeof(path), "%s/watch.json", s->o->runtime_dir);
    struct json_object *o = json_object_from_file(path), *pid, *peers;
    if (!o)
        return;
    if (json_object_object_get_ex(o, "pid", &pid) && kill((pid_t)json_object_get_int64(pid), 0) == 0 &&
        json_object_object_get_ex(o, "peers", &peers) && json_object_is_type(peers, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
            struct json_object *p = json_object_array_get_idx(peers, i), *host, *liveness;
            if (!json_object_object_get_ex(p, "host", &host) || !json_object_object_get_ex(p, "liveness", &liveness))
                continue;
            for (size_t k = 0; k < s->f->n_leases; k++)
                if (!strcmp(s->f->leases[k].host, json_object_get_string(host)))
                    snprintf(s->f->leases[k].watch_liveness, sizeof(s->f->leases[k].watch_liveness), "%s",
                             json_object_get_string(liveness));
        }
    }
    json_object_put(o);
}

static void find_qemu_user(struct store_facts *f, const char *wanted)
{
    static const char *const names[] = { "libvirt-qemu", "qemu" };
    struct passwd pw, *res = NULL;
    char buf[4096];
    for (size_t i = 0; !res && i < (wanted ? 1 : ARRAY_SIZE(names)); i++)
        getpwnam_r(wanted ? wanted : names[i], &pw, buf, sizeof(buf), &res);
    if (!res) {
        store_note(f, "no qemu user (%s) on this host: bad-permissions was not checked",
                   wanted ? wanted : "libvirt-qemu or qemu");
        return;
    }
    gid_t groups[FSCK_MAX_QEMU_GROUPS];
    int n = FSCK_MAX_QEMU_GROUPS;
    if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0)
        n = FSCK_MAX_QEMU_GROUPS;
    f->qemu_user_known = true;
    snprintf(f->qemu_user, sizeof(f->qemu_user), "%s", res->pw_name);
    f->qemu_uid = res->pw_uid;
    f->n_qemu_gids = 0;
    f->qemu_gids[f->n_qemu_gids++] = res->pw_gid;
    for (int i = 0; i < n && f->n_qemu_gids < FSCK_MAX_QEMU_GROUPS; i++)
        if (groups[i] != res->pw_gid)
            f->qemu_gids[f->n_qemu_gids++] = groups[i];
}

static unsigned cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int store_scan(const struct scan_options *o, struct store_facts *f, char **error)
{
    struct scan s = { .o = o, .f = f, .rootfd = -1, .basefd = -1, .ownersfd = -1 };
    struct item_out top = { 0 };
    struct name_list instances = { 0 }, bases = { 0 };
    size_t lease_cap = 0;
    int r = 0;
    *error = NULL;

    f->root = xstrdup(o->root);
    f->roots[f->n_roots++] = f->root;
    if (o->mount_point && o->mount_point[0] == '/' && strcmp(o->mount_point, o->root))
        f->roots[f->n_roots++] = o->mount_point;
    if (watch_host_name(f->local_host) < 0)
        f->local_host[0] = 0;

    s.rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
    if (s.rootfd < 0 && errno == EPERM)
        s.rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s.rootfd < 0) {
        r = -errno;
        *error = xasprintf("cannot open the instance store %s: %s", o->root, strerror(errno));
        return r;
    }
    struct stat st;
    if (fstat(s.rootfd, &st) == 0)
        stat_to_facts(&st, &f->root_st);

    read_leases(&s, &lease_cap);
    int ofd = open_beneath(s.rootfd, OWNER_DIR, O_RDONLY | O_DIRECTORY | O_NOATIME);
    f->owners_in_use = ofd >= 0;
    s.ownersfd = ofd >= 0 ? ofd : -1;

    if (!o->libvirt_uri)
        store_note(f, "libvirt not asked: running guests are known from /proc and owner records only");
    if (o->libvirt_uri) {
        char *why = NULL;
        if (host_domains_list(o->libvirt_uri, o->libvirt_timeout_ms, &f->domains, &f->n_domains, &why) == 0)
            f->libvirt_checked = true;
        else
            store_note(f, "%s: running guests are known from /proc and owner records only", why ? why : "libvirt");
        free(why);
    }

    r = list_top(&s, &top, &instances, error);
    if (r < 0)
        goto out;
    list_base(&s, &top, &bases);
    qsort(instances.v, instances.n, sizeof(char *), name_cmp);
    qsort(bases.v, bases.n, sizeof(char *), name_cmp);

    /* Work items: instances, then base images; one output slot each. */
    s.n_instances = instances.n;
    s.n_bases = bases.n;
    size_t total = instances.n + bases.n;
    s.names = calloc(total ? total : 1, sizeof(char *));
    s.outs = calloc(total ? total : 1, sizeof(struct item_out));
    f->instances = calloc(instances.n ? instances.n : 1, sizeof(*f->instances));
    if (!s.names || !s.outs || !f->instances)
        abort();
    f->n_instances = instances.n;
    for (size_t i = 0; i < instances.n; i++) {
        s.names[i] = instances.v[i];
        snprintf(f->instances[i].uuid, sizeof(f->instances[i].uuid), "%s", instances.v[i]);
    }
    for (size_t i = 0; i < bases.n; i++)
        s.names[instances.n + i] = bases.v[i];

    xmlInitParser();
    unsigned jobs = o->jobs ? o->jobs : cpus();
    if (jobs > total)
        jobs = total ? (unsigned)total : 1;
    pthread_t threads[256];
    unsigned started = 0;
    atomic_init(&s.next, 0);
    for (unsigned i = 1; i < jobs && i < ARRAY_SIZE(threads); i++)
        if (pthread_create(&threads[started], NULL, scan_worker, &s) == 0)
            started++;
    scan_worker(&s); /* the main thread works too */
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);

    merge(&s, &top);
    if (store_facts_index(f) < 0)
        abort();
    resolve_backing(&s);

    if (live_files_collect(f->roots, f->n_roots, &f->held, &f->n_held) == 0)
        f->proc_checked = true;
    else
        store_note(f, "cannot read /proc: files held open by running guests are not known");
    find_qemu_user(f, o->qemu_user);
    read_leases(&s, &lease_cap); /* the second look: see scan.h */
    read_watch_status(&s);
    if (!f->owners_in_use)
        store_note(f, "no %s/ on the store: orphan-instance was not checked (ferry migrate records owners there)",
                   OWNER_DIR);
    if (!f->leases_in_use)
        store_note(f, "no lease records in %s/: dead-owner was not checked", LEASE_DIR);
    if (store_facts_index(f) < 0)
        abort();
    f->now_s = time(NULL);
    f->now_ms = clock_monotonic_ms();

out:
    for (size_t i = 0; i < instances.n + bases.n && s.names; i++)
        free(s.names[i]);
    if (!s.names) {
        for (size_t i = 0; i < instances.n; i++)
            free(instances.v[i]);
        for (size_t i = 0; i < bases.n; i++)
            free(bases.v[i]);
    }
    free(s.names);
    free(s.outs);
    free(instances.v);
    free(bases.v);
    if (r < 0) {
        merge(&(struct scan){ .f = f }, &top);
    }
    if (s.basefd >= 0)
        close(s.basefd);
    if (s.ownersfd >= 0)
        close(s.ownersfd);
    close(s.rootfd);
    return r;
}
