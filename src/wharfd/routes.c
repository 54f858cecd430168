#include "wharfd/routes.h"

#include <string.h>

#include "app.h"
#include "aws/dispatch.h"
#include "core/xalloc.h"
#include "http/metrics.h"
#include "registry/registry.h"
#include "store/store.h"

static void health_end(struct http_req *req, struct http_resp *resp)
{
    const struct wharf_app *app = req->app;
    struct wh_err err = {0};
    /* The store answers a statement: the database file is open and readable. */
    bool ok = store_ping(app->st, &err) == 0;
    char *body = ok ? xstrdup("{\"status\":\"ok\",\"store\":\"ok\"}\n")
                    : xasprintf("{\"status\":\"unavailable\",\"store\":\"%s\"}\n", err.msg);
    http_resp_set_body(resp, ok ? 200 : 503, "application/json", body, strlen(body));
}

static void metrics_end(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    char *body = metrics_render();
    http_resp_set_body(resp, 200, "text/plain; version=0.0.4", body, strlen(body));
}

static const struct http_route health_route = {.name = "health", .max_body = 1, .on_end = health_end};
static const struct http_route metrics_route = {.name = "metrics", .max_body = 1, .on_end = metrics_end};

static const struct {
    const char *method;
    const char *path;
    const struct http_route *route;
} routes[] = {
    {"POST", "/", &aws_route},
    {"GET", "/health", &health_route},
    {"GET", "/metrics", &metrics_route},
};

const struct http_route *wharfd_route(const char *method, const char *path)
{
    if (strncmp(path, "/v2/", 4) == 0 || strcmp(path, "/v2") == 0)
        return &registry_route; /* every method; the registry routes within */
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return routes[i].route;
    return NULL;
}
