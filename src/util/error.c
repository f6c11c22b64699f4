#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[256];

static const char *const status_msg[] = {
#define JAVM_X_MSG(name, msg) msg,
    JAVM_STATUS_LIST(JAVM_X_MSG)
#undef JAVM_X_MSG
};

JAVM_API const char *javm_status_str(javm_status s) {
    if ((unsigned)s >= JAVM_STATUS_COUNT) return "unknown status";
    return status_msg[s];
}

JAVM_API const char *javm_last_error(void) { return last_error; }

javm_status jv_set_error(javm_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void jv_clear_error(void) { last_error[0] = 0; }

JAVM_API const char *javm_version(void) { return JAVM_VERSION_STRING; }
