/* docs_http.h — GET /docs: interactive API docs (Swagger UI) over the service's own
 * GET /openapi.json, like FastAPI's /docs. */
#ifndef TASKD_DOCS_HTTP_H
#define TASKD_DOCS_HTTP_H

struct app;

/* Adds GET /docs (the page) and GET /docs/{asset} (Swagger UI's files, embedded at build time
 * from the npm package swagger-ui-dist that shared/scripts/install-deps.sh fetches; nothing comes
 * from a CDN). A build made without the package still serves /docs: a page that says how to get
 * it. 0 or an ERR_ code. */
int docs_register(struct app *app);

#endif
