#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[256];

JAVM_API const char *javm_status_str(javm_status s) {
    switch (s) {
#define JAVM_X_CASE(name, value, msg) \
    case name: return msg;
        JAVM_STATUS_LIST(JAVM_X_CASE)
#undef JAVM_X_CASE
    }
    return "unknown status";
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
JAVM_API int javm_version_number(void) { return JAVM_VERSION_NUMBER; }
