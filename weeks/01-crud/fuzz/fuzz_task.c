/* fuzz_task.c — libFuzzer target: any bytes a client can send as a task body.
 *
 * Runs the exact path a POST/PATCH body takes before it reaches storage: the strict JSON pass
 * (fuzzed on its own by shared/fuzz/fuzz_json.c), then week 1's task rules for create and for
 * patch, and rendering a valid task back to JSON. libFuzzer mutates inputs to reach new
 * branches; AddressSanitizer and UBSan turn any out-of-bounds read, leak or undefined behaviour
 * into a crash with a reproducer file. `make fuzz` runs it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "field_errors.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct field_errors *errs = field_errors_new();
    cJSON *tree = NULL;
    const char *why = NULL;
    if (!errs)
        return 0;
    if (json_parse_strict((const char *)data, size, &tree, errs, &why) == 0 &&
        cJSON_IsObject(tree)) {
        struct task t;
        task_init(&t);
        if (task_from_json(tree, &t, errs) == 0) {
            cJSON *out = task_to_json(&t);
            char *text = out ? cJSON_PrintUnformatted(out) : NULL;
            cJSON_free(text);
            cJSON_Delete(out);
        }
        task_clear(&t);
        struct field_errors *perrs = field_errors_new();
        struct task_patch p;
        task_patch_init(&p);
        if (perrs && task_patch_from_json(tree, &p, perrs) == 0) {
            struct task base;
            task_init(&base);
            task_apply_patch(&base, &p);
            task_clear(&base);
        }
        task_patch_clear(&p);
        field_errors_free(perrs);
    }
    cJSON_Delete(tree);
    field_errors_free(errs);
    return 0;
}
