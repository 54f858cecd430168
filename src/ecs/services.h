/* ECS services for the other service files (services.c, service_update.c, the controller):
 * finding the service a request names, the task definition it runs, the settings a
 * deployment's tasks are launched with. */
#pragma once
#include <jansson.h>

#include "aws/api.h"
#include "ecs/task_rules.h"
#include "store/clusters.h"
#include "store/services.h"
#include "store/taskdefs.h"

#define ERR_SERVICE_NOT_FOUND "ServiceNotFoundException"
#define ERR_SERVICE_NOT_ACTIVE "ServiceNotActiveException"

/* The service of cluster c that ref (a name or an ARN) names, any status; -ENOENT (err left
 * alone) when none. */
int ecs_service_resolve(struct api_ctx *ctx, const struct store_cluster *c, const char *ref,
                        struct store_service *ret, struct wh_err *err);
/* The ARN a reference names in cluster c (for failures). New heap string. */
char *ecs_service_ref_arn(struct api_ctx *ctx, const struct store_cluster *c, const char *ref);

/* The ACTIVE task definition ref (family, family:revision or ARN) names; ClientException
 * "TaskDefinition not found." / "TaskDefinition is inactive" as RunTask answers. */
int ecs_service_taskdef(struct api_ctx *ctx, const char *ref, struct store_taskdef **ret_td,
                        json_t **ret_body, struct wh_err *err);

/* The settings a deployment's tasks are launched with: prev (the PRIMARY's, NULL at creation)
 * with the request's members over it and the launch plan's type or capacity providers. New
 * reference. */
json_t *ecs_service_deployment_config(const json_t *in, const json_t *prev,
                                      const struct task_launch_plan *plan);

/* The Service Connect namespace a request puts the service in (serviceConnectConfiguration
 * enabled: its namespace, else the cluster's default one), or NULL. New heap string. */
char *ecs_service_namespace(const json_t *in, const struct store_cluster *c);

/* Insert a new PRIMARY deployment of s (IN_PROGRESS) running td_arn with config; the previous
 * PRIMARY, if any, becomes ACTIVE. reason: NULL for "ECS deployment ID in progress.". */
int ecs_service_deploy(struct store *st, const struct store_service *s, const char *td_arn,
                       const char *config, const char *reason, double now,
                       struct store_deployment *ret, struct wh_err *err);
