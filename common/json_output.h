/*
 * Machine output: every --json prints one JSON document on stdout, pretty-printed, with
 * no escaped slashes (paths and URIs stay readable).
 */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

/* Prints obj and a newline to out, then releases obj. Returns 0 or -EIO. */
int json_output_print(FILE *out, struct json_object *obj);
