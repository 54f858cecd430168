/* The ECS action table: one row per action. */
#include "ecs/api.h"

#include "aws/shape.h"
#include "core/xalloc.h"
#include "ecs/handlers.h"

static const struct api_action actions[] = {
    {"CreateCluster", ecs_create_cluster, API_MUTATES},
    {"DeleteCluster", ecs_delete_cluster, API_MUTATES},
    {"DeleteAccountSetting", ecs_delete_account_setting, API_MUTATES},
    {"DeleteTaskDefinitions", ecs_delete_task_definitions, API_MUTATES},
    {"DeregisterTaskDefinition", ecs_deregister_task_definition, API_MUTATES},
    {"DescribeClusters", ecs_describe_clusters, API_READ},
    {"DescribeTaskDefinition", ecs_describe_task_definition, API_READ},
    {"ListAccountSettings", ecs_list_account_settings, API_READ},
    {"ListClusters", ecs_list_clusters, API_READ},
    {"ListTagsForResource", ecs_list_tags_for_resource, API_READ},
    {"ListTaskDefinitionFamilies", ecs_list_task_definition_families, API_READ},
    {"ListTaskDefinitions", ecs_list_task_definitions, API_READ},
    {"PutAccountSetting", ecs_put_account_setting, API_MUTATES},
    {"PutAccountSettingDefault", ecs_put_account_setting_default, API_MUTATES},
    {"PutClusterCapacityProviders", ecs_put_cluster_capacity_providers, API_MUTATES},
    {"RegisterTaskDefinition", ecs_register_task_definition, API_MUTATES},
    {"TagResource", ecs_tag_resource, API_MUTATES},
    {"UntagResource", ecs_untag_resource, API_MUTATES},
    {"UpdateCluster", ecs_update_cluster, API_MUTATES},
    {"UpdateClusterSettings", ecs_update_cluster_settings, API_MUTATES},
};

const struct api_service ecs_api_service = {
    .target_prefix = "AmazonEC2ContainerServiceV20141113",
    .signing_name = "ecs",
    .model = &shape_model_ecs,
    .validation_error = ERR_INVALID_PARAM,
    .actions = actions,
    .nactions = ARRAY_SIZE(actions),
};
