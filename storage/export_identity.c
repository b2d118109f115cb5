/*
 * `ferry storage init`, through libnfs: the identity file is created exclusively, so two
 * hosts running init at once end up agreeing on the one that got there first.
 */
#include "export_identity.h"

#include "clock.h"
#include "nfs_client.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int new_uuid(char id[EXPORT_ID_SIZE])
{
    FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
    if (!f)
        return -errno;
    bool ok = fgets(id, EXPORT_ID_SIZE, f) != NULL;
    fclose(f);
    if (!ok)
        return -EIO;
    id[strcspn(id, "\n")] = 0;
    return 0;
}

static int read_id(struct nfs_client *c, char id[EXPORT_ID_SIZE], uint64_t deadline)
{
    char text[128];
    size_t len = 0;
    int r = nfs_client_read_file(c, "/" FERRY_EXPORT_ID, text, sizeof(text) - 1, &len, deadline);
    if (r < 0)
        return r;
    text[len] = 0;
    text[strcspn(text, "\r\n \t")] = 0;
    if (strlen(text) != EXPORT_ID_SIZE - 1)
        return -EBADMSG;
    memcpy(id, text, EXPORT_ID_SIZE);
    return 0;
}

int export_identity_init(const struct export_spec *spec, unsigned timeout_ms, char id[EXPORT_ID_SIZE], bool *created,
                         char **error)
{
    struct nfs_client *c = NULL;
    uint64_t deadline = clock_monotonic_ms() + timeout_ms;
    char label[EXPORT_SPEC_FORMAT_SIZE], text[EXPORT_ID_SIZE + 1];
    int r;

    *error = NULL;
    *created = false;
    export_spec_format(spec, label, sizeof(label));
    r = nfs_client_connect(spec, deadline, &c, error);
    if (r < 0)
        return r;
    r = read_id(c, id, deadline);
    if (r == -ENOENT) {
        r = nfs_client_mkdir_p(c, "/" FERRY_AREA, 0755, deadline);
        if (r == 0)
            r = new_uuid(id);
        if (r == 0) {
            snprintf(text, sizeof(text), "%s\n", id);
            r = nfs_client_write_file(c, "/" FERRY_EXPORT_ID, text, strlen(text), 0644, NFS_WRITE_EXCLUSIVE,
                                      deadline);
            *created = r == 0;
            if (r == -EEXIST) /* another host won the race: its identity it is */
                r = read_id(c, id, deadline);
        }
    }
    if (r < 0 && asprintf(error, "cannot initialise export %s: %s", label,
                          r == -EBADMSG ? FERRY_EXPORT_ID " holds no identity: move it aside and run init again"
                          : *nfs_client_last_error(c) ? nfs_client_last_error(c)
                                                      : strerror(-r)) < 0)
        *error = NULL;
    nfs_client_free(c);
    return r;
}
