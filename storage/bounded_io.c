/*
 * One child per bounded read; the data comes back over a pipe, prefixed by the result.
 */
#include "bounded_io.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_read(const char *path, size_t size, int out)
{
    int32_t result = 0;
    char *buf = malloc(size ? size : 1);
    ssize_t n = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && buf)
        n = read(fd, buf, size);
    result = n >= 0 ? (int32_t)n : -errno;
    if (write(out, &result, sizeof(result)) == sizeof(result) && n > 0 && write(out, buf, (size_t)n) != n)
        _exit(1);
    _exit(0);
}

int bounded_read_file(const char *path, void *buf, size_t size, size_t *len, unsigned timeout_ms)
{
    int fds[2];
    uint64_t deadline = clock_monotonic_ms() + timeout_ms;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -errno;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        close(fds[0]);
        child_read(path, size, fds[1]);
    }
    close(fds[1]);

    char *data = malloc(sizeof(int32_t) + size);
    size_t got = 0, want = sizeof(int32_t) + size;
    int r = data ? 0 : -ENOMEM;
    while (r == 0 && got < want) {
        uint64_t left = clock_remaining_ms(deadline);
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        if (left == 0 || poll(&pfd, 1, (int)left) <= 0) {
            r = -ETIMEDOUT;
            break;
        }
        ssize_t n = read(fds[0], data + got, want - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    if (r == -ETIMEDOUT)
        kill(pid, SIGKILL);
    waitpid(pid, NULL, r == -ETIMEDOUT ? WNOHANG : 0);
    if (r == 0 && got < sizeof(int32_t))
        r = -EIO;
    if (r == 0) {
        int32_t result;
        memcpy(&result, data, sizeof(result));
        if (result < 0) {
            r = result;
        } else {
            *len = got - sizeof(int32_t);
            memcpy(buf, data + sizeof(int32_t), *len);
        }
    }
    free(data);
    return r;
}
