/* The ECR action table: one row per action. */
#include "ecr/api.h"

#include "aws/shape.h"
#include "core/xalloc.h"
#include "ecr/handlers.h"

static const struct api_action actions[] = {
    {"BatchCheckLayerAvailability", ecr_batch_check_layer_availability, API_READ},
    {"BatchDeleteImage", ecr_batch_delete_image, API_MUTATES},
    {"BatchGetImage", ecr_batch_get_image, API_READ},
    {"CompleteLayerUpload", ecr_complete_layer_upload, API_MUTATES},
    {"CreateRepository", ecr_create_repository, API_MUTATES},
    {"DeleteLifecyclePolicy", ecr_delete_lifecycle_policy, API_MUTATES},
    {"DeleteRepository", ecr_delete_repository, API_MUTATES},
    {"DeleteRepositoryPolicy", ecr_delete_repository_policy, API_MUTATES},
    {"DescribeImages", ecr_describe_images, API_READ},
    {"DescribeRegistry", ecr_describe_registry, API_READ},
    {"DescribeRepositories", ecr_describe_repositories, API_READ},
    {"GetAuthorizationToken", ecr_get_authorization_token, API_READ},
    {"GetDownloadUrlForLayer", ecr_get_download_url_for_layer, API_READ},
    {"GetLifecyclePolicy", ecr_get_lifecycle_policy, API_READ},
    {"GetLifecyclePolicyPreview", ecr_get_lifecycle_policy_preview, API_READ},
    {"GetRepositoryPolicy", ecr_get_repository_policy, API_READ},
    {"InitiateLayerUpload", ecr_initiate_layer_upload, API_MUTATES},
    {"ListImages", ecr_list_images, API_READ},
    {"ListTagsForResource", ecr_list_tags_for_resource, API_READ},
    {"PutImage", ecr_put_image, API_MUTATES},
    {"PutImageTagMutability", ecr_put_image_tag_mutability, API_MUTATES},
    {"PutLifecyclePolicy", ecr_put_lifecycle_policy, API_MUTATES},
    {"SetRepositoryPolicy", ecr_set_repository_policy, API_MUTATES},
    {"StartLifecyclePolicyPreview", ecr_start_lifecycle_policy_preview, API_MUTATES},
    {"TagResource", ecr_tag_resource, API_MUTATES},
    {"UntagResource", ecr_untag_resource, API_MUTATES},
    {"UploadLayerPart", ecr_upload_layer_part, API_MUTATES},
    /* wharf's own: apply a repository's lifecycle policy now (not in the botocore model). */
    {"WharfApplyLifecyclePolicy", ecr_wharf_apply_lifecycle_policy, API_MUTATES},
};

const struct api_service ecr_api_service = {
    .target_prefix = "AmazonEC2ContainerRegistry_V20150921",
    .signing_name = "ecr",
    .model = &shape_model_ecr,
    .validation_error = ERR_INVALID_PARAM,
    .actions = actions,
    .nactions = ARRAY_SIZE(actions),
};
