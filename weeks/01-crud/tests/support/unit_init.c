/* unit_init.c — the process-wide initialisation main() does, for the unit suites.
 *
 * taskd runs each stage's init hook before anything else (stage1_init: libsodium), and the
 * modules rely on it instead of initialising themselves on every call. A unit suite has no
 * taskd main, so this file, linked into the unit suites of week 1 and every later week
 * (tests/support/unit_*.c), does the same before Criterion starts: a constructor runs in every
 * process of the suite, including the ones Criterion starts for each test. */
#include <stdio.h>
#include <stdlib.h>

#include "stage1.h"

__attribute__((constructor)) static void unit_init(void)
{
    if (stage1_init() != 0) {
        fprintf(stderr, "unit tests: libsodium cannot initialise; nothing random can be trusted\n");
        exit(1);
    }
}
