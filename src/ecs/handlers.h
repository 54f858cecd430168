/* ECS action handlers, one group per resource file (see src/ecs/api.c for the table). All
 * follow the api_handler_fn contract in aws/api.h. */
#pragma once
#include "aws/api.h"

/* clusters.c */
int ecs_create_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_describe_clusters(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_clusters(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_update_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_update_cluster_settings(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err);
int ecs_put_cluster_capacity_providers(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err);
int ecs_delete_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);

/* taskdefs.c */
int ecs_register_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);
int ecs_describe_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);
int ecs_list_task_definitions(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecs_list_task_definition_families(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err);
int ecs_deregister_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err);
int ecs_delete_task_definitions(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err);

/* tags.c */
int ecs_tag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_untag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_tags_for_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err);

/* account_settings.c */
int ecs_list_account_settings(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecs_put_account_setting(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                            struct wh_err *err);
int ecs_put_account_setting_default(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                    struct wh_err *err);
int ecs_delete_account_setting(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err);

/* instances.c, instance_register.c */
int ecs_register_container_instance(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                    struct wh_err *err);
int ecs_deregister_container_instance(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err);
int ecs_describe_container_instances(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err);
int ecs_list_container_instances(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);
int ecs_update_container_instances_state(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                         struct wh_err *err);

/* attributes.c */
int ecs_put_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_delete_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);

/* tasks.c */
int ecs_run_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_start_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_stop_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_describe_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);

/* task_state.c */
int ecs_submit_task_state_change(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);
int ecs_submit_container_state_change(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err);

/* services.c, service_update.c */
int ecs_create_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_update_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_delete_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_describe_services(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_services(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecs_list_services_by_namespace(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err);
