/* ECR action handlers, one group per resource file (see src/ecr/api.c for the table). All
 * follow the api_handler_fn contract in aws/api.h. */
#pragma once
#include "aws/api.h"

/* repositories.c */
int ecr_create_repository(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_describe_repositories(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecr_delete_repository(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);

/* images.c */
int ecr_list_images(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_describe_images(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_batch_get_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_batch_delete_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);

/* image_put.c */
int ecr_put_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_put_image_tag_mutability(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);

/* auth.c */
int ecr_get_authorization_token(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err);

/* policy.c */
int ecr_set_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecr_get_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecr_delete_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);

/* lifecycle.c */
int ecr_put_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_get_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_delete_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err);
int ecr_start_lifecycle_policy_preview(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err);
int ecr_get_lifecycle_policy_preview(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err);
/* wharf's own action (not in the botocore model): apply the policy now. */
int ecr_wharf_apply_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err);

/* layers.c */
int ecr_initiate_layer_upload(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecr_upload_layer_part(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_complete_layer_upload(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);
int ecr_batch_check_layer_availability(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err);
int ecr_get_download_url_for_layer(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err);

/* tags.c */
int ecr_tag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_untag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
int ecr_list_tags_for_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err);

/* registry.c */
int ecr_describe_registry(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err);
