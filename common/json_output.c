/*
 * One way to print JSON for every command.
 */
#include "json_output.h"

#include <errno.h>

int json_output_print(FILE *out, struct json_object *obj)
{
    const char *text =
        json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int r = fprintf(out, "%s\n", text) < 0 ? -EIO : 0;
    json_object_put(obj);
    if (fflush(out) != 0)
        r = -EIO;
    return r;
}
