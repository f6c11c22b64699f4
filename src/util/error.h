/* util — error reporting shared by every layer.
 *
 * Public functions return a javm_status; the detail ("program: code length 12 exceeds the 7
 * bytes left at offset 3") goes to a thread-local buffer read by javm_last_error(). Layers
 * report with `return jv_set_error(JAVM_ERR_..., "fmt", ...);`. */
#ifndef JV_UTIL_ERROR_H
#define JV_UTIL_ERROR_H

#include "javm.h"

/* Formats the message into this thread's buffer and returns s (for `return jv_set_error(...)`). */
javm_status jv_set_error(javm_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jv_clear_error(void);

#endif
