/* unit_dockerfile.h — a Dockerfile read the way `docker build` reads it, for week 6's checker.
 *
 * Hadolint is not packaged for Debian, so week 6 grades the learner's Dockerfile with rules of
 * its own (unit_container_lint.c), and those rules need the file as the builder sees it: parser
 * directives (`# escape=`), comments, instructions in any case, lines joined by the escape
 * character, heredocs, and stages, each with the stage it is built FROM (an image inherits
 * USER, HEALTHCHECK, STOPSIGNAL and ENTRYPOINT from there). Every instruction keeps the line it
 * starts on, so a rule can say path:line.
 *
 * It sits in tests/support/: the unit suites of later weeks link it, to check the images they
 * add. Nothing here judges the file: it only reads it. */
#ifndef TASKD_UNIT_DOCKERFILE_H
#define TASKD_UNIT_DOCKERFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct dockerfile_instr {
    int line;         /* the line it starts on, 1-based */
    char keyword[16]; /* upper case: FROM, RUN, COPY... */
    char *args;       /* the rest, continuation lines joined (a heredoc's body after a newline) */
    int stage;        /* the stage it belongs to; -1 before the first FROM (global ARGs) */
};

struct dockerfile_stage {
    int line;            /* its FROM's */
    char name[64];       /* `AS name` in lower case (names are case-insensitive), "" without */
    char image[256];     /* what FROM names, as written: ${BASE}, runtime, debian:bookworm-slim */
    int parent;          /* the earlier stage that image names, or -1 (an image) */
    size_t first, count; /* its instructions, its FROM first */
};

struct dockerfile;

/* Reads and parses the file at path. 0, or ERR_IO (unreadable), ERR_MALFORMED (not a
 * Dockerfile: an unknown instruction, something before the first FROM that is not an ARG, a
 * stage name used twice, no FROM) or ERR_NOMEM, with why saying what and where
 * ("compose/Dockerfile:12: ..."). The caller frees *out with dockerfile_free. */
int dockerfile_parse(const char *path, struct dockerfile **out, char *why, size_t why_len);
void dockerfile_free(struct dockerfile *df);

/* The path it was read from, as given. */
const char *dockerfile_path(const struct dockerfile *df);
size_t dockerfile_instr_count(const struct dockerfile *df);
const struct dockerfile_instr *dockerfile_instr(const struct dockerfile *df, size_t i);
size_t dockerfile_stage_count(const struct dockerfile *df);
const struct dockerfile_stage *dockerfile_stage(const struct dockerfile *df, size_t i);
/* The stage a reference names, as FROM and COPY --from= resolve it: a name (any case) or an
 * index ("0"); NULL when it names none (it is then an image). */
const struct dockerfile_stage *dockerfile_stage_find(const struct dockerfile *df, const char *ref);
/* True when s is ancestor or is built FROM it, directly or through other stages. */
bool dockerfile_inherits(const struct dockerfile *df, const struct dockerfile_stage *s,
                         const struct dockerfile_stage *ancestor);
/* The stages whose instructions make s's image, the oldest first, s last; their number (at most
 * max are stored). */
size_t dockerfile_chain(const struct dockerfile *df, const struct dockerfile_stage *s,
                        const struct dockerfile_stage **out, size_t max);
/* What s's image ends with for keyword (USER, HEALTHCHECK...): the last such instruction of s or,
 * when s has none, of the stage it is built FROM, and so on; NULL when no stage of the chain has
 * one (the image then has its base image's). */
const struct dockerfile_instr *
dockerfile_last(const struct dockerfile *df, const struct dockerfile_stage *s, const char *keyword);

/* ---- reading an instruction's arguments ---- */

/* The value of the option --name=value among the options that start args (COPY --from=build,
 * HEALTHCHECK --interval=5s); false when it is not there. */
bool dockerfile_flag(const char *args, const char *name, char *value, size_t value_len);
/* args after its leading --options. */
const char *dockerfile_skip_flags(const char *args);
/* The exec form: text (after any options) is a JSON array of strings, as the builder decides it
 * (anything else is the shell form, run by /bin/sh -c). The array, which the caller deletes, or
 * NULL. */
cJSON *dockerfile_exec_form(const char *text);
/* The next word of *p with the builder's quoting ("...", '...', backslash), into word; advances
 * *p. False at the end. */
bool dockerfile_word(const char **p, char *word, size_t word_len);

/* The NAME=value pairs of an ENV, ARG or LABEL (ENV NAME value, the old form, too). */
struct dockerfile_kv {
    char key[128];
    char value[1024];
    bool has_value; /* ARG NAME alone has none */
};
size_t dockerfile_pairs(const struct dockerfile_instr *in, struct dockerfile_kv *out, size_t max);
/* text with $NAME and ${NAME} replaced by what the builder would put there at the end of stage s
 * (an ENV or ARG default of s or of the stages it is built FROM, then a global ARG default).
 * False when a name has no value this file gives it (out then holds the text as far as it got). */
bool dockerfile_expand(const struct dockerfile *df, const struct dockerfile_stage *s,
                       const char *text, char *out, size_t out_len);

#endif
