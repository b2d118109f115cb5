/*
 * The command groups the ferry binary dispatches to; each lives in the library of its
 * area (storage/, migrate/, migrate/stream/, fsck/, common/).
 */
#pragma once

#include "command.h"

extern const struct command_doc storage_doc;
int cmd_storage(int argc, char **argv, struct ferry_context *ctx);

extern const struct command_doc migrate_doc;
int cmd_migrate(int argc, char **argv, struct ferry_context *ctx);

extern const struct command_doc copy_doc;
int cmd_copy(int argc, char **argv, struct ferry_context *ctx);

extern const struct command_doc fsck_doc;
int cmd_fsck(int argc, char **argv, struct ferry_context *ctx);

extern const struct command_doc config_doc;
int cmd_config(int argc, char **argv, struct ferry_context *ctx);
