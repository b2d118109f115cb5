/*
 * The fuse mount driver: a FUSE filesystem that forwards every operation to an NFSv3 export
 * through libnfs, for machines whose kernel has no NFS client (the lab) or where a userspace
 * mount is wanted.
 *
 * How it works. libfuse3's high-level API hands us paths, which fit libnfs's path API; libfuse
 * runs it multi-threaded. A libnfs context (sync API) is not thread-safe, so each context sits
 * behind its own mutex; path operations take the contexts in turn, and an open file stays on
 * the context that opened it. Every context talks to the server as root (the export is
 * no_root_squash): the kernel checks permissions (default_permissions), and what we create is
 * chowned to the user who asked for it.
 *
 * Why it is this cautious. The export is shared storage: another host may change any file at
 * any moment. So nothing is cached beyond the kernel's 1 s attribute and entry timeouts, its
 * page cache between one open and the next (dropped at every open), and no negative entries;
 * there is no writeback cache. And VM images want a hard mount: when the server goes away,
 * operations wait and go on when it is back; they never fail with EIO for it. A call that
 * loses the server drops its libnfs context, waits for the server with a backoff (a few
 * connects a second at most, nearly no CPU), connects again and is sent again; open files
 * keep their NFS file handles; creates and removes sent twice are judged as BSD's NFS client
 * does. Writes are UNSTABLE and made durable by COMMIT on fsync, and on close as the kernel's
 * NFS client does.
 *
 * Start-up reports over a pipe so that `ferry storage mount --driver fuse` can say exactly why
 * a mount failed, and leaves nothing behind when it does.
 */
#define FUSE_USE_VERSION 312

#include "nfs_fuse.h"

#include "cleanup.h"
#include "mount_table.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>

/* How many libnfs contexts (TCP connections) serve the mount. Measured in the lab (2 cores,
 * 256 MiB, medians of 10): 2 or 4 contexts made four parallel O_DIRECT readers of different
 * open files 24-30% faster, and changed nothing for one stream or for writes (the bridge and
 * the server are CPU-bound). An open file stays on one context, so one QEMU disk would not
 * gain at all: one context it is, unless a build asks for more. */
#ifndef NFS_FUSE_CONNECTIONS
#define NFS_FUSE_CONNECTIONS 1
#endif
#define NFS_FUSE_MAX_CONNECTIONS 8
_Static_assert(NFS_FUSE_CONNECTIONS >= 1 && NFS_FUSE_CONNECTIONS <= NFS_FUSE_MAX_CONNECTIONS,
               "NFS_FUSE_CONNECTIONS out of range");

/* The largest read and write the kernel may send in one request (its limit is 256 pages). */
#define NFS_FUSE_MAX_IO (1024 * 1024)

/* How long `nfs_fuse_run` waits for the server before giving up on the mount. */
#define NFS_FUSE_RUN_CONNECT_TIMEOUT_MS 30000

/* ---------------------------------------------------------------------------------------- */
/* The bridge's log: one line per event, with a timestamp, on stderr (the log file).         */

static long long monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* "2026-11-27T18:42:04.123Z" */
static void utc_text(char *buf, size_t size, const struct timespec *t)
{
    struct tm tm;
    char when[32];
    gmtime_r(&t->tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03ldZ", when, t->tv_nsec / 1000000);
}

static void bridge_logv(const char *level, const char *fmt, va_list ap)
{
    struct timespec now;
    char when[48], text[2048];
    clock_gettime(CLOCK_REALTIME, &now);
    utc_text(when, sizeof(when), &now);
    vsnprintf(text, sizeof(text), fmt, ap);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = 0;
    /* One write per line keeps lines whole when several threads log. */
    dprintf(STDERR_FILENO, "%s ferry-nfs-fuse[%d]: %s%s\n", when, (int)getpid(), level, text);
}

static void bridge_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bridge_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bridge_logv("", fmt, ap);
    va_end(ap);
}

static void bridge_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bridge_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bridge_logv("error: ", fmt, ap);
    va_end(ap);
}

/* libfuse's own messages go to the same log; the last error is kept for the start-up report
 * (libfuse says why a mount failed only there). */
static char fuse_last_error[512];

static void bridge_log_from_fuse(enum fuse_log_level level, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = 0;
    if (level <= FUSE_LOG_ERR)
        snprintf(fuse_last_error, sizeof(fuse_last_error), "%s", text);
    if (level <= FUSE_LOG_NOTICE)
        bridge_log("libfuse: %s", text);
}

/* ---------------------------------------------------------------------------------------- */
/* Connections to the server                                                                 */

/* How the bridge waits for a server that went away (the hard mount). A call that loses the
 * server drops its context; connecting again is tried at once, then after 50 ms, the wait
 * doubling up to one second, for as long as it takes. One attempt may last this long at most
 * (connects block on SYN while the network is down). */
#define NFS_FUSE_RETRY_FIRST_MS 50
#define NFS_FUSE_RETRY_MAX_MS 1000
#define NFS_FUSE_RECONNECT_TIMEOUT_MS 10000
/* A call whose data the server has not acknowledged for this long has lost the server (a
 * silent network: TCP alone would wait about 15 minutes), and waits for it as above. */
#define NFS_FUSE_TCP_USER_TIMEOUT_MS 30000

struct bridge;

struct nfs_connection {
    pthread_mutex_t lock;
    struct nfs_context *nfs; /* NULL once the server was lost, until connected again */
    struct bridge *bridge;
    unsigned index;
    /* Since the server was lost (under the lock): */
    struct timespec lost_at; /* wall clock, for the log */
    long long lost_ms;       /* monotonic */
    unsigned retry_ms;       /* the wait before the next attempt */
    unsigned attempts;       /* attempts to connect again */
    bool answered;           /* a call got the server's answer on this context */
};

/* An outage is logged once when it starts and once when it ends, however many connections
 * and attempts it takes. */
struct outage {
    pthread_mutex_t lock;
    bool active;
    long long since_ms;
    unsigned attempts;
};

struct bridge {
    const struct nfs_fuse_options *options;
    struct nfs_connection connections[NFS_FUSE_MAX_CONNECTIONS];
    unsigned connection_count;
    atomic_uint next_connection;
    struct outage outage;
    struct fuse *fuse;
    dev_t mount_dev;        /* st_dev of the mounted filesystem, once mounted */
    atomic_bool mounted;    /* the FUSE mount is in place */
    atomic_int stop_signal; /* the first SIGTERM/SIGINT/SIGHUP received */
    atomic_bool finished;   /* the bridge is stopping on its own: the signal thread ends */
    int ready_fd;           /* where start-up is reported; -1: nowhere */
    bool reported;          /* OK or the probe's ERR went to ready_fd */
    int probe_error;        /* why the new mount did not answer */
};

struct open_file {
    struct nfs_connection *connection;
    struct nfsfh *fh;
    atomic_bool unstable; /* written since the last COMMIT */
};

/* nfs_destroy_context(), and the socket libnfs 4.0 forgets: a connection whose one reconnect
 * failed keeps its socket aside (rpc->old_fd, which nfs_get_fd() returns), and destroying the
 * context closes only rpc->fd, by then -1 (seen in the lab: a socket more after every outage).
 * If the number still is the same socket after the destruction, nobody else holds it. */
static void context_destroy(struct nfs_context *nfs)
{
    int fd = nfs_get_fd(nfs);
    struct stat before, after;
    bool known = fd >= 0 && fstat(fd, &before) == 0;
    nfs_destroy_context(nfs);
    if (known && fstat(fd, &after) == 0 && after.st_dev == before.st_dev && after.st_ino == before.st_ino)
        close(fd);
}

struct mount_wait {
    bool done;
    int status;
    char error[256];
};

static void mount_done(int status, struct nfs_context *nfs, void *data, void *private_data)
{
    (void)nfs;
    struct mount_wait *w = private_data;
    w->done = true;
    w->status = status;
    if (status < 0 && data)
        snprintf(w->error, sizeof(w->error), "%s", (const char *)data);
}

/* nfs_mount() with a deadline that covers everything, TCP connects included (libnfs's own
 * timeout covers only RPCs that were sent): libnfs's async mount, driven by our poll loop.
 * W must outlive the context: a mount still under way is called back when it is destroyed. */
static int nfs_mount_by(struct nfs_context *nfs, struct mount_wait *w, const char *server, const char *path,
                        long long deadline_ms, char *error, size_t error_size)
{
    if (nfs_mount_async(nfs, server, path, mount_done, w) < 0) {
        snprintf(error, error_size, "%s", nfs_get_error(nfs));
        return -EIO;
    }
    while (!w->done) {
        long long left = deadline_ms - monotonic_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        /* The socket changes on the way (portmapper, mountd, nfsd): asked for each time. */
        struct pollfd p = { .fd = nfs_get_fd(nfs), .events = (short)nfs_which_events(nfs) };
        int n = poll(&p, 1, left < 100 ? (int)left : 100);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (nfs_service(nfs, n > 0 ? p.revents : 0) < 0) {
            snprintf(error, error_size, "%s", nfs_get_error(nfs));
            return -EIO;
        }
    }
    snprintf(error, error_size, "%s", w->error);
    return w->status;
}

/* A new libnfs context, set up as every connection wants it and mounted on the export,
 * waiting until deadline_ms at most. Returns 0 and the context, or a negative errno with WHY
 * (one line that names the server and the cause), and then nothing is left behind. */
static int context_open(const char *url_text, long long deadline_ms, struct nfs_context **out, char *why,
                        size_t why_size)
{
    struct nfs_context *nfs = nfs_init_context();
    if (!nfs) {
        snprintf(why, why_size, "cannot create a libnfs context");
        return -ENOMEM;
    }
    /* Root on the wire (the export is no_root_squash); a uid= in the URL still wins. */
    nfs_set_uid(nfs, 0);
    nfs_set_gid(nfs, 0);
    struct nfs_url *url = nfs_parse_url_dir(nfs, url_text);
    if (!url) {
        snprintf(why, why_size, "invalid NFS URL %s: %s", url_text, nfs_get_error(nfs));
        nfs_destroy_context(nfs);
        return -EINVAL;
    }
    /* Other hosts change directories behind our back; the kernel applied the caller's umask. */
    nfs_set_dircache(nfs, 0);
    nfs_umask(nfs, 0);
    /* One reconnect, at once, inside a call; then the call fails and the bridge waits for the
     * server with a backoff (connection_ready). libnfs's endless reconnect (-1) has no backoff:
     * against a refused port it spins at a full core. And not 0: then a connection reset
     * leaves the call's requests queued in the context, and destroying the context calls them
     * back into the stack frames of calls that have returned (a crash, seen in the lab); with
     * one reconnect, every way of losing the server fails them while the call still waits. */
    nfs_set_autoreconnect(nfs, 1);
    nfs_set_timeout(nfs, -1);
    long long t0 = monotonic_ms();
    struct mount_wait w = { 0 };
    char cause[256] = "";
    int r = nfs_mount_by(nfs, &w, url->server, url->path, deadline_ms, cause, sizeof(cause));
    if (r == -ETIMEDOUT) {
        snprintf(why, why_size, "NFS server %s does not answer within %lld ms", url->server, monotonic_ms() - t0);
    } else if (r == -EFAULT || r == -EIO) {
        /* libnfs's EFAULT: the portmapper knows no NFS service there; EIO: no connection. */
        snprintf(why, why_size, "no NFS service reachable on %s (%s)", url->server, cause[0] ? cause : strerror(-r));
        r = r == -EFAULT ? -ECONNREFUSED : -EHOSTUNREACH;
    } else if (r < 0) {
        snprintf(why, why_size, "NFS server %s refused the mount: %s", url->server, cause[0] ? cause : strerror(-r));
    }
    nfs_destroy_url(url);
    if (r < 0) {
        context_destroy(nfs); /* while W still exists */
        return r;
    }
    unsigned timeout = NFS_FUSE_TCP_USER_TIMEOUT_MS;
    setsockopt(nfs_get_fd(nfs), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
    *out = nfs;
    return 0;
}

/* Frees a context. libnfs calls back every request still queued in a context it destroys, and
 * the callback of a sync call writes into the stack frame of that call, long returned: a
 * context that still holds requests (which its one reconnect should rule out) is abandoned
 * instead, its socket closed. */
static void context_close(struct nfs_context *nfs)
{
    int queued = nfs_queue_length(nfs);
    if (queued == 0) {
        context_destroy(nfs);
        return;
    }
    bridge_log_error("a lost NFS connection still holds %d request%s: its libnfs context is abandoned, not destroyed",
                     queued, queued == 1 ? "" : "s");
    int fd = nfs_get_fd(nfs);
    if (fd >= 0)
        close(fd);
}

/* Whether the context's TCP connection is still established. */
static bool context_connected(struct nfs_context *nfs)
{
    int fd = nfs_get_fd(nfs);
    struct tcp_info info;
    socklen_t len = sizeof(info);
    return fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_ESTABLISHED;
}

/* The local port of the context's connection, -1 if none. */
static int context_local_port(struct nfs_context *nfs)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = nfs_get_fd(nfs);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Whether a failed call failed for want of the server rather than with the server's answer.
 * libnfs 4.0 reports a lost server as -EIO ("nfs_service failed"), whether the server closed
 * the connection, reset it, or refused the one reconnect, and leaves the context's socket
 * closed; an answer (ENOENT, EEXIST, or EIO for NFS3ERR_IO) comes over a connection that is
 * still established. Only the codes libnfs uses for a lost transport count, so that an answer
 * (say EEXIST) that came just before the connection went is never sent again. */
static bool call_lost_server(struct nfs_context *nfs, int r)
{
    switch (-r) {
    case EIO: case EFAULT: case EINTR: case ETIMEDOUT: case EPIPE: case ENOTCONN: case ECONNRESET:
    case ECONNREFUSED: case ECONNABORTED: case EHOSTUNREACH: case ENETUNREACH:
        return !context_connected(nfs);
    default:
        return false;
    }
}

static void outage_begin(struct bridge *b, const struct nfs_connection *c, const char *why)
{
    pthread_mutex_lock(&b->outage.lock);
    b->outage.attempts++;
    if (!b->outage.active) {
        char since[48];
        utc_text(since, sizeof(since), &c->lost_at);
        b->outage.active = true;
        b->outage.since_ms = c->lost_ms;
        bridge_log_error("NFS server of %s unreachable since %s: %s; operations wait for it, retrying every %d ms, "
                         "backing off to every %d ms",
                         b->options->fsname, since, why, NFS_FUSE_RETRY_FIRST_MS, NFS_FUSE_RETRY_MAX_MS);
    }
    pthread_mutex_unlock(&b->outage.lock);
}

/* True when this ended an outage (and said so). */
static bool outage_end(struct bridge *b)
{
    pthread_mutex_lock(&b->outage.lock);
    bool ended = b->outage.active;
    if (ended) {
        bridge_log("NFS server of %s reachable again after %.1f s (%u attempts to connect); operations go on",
                   b->options->fsname, (monotonic_ms() - b->outage.since_ms) / 1000.0, b->outage.attempts + 1);
        b->outage.active = false;
        b->outage.attempts = 0;
    }
    pthread_mutex_unlock(&b->outage.lock);
    return ended;
}

/* The FUSE session has ended (the kernel took the mount away): nobody waits for answers. */
static bool session_ended(struct bridge *b)
{
    return b->fuse && fuse_session_exited(fuse_get_session(b->fuse));
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* A call on C (locked) lost the server: the context goes, connection_ready() makes another. */
static void connection_drop(struct nfs_connection *c)
{
    clock_gettime(CLOCK_REALTIME, &c->lost_at);
    c->lost_ms = monotonic_ms();
    /* Connecting again is tried at once after a context that served; a server that takes the
     * mount but loses every call gets the backoff too. */
    if (c->answered)
        c->retry_ms = 0;
    else
        c->retry_ms = c->retry_ms ? c->retry_ms * 2 : NFS_FUSE_RETRY_FIRST_MS;
    if (c->retry_ms > NFS_FUSE_RETRY_MAX_MS)
        c->retry_ms = NFS_FUSE_RETRY_MAX_MS;
    c->answered = false;
    c->attempts = 0;
    context_close(c->nfs);
    c->nfs = NULL;
}

/* Gives connection C (locked) a context, connecting again for as long as it takes once the
 * server was lost. The lock is held meanwhile: any call on C would only find the same dead
 * server. Returns 0, or -ENOTCONN once the FUSE session has ended. */
static int connection_ready(struct nfs_connection *c)
{
    struct bridge *b = c->bridge;
    while (!c->nfs) {
        if (session_ended(b))
            return -ENOTCONN;
        if (c->retry_ms)
            sleep_ms(c->retry_ms);
        char why[768];
        struct nfs_context *nfs;
        c->attempts++;
        if (context_open(b->options->url, monotonic_ms() + NFS_FUSE_RECONNECT_TIMEOUT_MS, &nfs, why, sizeof(why)) == 0) {
            c->nfs = nfs;
            if (!outage_end(b) && c->attempts == 1)
                bridge_log("NFS connection %u lost the server in a call and connected again at once", c->index);
            return 0;
        }
        outage_begin(b, c, why);
        c->retry_ms = c->retry_ms ? c->retry_ms * 2 : NFS_FUSE_RETRY_FIRST_MS;
        if (c->retry_ms > NFS_FUSE_RETRY_MAX_MS)
            c->retry_ms = NFS_FUSE_RETRY_MAX_MS;
    }
    return 0;
}

/* One libnfs call on its way to an answer. */
struct nfs_call {
    struct nfs_connection *connection;
    bool *replayed; /* NULL, or told whether the answer may be to a second sending */
    unsigned lost;  /* sendings that lost the server */
    int port;       /* the local port the last sending left from */
};

static void call_sending(struct nfs_call *call)
{
    if (call->replayed)
        call->port = context_local_port(call->connection->nfs);
}

/* After a sending that returned R: true when it lost the server and must be sent again. */
static bool call_lost(struct nfs_call *call, int r)
{
    struct nfs_connection *c = call->connection;
    if (r < 0 && call_lost_server(c->nfs, r)) {
        call->lost++;
        connection_drop(c);
        return true;
    }
    c->answered = true;
    /* libnfs reconnects once inside a call and sends again: the port tells. */
    if (call->replayed)
        *call->replayed = call->lost > 0 || context_local_port(c->nfs) != call->port;
    return false;
}

/* Runs CALL, a libnfs call written with `nfs` as its context, on connection CONN (locked),
 * until the server answers it: when the server is lost, the call waits for it
 * (connection_ready) and is sent again. NOTED_ is NULL, or a bool * told whether the answer
 * may be to a second sending of the request (see "Requests sent twice"). */
#define NFS_RETRY(conn, noted_, call)                                            \
    ({                                                                           \
        struct nfs_call retry_ = { .connection = (conn), .replayed = (noted_) }; \
        int retry_r_;                                                            \
        if (retry_.replayed)                                                     \
            *retry_.replayed = false;                                            \
        while ((retry_r_ = connection_ready(retry_.connection)) == 0) {          \
            struct nfs_context *nfs = retry_.connection->nfs;                    \
            call_sending(&retry_);                                               \
            retry_r_ = (call);                                                   \
            if (!call_lost(&retry_, retry_r_))                                   \
                break;                                                           \
        }                                                                        \
        retry_r_;                                                                \
    })

static struct bridge *current_bridge(void)
{
    return fuse_get_context()->private_data;
}

/* The next context in turn, locked. */
static struct nfs_connection *connection_take(void)
{
    struct bridge *b = current_bridge();
    unsigned i = atomic_fetch_add(&b->next_connection, 1) % b->connection_count;
    struct nfs_connection *c = &b->connections[i];
    pthread_mutex_lock(&c->lock);
    return c;
}

static void connection_give(struct nfs_connection *c)
{
    pthread_mutex_unlock(&c->lock);
}

static struct open_file *file_of(const struct fuse_file_info *fi)
{
    return (struct open_file *)(uintptr_t)fi->fh;
}

/* Runs one libnfs call, written with `nfs` as its context, on the next connection, until the
 * server answers: `return nfs_result(NFS_CALL(nfs_unlink(nfs, path)), "unlink", path);` */
#define NFS_CALL(call) NFS_CALL_NOTING_REPLAY(NULL, call)

/* The same, telling *NOTED_ whether the answer may be to a second sending. */
#define NFS_CALL_NOTING_REPLAY(noted_, call)                \
    ({                                                      \
        struct nfs_connection *call_c_ = connection_take(); \
        int call_r_ = NFS_RETRY(call_c_, noted_, call);     \
        connection_give(call_c_);                           \
        call_r_;                                            \
    })

/* The same on the connection that opened the file F. */
#define NFS_FILE_CALL(f, call)                            \
    ({                                                    \
        struct nfs_connection *call_c_ = (f)->connection; \
        pthread_mutex_lock(&call_c_->lock);               \
        int call_r_ = NFS_RETRY(call_c_, NULL, call);     \
        pthread_mutex_unlock(&call_c_->lock);             \
        call_r_;                                          \
    })

/* Closes an open file's handle on C (locked). nfs_close() frees the handle whatever its
 * answer (it sends a COMMIT first when libnfs saw unstable writes), so it is never sent
 * twice; the bridge's own COMMIT (file_commit) came before. */
static void handle_close(struct nfs_connection *c, struct nfsfh *fh)
{
    if (c->nfs)
        nfs_close(c->nfs, fh);
}

/* libnfs returns negative errno values, which FUSE passes on as they are. Failures that are a
 * normal answer (no such file, not empty, ...) are the caller's business; anything else is
 * worth a line in the log. EFAULT is libnfs's word for an RPC it could not decode. */
static int nfs_result(int r, const char *op, const char *path)
{
    if (r >= 0)
        return r;
    switch (-r) {
    case ENOENT: case EEXIST: case ENOTEMPTY: case ENOTDIR: case EISDIR: case EACCES: case EPERM:
    case ENAMETOOLONG: case EXDEV: case EINVAL: case EMLINK: case ENOTSUP: case ELOOP: case EFBIG:
        return r;
    case EFAULT:
        r = -EIO;
        break;
    default:
        break;
    }
    bridge_log_error("%s %s: %s", op, path ? path : "(open file)", strerror(-r));
    return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Attributes                                                                                */

static void stat_from_nfs(struct stat *st, const struct nfs_stat_64 *n)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = n->nfs_ino;
    st->st_mode = n->nfs_mode;
    st->st_nlink = n->nfs_nlink;
    st->st_uid = n->nfs_uid;
    st->st_gid = n->nfs_gid;
    st->st_rdev = n->nfs_rdev;
    st->st_size = n->nfs_size;
    st->st_blksize = n->nfs_blksize;
    st->st_blocks = n->nfs_blocks;
    st->st_atim.tv_sec = n->nfs_atime;
    st->st_atim.tv_nsec = n->nfs_atime_nsec;
    st->st_mtim.tv_sec = n->nfs_mtime;
    st->st_mtim.tv_nsec = n->nfs_mtime_nsec;
    st->st_ctim.tv_sec = n->nfs_ctime;
    st->st_ctim.tv_nsec = n->nfs_ctime_nsec;
}

static mode_t file_type_of(uint32_t nfs_type)
{
    switch (nfs_type) {
    case NF3REG: return S_IFREG;
    case NF3DIR: return S_IFDIR;
    case NF3BLK: return S_IFBLK;
    case NF3CHR: return S_IFCHR;
    case NF3LNK: return S_IFLNK;
    case NF3SOCK: return S_IFSOCK;
    case NF3FIFO: return S_IFIFO;
    default: return 0;
    }
}

/* READDIRPLUS gives each entry's attributes for free; false when this one came without. */
static bool stat_from_dirent(struct stat *st, const struct nfsdirent *e)
{
    mode_t type = file_type_of(e->type);
    if (!type || !e->inode)
        return false;
    memset(st, 0, sizeof(*st));
    st->st_ino = e->inode;
    st->st_mode = type | (e->mode & 07777);
    st->st_nlink = e->nlink;
    st->st_uid = e->uid;
    st->st_gid = e->gid;
    st->st_rdev = e->rdev;
    st->st_size = e->size;
    st->st_blksize = e->blksize;
    st->st_blocks = e->blocks;
    st->st_atim.tv_sec = e->atime.tv_sec;
    st->st_atim.tv_nsec = e->atime_nsec;
    st->st_mtim.tv_sec = e->mtime.tv_sec;
    st->st_mtim.tv_nsec = e->mtime_nsec;
    st->st_ctim.tv_sec = e->ctime.tv_sec;
    st->st_ctim.tv_nsec = e->ctime_nsec;
    return true;
}

static int bridge_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct nfs_stat_64 n;
    int r;
    if (fi) {
        struct open_file *f = file_of(fi);
        r = NFS_FILE_CALL(f, nfs_fstat64(nfs, f->fh, &n));
    } else {
        r = NFS_CALL(nfs_lstat64(nfs, path, &n));
    }
    if (r < 0)
        return nfs_result(r, "stat", path);
    stat_from_nfs(st, &n);
    return 0;
}

static int bridge_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                          struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)offset;
    (void)fi;
    struct nfs_connection *c = connection_take();
    struct nfsdir *dir;
    /* The listing comes whole with the open (nfs_opendir reads every entry): that is the call
     * that waits for a lost server; then c->nfs is the context that answered. */
    int r = NFS_RETRY(c, NULL, nfs_opendir(nfs, path, &dir));
    if (r == 0) {
        struct nfsdirent *e;
        while ((e = nfs_readdir(c->nfs, dir))) {
            struct stat st;
            bool plus = (flags & FUSE_READDIR_PLUS) && stat_from_dirent(&st, e);
            if (fill(buf, e->name, plus ? &st : NULL, 0, plus ? FUSE_FILL_DIR_PLUS : 0))
                break;
        }
        nfs_closedir(c->nfs, dir);
    }
    connection_give(c);
    return nfs_result(r, "readdir", path);
}

static int bridge_statfs(const char *path, struct statvfs *st)
{
    struct nfs_statvfs_64 v;
    int r = NFS_CALL(nfs_statvfs64(nfs, path, &v));
    if (r < 0)
        return nfs_result(r, "statfs", path);
    memset(st, 0, sizeof(*st));
    st->f_bsize = v.f_bsize;
    st->f_frsize = v.f_frsize ? v.f_frsize : v.f_bsize;
    st->f_blocks = v.f_blocks;
    st->f_bfree = v.f_bfree;
    st->f_bavail = v.f_bavail;
    st->f_files = v.f_files;
    st->f_ffree = v.f_ffree;
    st->f_favail = v.f_favail;
    st->f_namemax = v.f_namemax ? v.f_namemax : NAME_MAX;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Requests sent twice                                                                       */

/*
 * A request that lost the server is sent again on a new connection, and one that creates or
 * removes may have been carried out the first time, only its answer lost: the second sending
 * then finds its own work done (EEXIST, ENOENT). The kernel's NFS client sends again with the
 * same XID from the same port, and the server's duplicate request cache answers as the first
 * time; the bridge's second sending comes from another port (libnfs's one reconnect keeps the
 * XID, but nfs-ganesha keeps that cache per TCP connection; a new context has a new XID), and
 * a restarted server has an empty cache. So the bridge judges as BSD's NFS client does (its
 * "Kludge City"): a remove sent again that finds nothing did remove it; a create sent again
 * that finds what it would have made did make it: the same type, still root's (the bridge
 * creates as root and gives to the caller afterwards), a file still empty, a symlink to the
 * same target, a link to the same file. Anything else is answered as the server said.
 */

/* Says that a request sent twice found its own work done (answer R), and returns 0. */
static int replay_done(const char *op, const char *path, int r)
{
    bridge_log("%s %s: sent twice after the server was lost, and the first sending did it (the second found %s)", op,
               path, strerror(-r));
    return 0;
}

/* What is at PATH could be what our first sending made: of TYPE, root's, a file still empty. */
static bool replay_made(struct nfs_connection *c, const char *path, mode_t type)
{
    struct nfs_stat_64 st;
    if (NFS_RETRY(c, NULL, nfs_lstat64(nfs, path, &st)) < 0)
        return false;
    return (st.nfs_mode & S_IFMT) == type && st.nfs_uid == 0 && (!S_ISREG(type) || st.nfs_size == 0);
}

static bool replay_made_symlink(struct nfs_connection *c, const char *path, const char *target)
{
    _cleanup_free_ char *found = NULL;
    return replay_made(c, path, S_IFLNK) && NFS_RETRY(c, NULL, nfs_readlink2(nfs, path, &found)) == 0 &&
           !strcmp(found, target);
}

static bool replay_linked(struct nfs_connection *c, const char *from, const char *to)
{
    struct nfs_stat_64 a, b;
    return NFS_RETRY(c, NULL, nfs_lstat64(nfs, from, &a)) == 0 && NFS_RETRY(c, NULL, nfs_lstat64(nfs, to, &b)) == 0 &&
           a.nfs_ino == b.nfs_ino && a.nfs_dev == b.nfs_dev;
}

/* ---------------------------------------------------------------------------------------- */
/* Creating things                                                                           */

/* The NFS side created PATH as root. It belongs to the user who asked, with the group a
 * set-group-ID parent imposes, as on a local filesystem; a root chown clears set-ID bits of
 * files, so those are put back. */
static int give_to_caller(struct nfs_connection *c, const char *path, mode_t mode)
{
    const struct fuse_context *ctx = fuse_get_context();
    uid_t uid = ctx->uid;
    gid_t gid = ctx->gid;

    _cleanup_free_ char *parent = strdup(path);
    if (!parent)
        return -ENOMEM;
    char *slash = strrchr(parent, '/');
    if (slash)
        slash[slash == parent ? 1 : 0] = 0;
    struct nfs_stat_64 st;
    int r = NFS_RETRY(c, NULL, nfs_stat64(nfs, parent, &st));
    if (r < 0)
        return r;
    if (st.nfs_mode & S_ISGID)
        gid = st.nfs_gid;

    if (uid == 0 && gid == 0)
        return 0;
    r = NFS_RETRY(c, NULL, nfs_lchown(nfs, path, uid, gid));
    if (r == 0 && !S_ISDIR(mode) && !S_ISLNK(mode) && (mode & (S_ISUID | S_ISGID)))
        r = NFS_RETRY(c, NULL, nfs_chmod(nfs, path, mode & 07777));
    return r;
}

/* The open flags libnfs understands. The others (O_DIRECT, O_NOATIME, ...) are the kernel's
 * business, and the kernel computes O_APPEND offsets itself before each write. */
static int nfs_open_flags(int flags)
{
    int out = flags & O_ACCMODE;
    if (flags & (O_SYNC | O_DSYNC))
        out |= O_SYNC;
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
        out |= O_TRUNC;
    return out;
}

/* Hands an open file to the kernel. An O_DIRECT open (QEMU's cache=none) is served in
 * FUSE's direct-I/O mode: the kernel then sends every read to us instead of cutting it at the
 * file size it has cached, which can be up to a second old here. Another host may just have
 * grown the file (the source of a live migration, allocating qcow2 clusters); a cut read
 * would give the guest zeros instead of its data. */
static void file_attach(struct fuse_file_info *fi, struct open_file *f, struct nfs_connection *c)
{
    f->connection = c;
    fi->fh = (uintptr_t)f;
    if (fi->flags & O_DIRECT)
        fi->direct_io = 1;
}

/* The end of a create of PATH (MODE: type and permissions) on C (locked) that returned R: what
 * was made goes to the caller, or is removed again when it cannot; C is given back; the answer
 * is FUSE's. */
static int create_finish(struct nfs_connection *c, int r, const char *op, const char *path, mode_t mode)
{
    if (r == 0 && (r = give_to_caller(c, path, mode)) < 0) {
        if (S_ISDIR(mode))
            NFS_RETRY(c, NULL, nfs_rmdir(nfs, path));
        else
            NFS_RETRY(c, NULL, nfs_unlink(nfs, path));
    }
    connection_give(c);
    return nfs_result(r, op, path);
}

static int bridge_mkdir(const char *path, mode_t mode)
{
    struct nfs_connection *c = connection_take();
    bool replayed;
    int r = NFS_RETRY(c, &replayed, nfs_mkdir2(nfs, path, mode & 07777));
    if (r == -EEXIST && replayed && replay_made(c, path, S_IFDIR))
        r = replay_done("mkdir", path, r);
    return create_finish(c, r, "mkdir", path, S_IFDIR | mode);
}

/* Creates PATH exclusively, so that what we chown is certainly ours; a file another host
 * made meanwhile is opened instead, unless the caller asked for O_EXCL too. */
static int bridge_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct open_file *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    struct nfs_connection *c = connection_take();
    int flags = nfs_open_flags(fi->flags);
    bool replayed;
    int r = NFS_RETRY(c, &replayed, nfs_create(nfs, path, (flags & ~O_TRUNC) | O_EXCL, mode & 07777, &f->fh));
    bool made = r == 0;
    if (r == -EEXIST && replayed && replay_made(c, path, S_IFREG)) {
        replay_done("create", path, r);
        r = NFS_RETRY(c, NULL, nfs_open(nfs, path, flags & ~O_TRUNC, &f->fh));
        made = r == 0;
    }
    if (made) {
        r = give_to_caller(c, path, S_IFREG | mode);
        if (r < 0) {
            handle_close(c, f->fh);
            NFS_RETRY(c, NULL, nfs_unlink(nfs, path));
        }
    } else if (r == -EEXIST && !(fi->flags & O_EXCL)) {
        r = NFS_RETRY(c, NULL, nfs_open(nfs, path, flags, &f->fh));
    }
    connection_give(c);
    if (r < 0) {
        free(f);
        return nfs_result(r, "create", path);
    }
    file_attach(fi, f, c);
    return 0;
}

static int bridge_mknod(const char *path, mode_t mode, dev_t rdev)
{
    struct nfs_connection *c = connection_take();
    bool replayed;
    int r;
    if (S_ISREG(mode)) {
        struct nfsfh *fh;
        r = NFS_RETRY(c, &replayed, nfs_create(nfs, path, O_WRONLY | O_EXCL, mode & 07777, &fh));
        if (r == 0)
            handle_close(c, fh);
    } else {
        r = NFS_RETRY(c, &replayed, nfs_mknod(nfs, path, mode, rdev));
    }
    if (r == -EEXIST && replayed && replay_made(c, path, mode & S_IFMT))
        r = replay_done("mknod", path, r);
    return create_finish(c, r, "mknod", path, mode);
}

static int bridge_symlink(const char *target, const char *path)
{
    struct nfs_connection *c = connection_take();
    bool replayed;
    int r = NFS_RETRY(c, &replayed, nfs_symlink(nfs, target, path));
    if (r == -EEXIST && replayed && replay_made_symlink(c, path, target))
        r = replay_done("symlink", path, r);
    return create_finish(c, r, "symlink", path, S_IFLNK | 0777);
}

static int bridge_link(const char *from, const char *to)
{
    struct nfs_connection *c = connection_take();
    bool replayed;
    int r = NFS_RETRY(c, &replayed, nfs_link(nfs, from, to));
    if (r == -EEXIST && replayed && replay_linked(c, from, to))
        r = replay_done("link", to, r);
    connection_give(c);
    return nfs_result(r, "link", to);
}

static int bridge_readlink(const char *path, char *buf, size_t size)
{
    char *target = NULL;
    int r = NFS_CALL(nfs_readlink2(nfs, path, &target));
    if (r < 0)
        return nfs_result(r, "readlink", path);
    snprintf(buf, size, "%s", target);
    free(target);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Removing, renaming, changing attributes                                                   */

/* A remove sent again that finds nothing: the first sending removed it. */
static int bridge_unlink(const char *path)
{
    bool replayed;
    int r = NFS_CALL_NOTING_REPLAY(&replayed, nfs_unlink(nfs, path));
    if (r == -ENOENT && replayed)
        r = replay_done("unlink", path, r);
    return nfs_result(r, "unlink", path);
}

static int bridge_rmdir(const char *path)
{
    bool replayed;
    int r = NFS_CALL_NOTING_REPLAY(&replayed, nfs_rmdir(nfs, path));
    if (r == -ENOENT && replayed)
        r = replay_done("rmdir", path, r);
    return nfs_result(r, "rmdir", path);
}

/* NFSv3 RENAME always replaces, and a check before it would race with other hosts: so
 * RENAME_NOREPLACE and RENAME_EXCHANGE are refused (EINVAL), and callers such as mv fall back
 * to a plain rename. A rename sent again that no longer finds FROM, while TO is there, was
 * done by the first sending. */
static int bridge_rename(const char *from, const char *to, unsigned int flags)
{
    if (flags)
        return -EINVAL;
    struct nfs_connection *c = connection_take();
    struct nfs_stat_64 st;
    bool replayed;
    int r = NFS_RETRY(c, &replayed, nfs_rename(nfs, from, to));
    if (r == -ENOENT && replayed && NFS_RETRY(c, NULL, nfs_lstat64(nfs, to, &st)) == 0)
        r = replay_done("rename", from, r);
    connection_give(c);
    return nfs_result(r, "rename", from);
}

static int bridge_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int r;
    if (fi) {
        struct open_file *f = file_of(fi);
        r = NFS_FILE_CALL(f, nfs_fchmod(nfs, f->fh, mode & 07777));
    } else {
        r = NFS_CALL(nfs_lchmod(nfs, path, mode & 07777));
    }
    return nfs_result(r, "chmod", path);
}

static int bridge_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    int r;
    if (fi) {
        struct open_file *f = file_of(fi);
        r = NFS_FILE_CALL(f, nfs_fchown(nfs, f->fh, (int)uid, (int)gid));
    } else {
        r = NFS_CALL(nfs_lchown(nfs, path, (int)uid, (int)gid));
    }
    return nfs_result(r, "chown", path);
}

static int bridge_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    int r;
    if (fi) {
        struct open_file *f = file_of(fi);
        r = NFS_FILE_CALL(f, nfs_ftruncate(nfs, f->fh, size));
    } else {
        r = NFS_CALL(nfs_truncate(nfs, path, size));
    }
    return nfs_result(r, "truncate", path);
}

static struct timeval timeval_of(const struct timespec *ts)
{
    return (struct timeval){ .tv_sec = ts->tv_sec, .tv_usec = ts->tv_nsec / 1000 };
}

/* libnfs sets times in microseconds, both at once, to the client's clock (or both to the
 * server's): UTIME_OMIT keeps the current value, read first. */
static int bridge_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)fi;
    struct nfs_connection *c = connection_take();
    int r = 0;
    if (tv[0].tv_nsec == UTIME_NOW && tv[1].tv_nsec == UTIME_NOW) {
        r = NFS_RETRY(c, NULL, nfs_lutimes(nfs, path, NULL));
    } else {
        struct timeval times[2];
        struct nfs_stat_64 st;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (tv[0].tv_nsec == UTIME_OMIT || tv[1].tv_nsec == UTIME_OMIT)
            r = NFS_RETRY(c, NULL, nfs_lstat64(nfs, path, &st));
        for (int i = 0; i < 2 && r == 0; i++) {
            if (tv[i].tv_nsec == UTIME_NOW)
                times[i] = timeval_of(&now);
            else if (tv[i].tv_nsec == UTIME_OMIT)
                times[i] = (struct timeval){
                    .tv_sec = i ? st.nfs_mtime : st.nfs_atime,
                    .tv_usec = (i ? st.nfs_mtime_nsec : st.nfs_atime_nsec) / 1000,
                };
            else
                times[i] = timeval_of(&tv[i]);
        }
        if (r == 0)
            r = NFS_RETRY(c, NULL, nfs_lutimes(nfs, path, times));
    }
    connection_give(c);
    return nfs_result(r, "utimens", path);
}

/* ---------------------------------------------------------------------------------------- */
/* Open files                                                                                */

/*
 * An open file keeps its libnfs handle (struct nfsfh) across a lost server. In libnfs 4.0 the
 * handle holds the NFSv3 file handle's bytes and its own state (offset, flags), and no pointer
 * to the context that opened it: the connection's new context uses it as it is (tried in the
 * lab under AddressSanitizer, with the old context destroyed first). The server keeps file
 * handles valid across reconnects and restarts (nfs-ganesha's VFS handles are persistent), as
 * NFS requires. Opening again by path would be wrong: the file may have been renamed or
 * removed since (an open, unlinked file), or replaced by another host, and the same path
 * would then be another file.
 */

static int bridge_open(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    struct nfs_connection *c = connection_take();
    int r = NFS_RETRY(c, NULL, nfs_open(nfs, path, nfs_open_flags(fi->flags), &f->fh));
    connection_give(c);
    if (r < 0) {
        free(f);
        return nfs_result(r, "open", path);
    }
    /* Close-to-open, as NFS clients do: what this open reads is at least as new as the file
     * was when it was opened. The kernel drops the file's pages at every open, but not the
     * size it has cached (up to a second old), and a read beyond that size would stop short
     * of what another host has just appended. Nothing to do when the path is not cached. */
    fuse_invalidate_path(fuse_get_context()->fuse, path);
    file_attach(fi, f, c);
    return 0;
}

/* libnfs may answer a large read or write in part: the rest is asked for until done (a short
 * answer means end of file to the kernel). A part that lost the server is sent again, whole:
 * reads and writes at an offset are idempotent. Returns the last answer; *DONE is what moved.
 * A write only reads BUF. */
static int file_io(struct open_file *f, bool write, char *buf, size_t size, off_t offset, size_t *done)
{
    struct nfs_connection *c = f->connection;
    int r = 0;
    *done = 0;
    pthread_mutex_lock(&c->lock);
    while (*done < size) {
        uint64_t at = (uint64_t)offset + *done;
        size_t left = size - *done;
        char *part = buf + *done;
        r = write ? NFS_RETRY(c, NULL, nfs_pwrite(nfs, f->fh, at, left, part))
                  : NFS_RETRY(c, NULL, nfs_pread(nfs, f->fh, at, left, part));
        if (r <= 0)
            break;
        *done += r;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

static int bridge_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    size_t done;
    int r = file_io(file_of(fi), false, buf, size, offset, &done);
    if (r < 0 && done == 0)
        return nfs_result(r, "read", path);
    return done;
}

static int bridge_write(const char *path, const char *buf, size_t size, off_t offset,
                        struct fuse_file_info *fi)
{
    struct open_file *f = file_of(fi);
    size_t done;
    int r = file_io(f, true, (char *)buf, size, offset, &done);
    if (done > 0)
        atomic_store(&f->unstable, true);
    if (done == 0)
        return nfs_result(r < 0 ? r : -EIO, "write", path);
    return done;
}

/* COMMIT is per file on the server: it makes every write to it durable, whichever open file
 * or host made them. */
static int file_commit(struct open_file *f, const char *path)
{
    atomic_store(&f->unstable, false);
    int r = NFS_FILE_CALL(f, nfs_fsync(nfs, f->fh));
    if (r < 0)
        atomic_store(&f->unstable, true);
    return nfs_result(r, "commit", path);
}

static int bridge_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    return file_commit(file_of(fi), path);
}

/* Every close(2): what this open file wrote is made durable, as NFS's close-to-open does. */
static int bridge_flush(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = file_of(fi);
    if (!atomic_load(&f->unstable))
        return 0;
    return file_commit(f, path);
}

static int bridge_release(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = file_of(fi);
    /* Writes from a shared mapping may arrive after the last flush. */
    if (atomic_load(&f->unstable))
        file_commit(f, path);
    pthread_mutex_lock(&f->connection->lock);
    handle_close(f->connection, f->fh);
    pthread_mutex_unlock(&f->connection->lock);
    free(f);
    return 0;
}

static void *bridge_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Inode numbers are the server's (stable, and the same on every host); paths are given
     * to every operation, because libnfs has no handle-based utimes. */
    cfg->use_ino = 1;
    cfg->nullpath_ok = 0;
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 1.0;
    cfg->negative_timeout = 0;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->direct_io = 0;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->max_write = NFS_FUSE_MAX_IO;
    conn->max_read = NFS_FUSE_MAX_IO; /* must match the max_read mount option */
    conn->max_readahead = NFS_FUSE_MAX_IO;
    bridge_log("kernel FUSE %u.%u: max_write %u, max_read %u, max_readahead %u", conn->proto_major,
               conn->proto_minor, conn->max_write, conn->max_read, conn->max_readahead);
    return fuse_get_context()->private_data;
}

static const struct fuse_operations bridge_operations = {
    .init = bridge_init,
    .getattr = bridge_getattr,
    .readdir = bridge_readdir,
    .statfs = bridge_statfs,
    .mkdir = bridge_mkdir,
    .create = bridge_create,
    .mknod = bridge_mknod,
    .symlink = bridge_symlink,
    .link = bridge_link,
    .readlink = bridge_readlink,
    .unlink = bridge_unlink,
    .rmdir = bridge_rmdir,
    .rename = bridge_rename,
    .chmod = bridge_chmod,
    .chown = bridge_chown,
    .truncate = bridge_truncate,
    .utimens = bridge_utimens,
    .open = bridge_open,
    .read = bridge_read,
    .write = bridge_write,
    .flush = bridge_flush,
    .fsync = bridge_fsync,
    .release = bridge_release,
};

/* ---------------------------------------------------------------------------------------- */
/* Start-up                                                                                  */

/* What went wrong while starting, for the log and the one line sent back to `start`. */
struct start_failure {
    int error;
    char message[1024];
};

static int start_fail(struct start_failure *fail, const struct nfs_fuse_options *o, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int start_fail(struct start_failure *fail, const struct nfs_fuse_options *o, int error, const char *fmt, ...)
{
    char cause[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    fail->error = error < 0 ? error : -error;
    snprintf(fail->message, sizeof(fail->message), "cannot mount export %s at %s: %s",
             o->fsname ? o->fsname : o->url, o->mountpoint ? o->mountpoint : "(no mount point)", cause);
    for (char *p = fail->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return fail->error;
}

static void report_ready(int ready_fd, const struct start_failure *fail)
{
    if (ready_fd < 0)
        return;
    if (fail)
        dprintf(ready_fd, "ERR %d %s\n", fail->error, fail->message);
    else
        dprintf(ready_fd, "OK\n");
}

static void bridge_disconnect(struct bridge *b)
{
    /* No UMNT call: the server may be gone, and UMNT is only advisory. */
    for (unsigned i = 0; i < b->connection_count; i++) {
        struct nfs_connection *c = &b->connections[i];
        if (c->nfs)
            context_close(c->nfs);
        c->nfs = NULL;
        pthread_mutex_destroy(&c->lock);
    }
    b->connection_count = 0;
}

/* Connects every context and mounts the export, waiting until timeout_ms at most; from then
 * on the connections wait for the server forever (a hard mount). */
static int bridge_connect(struct bridge *b, unsigned timeout_ms, struct start_failure *fail)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (unsigned i = 0; i < NFS_FUSE_CONNECTIONS; i++) {
        struct nfs_connection *c = &b->connections[i];
        char why[768];
        int r = context_open(b->options->url, deadline, &c->nfs, why, sizeof(why));
        if (r < 0) {
            bridge_disconnect(b);
            return start_fail(fail, b->options, r, "%s", why);
        }
        pthread_mutex_init(&c->lock, NULL);
        c->bridge = b;
        c->index = i;
        b->connection_count = i + 1;
    }
    return 0;
}

/* True when the topmost mount at MOUNTPOINT is a ferry bridge (serving SOURCE, if given). */
static bool bridge_mounted_at(const char *mountpoint, const char *source)
{
    struct mount_entry entry = { 0 };
    if (mount_table_find(mountpoint, &entry) < 0)
        return false;
    bool ours = mount_entry_kind(&entry) == MOUNT_KIND_FERRY_FUSE && (!source || !strcmp(entry.source, source));
    mount_entry_clear(&entry);
    return ours;
}

static int check_mountpoint(const struct nfs_fuse_options *o, struct start_failure *fail)
{
    /* Asked of the mount table first: a stat of a hung bridge's mount would hang too. */
    if (bridge_mounted_at(o->mountpoint, NULL))
        return start_fail(fail, o, -EBUSY,
                          "a ferry NFS bridge is already mounted there (if its process is gone: umount -l %s)",
                          o->mountpoint);
    struct stat st;
    if (stat(o->mountpoint, &st) < 0) {
        int err = -errno;
        if (err == -ENOTCONN)
            return start_fail(fail, o, err, "a dead FUSE mount is there (%s); unmount it with 'umount -l %s'",
                              strerror(-err), o->mountpoint);
        return start_fail(fail, o, err, "mount point: %s", strerror(-err));
    }
    if (!S_ISDIR(st.st_mode))
        return start_fail(fail, o, -ENOTDIR, "the mount point is not a directory");
    return 0;
}

static int options_check(const struct nfs_fuse_options *o, struct start_failure *fail)
{
    if (!o->url || !*o->url)
        return start_fail(fail, o, -EINVAL, "no NFS URL given");
    if (!o->mountpoint || !*o->mountpoint)
        return start_fail(fail, o, -EINVAL, "no mount point given");
    if (o->mountpoint[0] != '/')
        return start_fail(fail, o, -EINVAL, "the mount point must be an absolute path");
    if (!o->fsname || !*o->fsname)
        return start_fail(fail, o, -EINVAL, "no fsname given");
    return 0;
}

/* The pid file is written whole (temporary file, then rename), so a reader never sees half. */
static int pidfile_write(const char *path, pid_t pid)
{
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%d", path, (int)pid) < 0)
        return -ENOMEM;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (dprintf(fd, "%d\n", (int)pid) < 0 || rename(tmp, path) < 0) {
        int err = -errno;
        unlink(tmp);
        return err;
    }
    return 0;
}

static pid_t pidfile_read(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    int pid = 0;
    if (!f || fscanf(f, "%d", &pid) != 1)
        return 0;
    return pid;
}

/* Removes the pid file if it still names PID (a later bridge may have taken it over). */
static void pidfile_remove(const char *path, pid_t pid)
{
    if (path && pidfile_read(path) == pid)
        unlink(path);
}

static char *fuse_option_escape(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        if (*s == ',' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = 0;
    return out;
}

static int bridge_mount(struct bridge *b, struct start_failure *fail)
{
    const struct nfs_fuse_options *o = b->options;
    _cleanup_free_ char *fsname = fuse_option_escape(o->fsname);
    _cleanup_free_ char *options = NULL;
    if (!fsname || asprintf(&options,
                            "allow_other,default_permissions,subtype=ferry,fsname=%s,max_read=%d", fsname,
                            NFS_FUSE_MAX_IO) < 0)
        return start_fail(fail, o, -ENOMEM, "out of memory");
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    if (fuse_opt_add_arg(&args, "ferry-nfs-fuse") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
        fuse_opt_add_arg(&args, options) < 0) {
        fuse_opt_free_args(&args);
        return start_fail(fail, o, -ENOMEM, "out of memory");
    }
    fuse_last_error[0] = 0;
    b->fuse = fuse_new(&args, &bridge_operations, sizeof(bridge_operations), b);
    fuse_opt_free_args(&args);
    if (!b->fuse)
        return start_fail(fail, o, -EINVAL, "libfuse refused the options %s: %s", options,
                          fuse_last_error[0] ? fuse_last_error : "see the log");
    if (fuse_mount(b->fuse, o->mountpoint) != 0) {
        fuse_destroy(b->fuse);
        b->fuse = NULL;
        return start_fail(fail, o, -EIO, "FUSE mount failed: %s",
                          fuse_last_error[0] ? fuse_last_error : "see the log");
    }
    struct statx stx;
    if (statx(AT_FDCWD, o->mountpoint, AT_STATX_DONT_SYNC, 0, &stx) == 0)
        b->mount_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    atomic_store(&b->mounted, true);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Stopping                                                                                  */

/* Signals are taken by one thread, never by the workers: a signal in the middle of a libnfs
 * call would turn that request into EIO. The first SIGTERM/SIGINT/SIGHUP unmounts, and the
 * FUSE loop ends when the kernel closes the connection. If files are still open there, the
 * mount is detached from the tree and served until they are closed (what is running from it
 * keeps working); a second signal stops at once. */
static void *signal_thread(void *arg)
{
    struct bridge *b = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&b->finished))
            return NULL;
        const char *mp = b->options->mountpoint;
        if (!atomic_load(&b->mounted) || atomic_exchange(&b->stop_signal, sig) != 0) {
            bridge_log("%s: stopping now, without waiting for open files", strsignal(sig));
            pidfile_remove(b->options->pid_path, getpid());
            _exit(atomic_load(&b->mounted) ? 1 : 2);
        }
        bridge_log("%s: unmounting %s", strsignal(sig), mp);
        struct statx stx;
        if (statx(AT_FDCWD, mp, AT_STATX_DONT_SYNC | AT_SYMLINK_NOFOLLOW, 0, &stx) < 0 ||
            makedev(stx.stx_dev_major, stx.stx_dev_minor) != b->mount_dev) {
            /* Someone unmounted it already; the FUSE loop is ending. */
            continue;
        }
        if (umount2(mp, UMOUNT_NOFOLLOW) == 0)
            continue;
        if (errno == EBUSY && umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
            bridge_log("%s is busy: detached; serving the files still open until they are closed "
                       "(signal again to stop at once)", mp);
            continue;
        }
        bridge_log_error("cannot unmount %s: %m; stopping at once", mp);
        pidfile_remove(b->options->pid_path, getpid());
        _exit(1);
    }
    return NULL;
}

static void signals_block(sigset_t *old)
{
    static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < ARRAY_SIZE(stop_signals); i++) {
        sigaddset(&set, stop_signals[i]);
        /* An ignored signal never reaches sigwait (a shell's background job ignores SIGINT). */
        struct sigaction sa;
        if (sigaction(stop_signals[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            signal(stop_signals[i], SIG_DFL);
    }
    pthread_sigmask(SIG_BLOCK, &set, old);
    /* A server or a reader that went away must come back as EPIPE, not kill the bridge. */
    signal(SIGPIPE, SIG_IGN);
}

/* Ends the signal thread with a signal of its own (cancelling a thread in sigwait upsets
 * AddressSanitizer), then gives the caller its signal mask back. */
static void signals_stop(struct bridge *b, pthread_t thread, const sigset_t *old_mask)
{
    atomic_store(&b->finished, true);
    pthread_kill(thread, SIGTERM);
    pthread_join(thread, NULL);
    pthread_sigmask(SIG_SETMASK, old_mask, NULL);
}

static int log_open(const char *path)
{
    if (!path)
        return 0;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
        return -errno;
    return 0;
}

/* The kernel caps a FUSE mount's readahead at 128 KiB whatever max_readahead says; buffered
 * sequential reads (qemu-img convert, cp) go about 1.7 times faster with 1 MiB. Best effort. */
static void readahead_raise(dev_t dev)
{
    char path[96];
    snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || dprintf(fd, "%d\n", NFS_FUSE_MAX_IO / 1024) < 0)
        bridge_log("cannot raise the readahead in %s: %m; reads stay at 128 KiB per request", path);
}

/* The mount is ready when a stat of its root has gone all the way (kernel, FUSE INIT, this
 * bridge, the server) and back: only then is OK reported. If it fails, the mount is taken
 * down, which ends the FUSE loop. */
static void *readiness_probe(void *arg)
{
    struct bridge *b = arg;
    const struct nfs_fuse_options *o = b->options;
    struct statx stx;
    int err = -EIO;
    if (statx(AT_FDCWD, o->mountpoint, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx) < 0)
        err = -errno;
    else if (makedev(stx.stx_dev_major, stx.stx_dev_minor) == b->mount_dev) {
        readahead_raise(b->mount_dev);
        b->reported = true;
        bridge_log("mounted %s at %s (pid %d, %u NFS connection%s)", o->fsname, o->mountpoint, (int)getpid(),
                   b->connection_count, b->connection_count == 1 ? "" : "s");
        report_ready(b->ready_fd, NULL);
        return NULL;
    }
    if (!atomic_load(&b->mounted))
        return NULL; /* the session ended first; the main thread reports */
    struct start_failure fail;
    b->probe_error = start_fail(&fail, o, err, "the new mount does not answer: %s", strerror(-err));
    b->reported = true;
    bridge_log_error("%s", fail.message);
    report_ready(b->ready_fd, &fail);
    if (bridge_mounted_at(o->mountpoint, o->fsname))
        umount2(o->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
    return NULL;
}

/* The whole life of a bridge: log, checks, connect (bounded), mount, report, serve, stop. */
static int bridge_serve(const struct nfs_fuse_options *o, int ready_fd, unsigned connect_timeout_ms)
{
    struct start_failure fail = { 0 };
    struct bridge b = { .options = o };
    pid_t self = getpid();
    bool pidfile_written = false, signals_started = false;
    sigset_t old_mask;
    pthread_t signals;
    int r;

    r = options_check(o, &fail);
    if (r == 0 && (r = log_open(o->log_path)) < 0)
        start_fail(&fail, o, r, "cannot open the log %s: %s", o->log_path, strerror(-r));
    if (r < 0)
        goto failed;
    fuse_set_log_func(bridge_log_from_fuse);
    bridge_log("starting: export %s (%s) at %s", o->fsname, o->url, o->mountpoint);

    signals_block(&old_mask);
    if ((r = -pthread_create(&signals, NULL, signal_thread, &b)) < 0) {
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        start_fail(&fail, o, r, "cannot start the signal thread: %s", strerror(-r));
        goto failed;
    }
    signals_started = true;

    if ((r = check_mountpoint(o, &fail)) < 0)
        goto failed;
    if (o->pid_path) {
        if ((r = pidfile_write(o->pid_path, self)) < 0) {
            start_fail(&fail, o, r, "cannot write the pid file %s: %s", o->pid_path, strerror(-r));
            goto failed;
        }
        pidfile_written = true;
    }
    if ((r = bridge_connect(&b, connect_timeout_ms, &fail)) < 0)
        goto failed;
    if ((r = bridge_mount(&b, &fail)) < 0)
        goto failed;

    pthread_t probe;
    b.ready_fd = ready_fd;
    if ((r = -pthread_create(&probe, NULL, readiness_probe, &b)) < 0) {
        start_fail(&fail, o, r, "cannot start the readiness probe: %s", strerror(-r));
        fuse_unmount(b.fuse);
        fuse_destroy(b.fuse);
        goto failed;
    }

    struct fuse_loop_config *loop = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(loop, 16);
    r = fuse_loop_mt(b.fuse, loop);
    fuse_loop_cfg_destroy(loop);
    if (r != 0) {
        r = r > 0 ? -r : r;
        bridge_log_error("the FUSE session ended with %s", strerror(-r));
    }
    fuse_unmount(b.fuse);
    atomic_store(&b.mounted, false);
    pthread_join(probe, NULL);
    fuse_destroy(b.fuse);
    bridge_disconnect(&b);
    signals_stop(&b, signals, &old_mask);
    pidfile_remove(o->pid_path, self);
    if (!b.reported) {
        /* The kernel or libfuse ended the session before the mount ever answered. */
        start_fail(&fail, o, r < 0 ? r : -EPROTO, "the FUSE session ended before the mount answered: %s",
                   fuse_last_error[0] ? fuse_last_error : "see the log");
        bridge_log_error("%s", fail.message);
        report_ready(ready_fd, &fail);
        return fail.error;
    }
    bridge_log("stopped: %s is no longer mounted at %s", o->fsname, o->mountpoint);
    return b.probe_error ? b.probe_error : r;

failed:
    if (b.connection_count)
        bridge_disconnect(&b);
    if (pidfile_written)
        pidfile_remove(o->pid_path, self);
    if (signals_started)
        signals_stop(&b, signals, &old_mask);
    bridge_log_error("%s", fail.message);
    report_ready(ready_fd, &fail);
    return fail.error;
}

int nfs_fuse_run(const struct nfs_fuse_options *o, int ready_fd)
{
    return bridge_serve(o, ready_fd, NFS_FUSE_RUN_CONNECT_TIMEOUT_MS);
}

/* ---------------------------------------------------------------------------------------- */
/* Starting in the background                                                                */

/* The bridge process: a grandchild of the caller, in its own session, so that it outlives the
 * caller and is nobody's zombie. It tells its pid first, then OK or ERR. */
static _Noreturn void bridge_daemon(const struct nfs_fuse_options *o, int ready_fd, unsigned timeout_ms)
{
    dprintf(ready_fd, "PID %d\n", (int)getpid());
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    if (chdir("/") < 0)
        _exit(1);
    /* Nothing of the caller's but stdio and the pipe: a caller's pipe held open by a daemon
     * would never see end-of-file. */
    if (ready_fd > 3)
        close_range(3, ready_fd - 1, 0);
    close_range(ready_fd + 1, ~0U, 0);
    umask(022);
    /* The child leaves the parent's last fifth of the wait to report its own, precise error. */
    unsigned budget = timeout_ms - timeout_ms / 5;
    int r = bridge_serve(o, ready_fd, budget > 0 ? budget : 1);
    _exit(r < 0 ? 1 : 0);
}

static bool process_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return true;
    buf[n] = 0;
    const char *state = strrchr(buf, ')');
    /* A zombie is gone: its parent (init, or a subreaper) reaps it when it gets to it. */
    return !state || state[1] == 0 || state[2] == 'Z' || state[2] == 'X';
}

/* After a bridge that did not report in time has been killed: nothing of it may remain. */
static void start_cleanup(const struct nfs_fuse_options *o, pid_t pid)
{
    for (int i = 0; i < 200 && !process_gone(pid); i++)
        usleep(10000);
    pidfile_remove(o->pid_path, pid);
    if (bridge_mounted_at(o->mountpoint, o->fsname))
        umount2(o->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
}

static int start_error(char **error, const struct nfs_fuse_options *o, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int start_error(char **error, const struct nfs_fuse_options *o, int err, const char *fmt, ...)
{
    struct start_failure fail;
    char cause[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    start_fail(&fail, o, err, "%s", cause);
    *error = strdup(fail.message);
    return fail.error;
}

/* Reads the bridge's report (PID, then OK or ERR) until END_MS; returns 1 for OK, 0 for ERR
 * (with fail filled in), -ETIMEDOUT, or -EPIPE when the bridge went away without a word. */
static int start_wait(int fd, long long end_ms, pid_t *pid, struct start_failure *fail)
{
    char buf[2048];
    size_t len = 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', len))) {
            *nl = 0;
            int err = 0, consumed = 0;
            if (sscanf(buf, "PID %d", pid) == 1) {
                /* the bridge's pid, first */
            } else if (!strcmp(buf, "OK")) {
                return 1;
            } else if (sscanf(buf, "ERR %d %n", &err, &consumed) == 1 && consumed > 0) {
                fail->error = err < 0 ? err : -EIO;
                snprintf(fail->message, sizeof(fail->message), "%s", buf + consumed);
                return 0;
            }
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len);
        }
        long long left = end_ms - monotonic_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return -ETIMEDOUT;
        ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -EPIPE;
        len += (size_t)got;
        if (len == sizeof(buf) - 1)
            len = 0; /* a line that long is not ours */
    }
}

int nfs_fuse_start(const struct nfs_fuse_options *o, unsigned timeout_ms, pid_t *pid, char **error)
{
    struct start_failure fail = { 0 };
    *error = NULL;
    *pid = 0;
    if (options_check(o, &fail) < 0) {
        *error = strdup(fail.message);
        return fail.error;
    }
    long long end_ms = monotonic_ms() + timeout_ms;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return start_error(error, o, -errno, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t middle = fork();
    if (middle < 0) {
        int err = -errno;
        close(fds[0]);
        close(fds[1]);
        return start_error(error, o, err, "fork: %s", strerror(-err));
    }
    if (middle == 0) {
        close(fds[0]);
        setsid();
        pid_t bridge = fork();
        if (bridge == 0)
            bridge_daemon(o, fds[1], timeout_ms);
        _exit(bridge < 0 ? 1 : 0);
    }
    close(fds[1]);
    _cleanup_close_ int fd = fds[0];
    int status;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
        ;

    pid_t bridge = 0;
    int r = start_wait(fd, end_ms, &bridge, &fail);
    if (r == 1) {
        *pid = bridge;
        return 0;
    }
    if (r == 0) {
        /* The bridge cleaned up before it reported; give it the rest of the wait to exit. */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        long long left = end_ms - monotonic_ms();
        char sink[256];
        while (left > 0 && poll(&p, 1, (int)left) > 0 && read(fd, sink, sizeof(sink)) > 0)
            left = end_ms - monotonic_ms();
        *error = strdup(fail.message);
        return fail.error;
    }
    if (bridge > 0) {
        kill(bridge, SIGKILL);
        start_cleanup(o, bridge);
    }
    if (r == -ETIMEDOUT)
        return start_error(error, o, -ETIMEDOUT, "no answer from the bridge within %u ms; it was stopped (log: %s)",
                           timeout_ms, o->log_path ? o->log_path : "stderr");
    return start_error(error, o, -ECHILD, "the bridge exited during start-up (log: %s)",
                       o->log_path ? o->log_path : "stderr");
}
