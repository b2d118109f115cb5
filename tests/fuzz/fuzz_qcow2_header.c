/*
 * libFuzzer target for fsck's qcow2 header reader: any bytes, as the first bytes of a file
 * of any size, must parse to a status without reading outside the buffer, and a "need
 * more" answer must be consistent (never more than the file, never asked twice once given).
 *
 * The first 8 bytes of the input choose the file size the parser is told (so that sizes
 * far beyond the buffer, and smaller than it, are explored); the rest is the file's start.
 */
#include "qcow2.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t file_size = 0;
    if (size >= 8) {
        for (int i = 0; i < 8; i++)
            file_size = file_size << 8 | data[i];
        data += 8;
        size -= 8;
    }
    /* A copy of exactly size bytes, so that ASan catches any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    struct qcow2_info info;
    enum qcow2_status s = qcow2_parse(buf, size, file_size, &info);
    if (s != QCOW2_NOT_QCOW2 && s != QCOW2_VALID && s != QCOW2_INVALID)
        abort();
    uint64_t effective = file_size < size ? size : file_size;
    if (info.need > QCOW2_MAX_READ || info.need > effective)
        abort();
    if (info.has_backing && strlen(info.backing_name) != info.h.backing_file_size)
        abort();
    /* Given all it asked for, it never asks again. */
    if (info.need && info.need <= size) {
        qcow2_parse(buf, info.need, file_size, &info);
        if (info.need)
            abort();
    }
    /* The same bytes as a whole file. */
    qcow2_parse(buf, size, size, &info);
    if (info.need > size)
        abort();
    image_format_detect(buf, size);
    config_drive_detect(buf, size);
    free(buf);
    return 0;
}
