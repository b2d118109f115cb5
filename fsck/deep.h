/*
 * --deep: `qemu-img check --output=json` on every qcow2 image, a bounded number at a time,
 * and the in-place repair that qcow2-dirty-flag asks for. Images are always opened with
 * their backing chain cut off (json:{..., "backing": null}), so qemu-img never follows a
 * backing file name anywhere, let alone out of the store.
 */
#pragma once

#include "facts.h"

#include <stddef.h>

/* The qemu-img to run: $FERRY_QEMU_IMG, else "qemu-img" from PATH. */
const char *deep_qemu_img(void);

/* The json: filename that opens path as qcow2 without its backing file. malloc'd. */
char *deep_image_spec(const char *path);

/* Fills d from qemu-img check's stdout and exit status (pure). */
void deep_parse(const char *json_text, int exit_status, struct deep_result *d);

/* Checks every qcow2 image whose header could be read and whose guest is not running,
 * jobs at a time (0: one per CPU). Results go to images[i].deep. Returns how many were checked. */
size_t deep_check_store(struct store_facts *f, unsigned jobs);

/* qemu-img check -r all on the image at path (no backing). Returns 0 when qemu-img says the
 * image is clean afterwards, else a negative errno with why filled. */
int deep_repair(const char *path, char *why, size_t size);
