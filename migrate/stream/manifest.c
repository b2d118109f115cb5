/*
 * The manifest of a partial copy: a few "key = value" lines beside the data
 * (NAME.ferry-partial.manifest) that say what is being copied (the source's size, mtime and
 * the checksum of its first chunk: the source's identity), how far the data file is known to
 * be complete, and the checksum state at that point. A later run resumes only when the
 * source is the same one. People and fsck can read it; unknown keys are ignored.
 */
#include "stream_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAGIC "# ferry copy: partial copy manifest, format 1"

int manifest_format(const struct manifest *m, char **text)
{
    int n = asprintf(text,
                     MANIFEST_MAGIC "\n"
                     "# the data of an unfinished copy; `ferry copy` with the same source resumes it,\n"
                     "# --no-resume (or removing both files) discards it.\n"
                     "data = %s\n"
                     "source = %s\n"
                     "source_size = %" PRIu64 "\n"
                     "source_mtime_ns = %" PRIu64 "\n"
                     "source_head = %s\n"
                     "chunk_size = %" PRIu32 "\n"
                     "done = %" PRIu64 "\n"
                     "data_bytes = %" PRIu64 "\n"
                     "%s%s%s",
                     m->data, m->source, m->source_size, m->source_mtime_ns, m->source_head, m->chunk_size, m->done,
                     m->data_bytes, m->hash_state ? "hash_state = " : "", m->hash_state ? m->hash_state : "",
                     m->hash_state ? "\n" : "");
    return n < 0 ? -ENOMEM : 0;
}

static int parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*v || *v == '-')
        return -EINVAL;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = x;
    return 0;
}

static int bad(char **error, const char *what)
{
    if (asprintf(error, "the manifest %s", what) < 0)
        *error = NULL;
    return -EINVAL;
}

int manifest_parse(const char *text, struct manifest *m, char **error)
{
    _cleanup_free_ char *copy = strdup(text);
    unsigned seen = 0;
    uint64_t chunk = 0;
    *error = NULL;
    memset(m, 0, sizeof(*m));
    if (!copy)
        return -ENOMEM;
    if (strncmp(text, MANIFEST_MAGIC "\n", strlen(MANIFEST_MAGIC) + 1))
        return bad(error, "is not a ferry manifest of format 1");
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *eq = strstr(line, " = ");
        if (!eq)
            return bad(error, "has a line that is not \"key = value\"");
        *eq = 0;
        const char *k = line, *v = eq + 3;
        int r = 0;
        if (!strcmp(k, "data")) {
            r = copy_string(m->data, sizeof(m->data), v) && !strchr(v, '/') && *v ? 0 : -EINVAL;
            seen |= 1;
        } else if (!strcmp(k, "source")) {
            copy_string(m->source, sizeof(m->source), v);
        } else if (!strcmp(k, "source_size")) {
            r = parse_u64(v, &m->source_size);
            seen |= 2;
        } else if (!strcmp(k, "source_mtime_ns")) {
            r = parse_u64(v, &m->source_mtime_ns);
            seen |= 4;
        } else if (!strcmp(k, "source_head")) {
            r = strlen(v) == 32 ? 0 : -EINVAL;
            copy_string(m->source_head, sizeof(m->source_head), v);
            seen |= 8;
        } else if (!strcmp(k, "chunk_size")) {
            r = parse_u64(v, &chunk);
            if (r == 0 && (chunk == 0 || chunk % 65536 || chunk > (1u << 30)))
                r = -EINVAL;
            m->chunk_size = (uint32_t)chunk;
            seen |= 16;
        } else if (!strcmp(k, "done")) {
            r = parse_u64(v, &m->done);
            seen |= 32;
        } else if (!strcmp(k, "data_bytes")) {
            r = parse_u64(v, &m->data_bytes);
            seen |= 64;
        } else if (!strcmp(k, "hash_state")) {
            free(m->hash_state);
            m->hash_state = strdup(v);
            if (!m->hash_state)
                return -ENOMEM;
        }
        if (r < 0) {
            manifest_clear(m);
            char what[300];
            snprintf(what, sizeof(what), "has a bad value for %s", k);
            return bad(error, what);
        }
    }
    if (seen != 127) {
        manifest_clear(m);
        return bad(error, "lacks a required key");
    }
    if (m->done > m->source_size || (m->done % m->chunk_size && m->done != m->source_size) ||
        m->data_bytes > m->done) {
        manifest_clear(m);
        return bad(error, "has a checkpoint beyond the source or off a chunk boundary");
    }
    return 0;
}

void manifest_clear(struct manifest *m)
{
    free(m->hash_state);
    m->hash_state = NULL;
}
