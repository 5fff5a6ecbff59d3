/* fuzz_json.c — libFuzzer target: any bytes a client can send as a JSON body.
 *
 * Runs the strict JSON pass every request body takes (json_parse_strict: depth, NUL and lone
 * surrogate escapes, duplicate keys), and renders an accepted tree back to compact JSON. What a
 * week does with the tree is fuzzed with that week (weeks/01-crud/fuzz/fuzz_task.c). libFuzzer
 * mutates inputs to reach new branches; AddressSanitizer and UBSan turn any out-of-bounds read,
 * leak or undefined behaviour into a crash with a reproducer file. `make fuzz` runs it. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "field_errors.h"

/* One strict parse, rendering what it accepts; errs may be NULL (rule breaks not collected). */
static void parse_and_render(const uint8_t *data, size_t size, struct field_errors *errs)
{
    cJSON *tree = NULL;
    const char *why = NULL;
    if (json_parse_strict((const char *)data, size, &tree, errs, &why) != 0)
        return;
    struct buf b = BUF_INIT;
    (void)json_render(tree, &b);
    buf_free(&b);
    cJSON_Delete(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Both ways a caller may parse: without a list of rule breaks, then collecting them. */
    parse_and_render(data, size, NULL);
    struct field_errors *errs = field_errors_new();
    if (errs)
        parse_and_render(data, size, errs);
    field_errors_free(errs);
    return 0;
}
