/* leaky.c — the fixture of shared/scripts/test-kit-main.sh: one test leaks, one does not.
 * Built with the test kit's main() and AddressSanitizer, it shows that a leak inside a test is
 * still reported although the test passes (LeakSanitizer checks when the test's process exits),
 * and that the kit's suppression of Criterion's own runner leak does not hide it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *volatile kept;

Test(fixture, leaks_a_buffer_it_forgot, .timeout = 30)
{
    char *p = malloc(77);
    cr_assert(p != NULL);
    strcpy(p, "forgotten");
    kept = p;
    kept = NULL; /* the only pointer is gone: a direct leak of 77 bytes */
}

Test(fixture, frees_what_it_allocates, .timeout = 30)
{
    char *p = malloc(33);
    cr_assert(p != NULL);
    free(p);
}
