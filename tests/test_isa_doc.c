/* docs/ISA.md's instruction list is generated from opcodes.def: this test regenerates it and
 * compares it with the section between the "opcodes.def" markers. `test_isa_doc --print` prints
 * the section (paste it between the markers after changing the table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvm/pvm.h"

#define BEGIN "<!-- opcodes.def: begin -->\n"
#define END "<!-- opcodes.def: end -->\n"

static const char *const class_names[JV_CLASS_COUNT] = {
    "A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "A11", "A12",
};

/* The generated section (malloc'd). */
static char *generate(void) {
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    n += (size_t)snprintf(out + n, cap - n, "| instruction | gp07 | gp08 | class | flags | semantics |\n"
                                            "|---|---:|---:|---|---|---|\n");
    for (unsigned i = 0; i < JV_PVM_NUM_OPCODES; i++) {
        const jv_pvm_opinfo *o = jv_pvm_opinfo_of_iop(i);
        char b[2][8], flags[16] = "";
        for (int d = 0; d < 2; d++) {
            if (o->bytes[d] < 0) snprintf(b[d], sizeof b[d], "—");
            else snprintf(b[d], sizeof b[d], "%d", o->bytes[d]);
        }
        size_t f = 0;
        if (o->flags & JV_OP_TERM) f += (size_t)snprintf(flags + f, sizeof flags - f, "T");
        if (o->flags & JV_OP_BRANCH) f += (size_t)snprintf(flags + f, sizeof flags - f, " B");
        if (o->flags & JV_OP_LOAD) f += (size_t)snprintf(flags + f, sizeof flags - f, "L%u", o->width);
        if (o->flags & JV_OP_STORE) f += (size_t)snprintf(flags + f, sizeof flags - f, "S%u", o->width);
        char sem[256];
        size_t k = 0;
        for (const char *s = o->semantics; *s && k + 3 < sizeof sem; s++) { /* escape table pipes */
            if (*s == '|') sem[k++] = '\\';
            sem[k++] = *s;
        }
        sem[k] = 0;
        if (cap - n < 512) out = realloc(out, cap *= 2);
        n += (size_t)snprintf(out + n, cap - n, "| `%s` | %s | %s | %s | %s | %s |\n", o->name, b[0],
                              b[1], class_names[o->cls], flags, sem);
    }
    return out;
}

static void list_matches_table(void **state) {
    (void)state;
    FILE *f = fopen("docs/ISA.md", "rb");
    assert_non_null(f);
    static char doc[1 << 17];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = 0;
    char *a = strstr(doc, BEGIN), *b = a ? strstr(a, END) : NULL;
    assert_non_null(a);
    assert_non_null(b);
    a += strlen(BEGIN);
    char *want = generate();
    if ((size_t)(b - a) != strlen(want) || memcmp(a, want, strlen(want)))
        fail_msg("docs/ISA.md's instruction list differs from opcodes.def: regenerate it with "
                 "build/tests/test_isa_doc --print");
    free(want);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--print")) {
        char *s = generate();
        fputs(s, stdout);
        free(s);
        return 0;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(list_matches_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
