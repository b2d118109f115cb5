/*
 * Immutable attribute (FS_IOC_SETFLAGS) plus mode 000 on an unmounted mount point.
 */
#include "guard.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static int open_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

static int flags_get(int fd, int *flags)
{
    return ioctl(fd, FS_IOC_GETFLAGS, flags) < 0 ? -errno : 0;
}

static int flags_set(int fd, int flags)
{
    return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

static bool unsupported(int r)
{
    return r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL;
}

int guard_read(const char *dir, struct guard_state *state)
{
    _cleanup_close_ int fd = open_dir(dir);
    struct stat st;
    int flags = 0;
    memset(state, 0, sizeof(*state));
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        return -errno;
    state->mode_zero = (st.st_mode & 07777) == 0;
    int r = flags_get(fd, &flags);
    state->immutable_supported = !unsupported(r);
    if (r < 0 && !unsupported(r))
        return r;
    state->immutable = r == 0 && (flags & FS_IMMUTABLE_FL);
    return 0;
}

static int fail(char **error, int r, const char *dir, const char *what)
{
    if (asprintf(error, "cannot guard mount point %s: %s: %s", dir, what, strerror(-r)) < 0)
        *error = NULL;
    return r;
}

int guard_apply(const char *dir, struct guard_state *state, char **error)
{
    _cleanup_close_ int fd = open_dir(dir);
    int flags = 0;
    *error = NULL;
    if (fd < 0)
        return fail(error, fd, dir, "open");
    int r = flags_get(fd, &flags);
    if (r < 0 && !unsupported(r))
        return fail(error, r, dir, "read attributes");
    /* An immutable directory's mode cannot change: clear the flag, chmod, set it again. */
    if (r == 0 && (flags & FS_IMMUTABLE_FL)) {
        r = flags_set(fd, flags & ~FS_IMMUTABLE_FL);
        if (r < 0)
            return fail(error, r, dir, "clear immutable attribute");
    }
    if (fchmod(fd, 0) < 0)
        return fail(error, -errno, dir, "chmod 000");
    if (r == 0) {
        r = flags_set(fd, flags | FS_IMMUTABLE_FL);
        if (r < 0 && !unsupported(r))
            return fail(error, r, dir, "set immutable attribute");
    }
    return guard_read(dir, state);
}

int guard_lift(const char *dir, unsigned mode, char **error)
{
    _cleanup_close_ int fd = open_dir(dir);
    int flags = 0;
    *error = NULL;
    if (fd < 0)
        return fail(error, fd, dir, "open");
    int r = flags_get(fd, &flags);
    if (r == 0 && (flags & FS_IMMUTABLE_FL)) {
        r = flags_set(fd, flags & ~FS_IMMUTABLE_FL);
        if (r < 0)
            return fail(error, r, dir, "clear immutable attribute");
    }
    if (fchmod(fd, mode) < 0)
        return fail(error, -errno, dir, "chmod");
    return 0;
}
