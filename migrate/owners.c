/*
 * Owner records through the local mount (this host's own claim) and through the
 * destination's libvirt (its claim): each host's file is written by that host.
 */
#include "owners.h"

#include "dest.h"
#include "log.h"
#include "owner_record.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void short_host(const char *name, char out[65])
{
    text_copy(out, 65, name);
    out[strcspn(out, ".")] = 0;
}

void owners_prepare(struct owner_move *m, const struct ferry_config *cfg, const struct migrate_facts *f)
{
    memset(m, 0, sizeof(*m));
    const char *dir = f->guest.instance_dir;
    const char *slash = strrchr(dir, '/');
    size_t store_len = strlen(cfg->storage.mount_point);
    /* Nova's layout only: STORE/<uuid>. */
    if (!slash || (size_t)(slash - dir) != store_len || strncmp(dir, cfg->storage.mount_point, store_len) ||
        !lease_uuid_valid(slash + 1))
        return;
    text_copy(m->instance, sizeof(m->instance), slash + 1);
    text_copy(m->store, sizeof(m->store), cfg->storage.mount_point);
    short_host(f->src.hostname[0] ? f->src.hostname : f->src.name, m->src_host);
    short_host(f->dst.hostname[0] ? f->dst.hostname : f->dst.name, m->dst_host);
    m->enabled = lease_host_valid(m->src_host) && lease_host_valid(m->dst_host);
}

static int encode(const struct owner_move *m, const char *host, enum owner_state state, const char *peer, char *buf,
                  size_t size)
{
    struct owner_record r = { .state = state, .written_at = time(NULL) };
    text_copy(r.instance, sizeof(r.instance), m->instance);
    text_copy(r.host, sizeof(r.host), host);
    text_copy(r.peer, sizeof(r.peer), peer ? peer : "");
    return owner_record_encode(&r, buf, size);
}

/* This host's claim, through its mount: temporary file, then rename. */
static int write_local_claim(const struct owner_move *m, enum owner_state state, const char *peer)
{
    char dir[FACTS_PATH_MAX], path[FACTS_PATH_MAX + 80], tmp[FACTS_PATH_MAX + 80], buf[OWNER_RECORD_MAX];
    int len = encode(m, m->src_host, state, peer, buf, sizeof(buf));
    if (len < 0)
        return len;
    text_printf(dir, sizeof(dir), "%s/%s/%s", m->store, OWNER_DIR, m->instance);
    text_printf(path, sizeof(path), "%s/%s", dir, m->src_host);
    text_printf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, m->src_host);
    char parent[FACTS_PATH_MAX];
    text_printf(parent, sizeof(parent), "%s/%s", m->store, OWNER_DIR);
    mkdir(parent, 0755);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int r = write(fd, buf, (size_t)len) == len && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

int owners_mark_outgoing(const struct owner_move *m)
{
    if (!m->enabled)
        return 0;
    int r = write_local_claim(m, OWNER_OUTGOING, m->dst_host);
    if (r < 0)
        log_warn("cannot mark instance %s outgoing in %s/%s: %s", m->instance, m->store, OWNER_DIR, strerror(-r));
    return r;
}

int owners_finish(struct driver *d, const struct owner_move *m, char **error)
{
    char dir[FACTS_PATH_MAX], buf[OWNER_RECORD_MAX], path[FACTS_PATH_MAX + 80];
    *error = NULL;
    if (!m->enabled)
        return 0;
    int len = encode(m, m->dst_host, OWNER_OWNED, NULL, buf, sizeof(buf));
    if (len < 0)
        return len;
    /* The destination's .ferry/owners/<uuid>, made there by its libvirt if missing. */
    struct dest_dir *owners = NULL, *top = NULL;
    bool created;
    text_printf(dir, sizeof(dir), "%s/%s", m->store, OWNER_DIR);
    int r = dest_dir_open(d, dir, &top, &created, error);
    if (r == 0) {
        dest_dir_close(top, false);
        text_printf(dir, sizeof(dir), "%s/%s/%s", m->store, OWNER_DIR, m->instance);
        r = dest_dir_open(d, dir, &owners, &created, error);
    }
    if (r == 0) {
        r = dest_write_file(owners, m->dst_host, buf, (size_t)len, error);
        dest_dir_close(owners, false);
    }
    /* This host lets go of its claim (on a shared store the directory now holds the
     * destination's claim; on a store of its own it goes with the instance). */
    text_printf(path, sizeof(path), "%s/%s/%s/%s", m->store, OWNER_DIR, m->instance, m->src_host);
    if (unlink(path) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    text_printf(path, sizeof(path), "%s/%s/%s", m->store, OWNER_DIR, m->instance);
    rmdir(path); /* only when empty: the store was not shared */
    return r;
}

void owners_abort(const struct owner_move *m)
{
    if (m->enabled && write_local_claim(m, OWNER_OWNED, NULL) < 0)
        log_warn("cannot restore this host's claim on instance %s; 'ferry fsck' will report it", m->instance);
}
