/*
 * The configuration is loaded when a command first asks for it, so `--help` works even
 * with a broken file, and a command that runs never runs on a bad configuration.
 */
#include "command.h"

#include "config.h"
#include "log.h"

#include <stdlib.h>

struct ferry_config *context_config(struct ferry_context *ctx)
{
    char *error = NULL;
    if (ctx->config)
        return ctx->config;
    if (config_load(ctx->config_path, &ctx->config, &error) < 0) {
        log_error("%s", error ? error : "cannot load the configuration");
        free(error);
        return NULL;
    }
    return ctx->config;
}
