/* The ECS action table: one row per action. */
#include "ecs/api.h"

#include "aws/shape.h"
#include "core/xalloc.h"
#include "ecs/handlers.h"

static const struct api_action actions[] = {
    {"CreateCluster", ecs_create_cluster, API_MUTATES},
    {"CreateService", ecs_create_service, API_MUTATES},
    {"DeleteAttributes", ecs_delete_attributes, API_MUTATES},
    {"DeleteCluster", ecs_delete_cluster, API_MUTATES},
    {"DeleteService", ecs_delete_service, API_MUTATES},
    {"DeleteAccountSetting", ecs_delete_account_setting, API_MUTATES},
    {"DeleteTaskDefinitions", ecs_delete_task_definitions, API_MUTATES},
    {"DeregisterContainerInstance", ecs_deregister_container_instance, API_MUTATES},
    {"DeregisterTaskDefinition", ecs_deregister_task_definition, API_MUTATES},
    {"DescribeClusters", ecs_describe_clusters, API_READ},
    {"DescribeContainerInstances", ecs_describe_container_instances, API_READ},
    {"DescribeServices", ecs_describe_services, API_READ},
    {"DescribeTaskDefinition", ecs_describe_task_definition, API_READ},
    {"DescribeTasks", ecs_describe_tasks, API_READ},
    {"ListAccountSettings", ecs_list_account_settings, API_READ},
    {"ListAttributes", ecs_list_attributes, API_READ},
    {"ListClusters", ecs_list_clusters, API_READ},
    {"ListContainerInstances", ecs_list_container_instances, API_READ},
    {"ListServices", ecs_list_services, API_READ},
    {"ListServicesByNamespace", ecs_list_services_by_namespace, API_READ},
    {"ListTagsForResource", ecs_list_tags_for_resource, API_READ},
    {"ListTaskDefinitionFamilies", ecs_list_task_definition_families, API_READ},
    {"ListTaskDefinitions", ecs_list_task_definitions, API_READ},
    {"ListTasks", ecs_list_tasks, API_READ},
    {"PutAccountSetting", ecs_put_account_setting, API_MUTATES},
    {"PutAccountSettingDefault", ecs_put_account_setting_default, API_MUTATES},
    {"PutAttributes", ecs_put_attributes, API_MUTATES},
    {"PutClusterCapacityProviders", ecs_put_cluster_capacity_providers, API_MUTATES},
    {"RegisterContainerInstance", ecs_register_container_instance, API_MUTATES},
    {"RegisterTaskDefinition", ecs_register_task_definition, API_MUTATES},
    {"RunTask", ecs_run_task, API_MUTATES},
    {"StartTask", ecs_start_task, API_MUTATES},
    {"StopTask", ecs_stop_task, API_MUTATES},
    {"SubmitContainerStateChange", ecs_submit_container_state_change, API_MUTATES},
    {"SubmitTaskStateChange", ecs_submit_task_state_change, API_MUTATES},
    {"TagResource", ecs_tag_resource, API_MUTATES},
    {"UntagResource", ecs_untag_resource, API_MUTATES},
    {"UpdateCluster", ecs_update_cluster, API_MUTATES},
    {"UpdateClusterSettings", ecs_update_cluster_settings, API_MUTATES},
    {"UpdateContainerInstancesState", ecs_update_container_instances_state, API_MUTATES},
    {"UpdateService", ecs_update_service, API_MUTATES},
};

const struct api_service ecs_api_service = {
    .target_prefix = "AmazonEC2ContainerServiceV20141113",
    .signing_name = "ecs",
    .model = &shape_model_ecs,
    .validation_error = ERR_INVALID_PARAM,
    .actions = actions,
    .nactions = ARRAY_SIZE(actions),
};
