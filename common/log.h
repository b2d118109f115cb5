/*
 * Messages for people. Every message goes to stderr prefixed with the command that
 * printed it ("ferry storage validate: ..."), so a line in a cron mail or a CI log says
 * where it came from. Functions that fail return a negative errno; log_error_errno()
 * prints the message with %m expanded to that errno's text and returns it, so a caller
 * can write `return log_error_errno(r, "cannot open %s: %m", path);`.
 */
#pragma once

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_program(const char *name);
const char *log_program(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_message(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_message_errno(enum log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_error_errno(err, ...) log_message_errno(LOG_LEVEL_ERROR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) log_message_errno(LOG_LEVEL_WARN, (err), __VA_ARGS__)
