/* stage1.h — what stage 1 gives the stages built on it, by type.
 *
 * Every stage has the same four steps, and every program of a stage (taskd, and any other
 * program a stage adds) goes through the same ones, so they can never wire the service
 * differently:
 *
 *   stageN_declare(cfg)        the settings the stage reads (it declares stage N−1's first);
 *   stageN_open(cfg, &res)     opens the stage's resources into a struct of its own, which
 *                              embeds stage N−1's: later stages reach earlier resources through
 *                              fields they can see, never through a name;
 *   stageN_serve(app, &res)    adds the routes and middleware (weeks/NN/stage.c: HTTP only);
 *   stageN_close(&res)         releases what open made, newest first.
 *
 * Stage 1's resource is the task store. Its caller chooses the backends: stage 1 itself uses
 * week 1's (sqlite:, memory:); a later stage may pass a factory that knows more. */
#ifndef TASKD_STAGE1_H
#define TASKD_STAGE1_H

struct app;
struct config;
struct task_repo;
struct task_repo_factory;

struct stage1 {
    struct task_repo *repo; /* the store DATABASE_URL names (owned); a later stage may wrap it */
};

/* Process-wide initialisation of week 1's libraries (libsodium: randomness for instance keys,
 * MACs for cursors), once, before any thread starts. main runs it through the stage's init
 * hook; test programs call it themselves. 0 or ERR_INTERNAL. */
int stage1_init(void);

int stage1_declare(struct config *cfg);
/* Opens DATABASE_URL with the given backends. On failure *out is left empty and the reason
 * logged. 0 or an ERR_ code. */
int stage1_open(const struct config *cfg, const struct task_repo_factory *backends,
                struct stage1 *out);
void stage1_close(struct stage1 *s); /* empties s; an empty s is a no-op */
/* GET /health, the /tasks routes and the OpenAPI document, over s->repo (weeks/01-crud/stage.c).
 * s must outlive the app's server. */
int stage1_serve(struct app *app, struct stage1 *s);

#endif
