/* The Logs action table: one row per action. */
#include "logs/api.h"

#include "aws/shape.h"
#include "core/xalloc.h"
#include "logs/handlers.h"

static const struct api_action actions[] = {
    {"CreateLogGroup", logs_create_log_group, API_MUTATES},
    {"CreateLogStream", logs_create_log_stream, API_MUTATES},
    {"DeleteLogGroup", logs_delete_log_group, API_MUTATES},
    {"DeleteLogStream", logs_delete_log_stream, API_MUTATES},
    {"DeleteRetentionPolicy", logs_delete_retention_policy, API_MUTATES},
    {"DescribeLogGroups", logs_describe_log_groups, API_READ},
    {"DescribeLogStreams", logs_describe_log_streams, API_READ},
    {"FilterLogEvents", logs_filter_log_events, API_READ},
    {"GetLogEvents", logs_get_log_events, API_READ},
    {"ListTagsForResource", logs_list_tags_for_resource, API_READ},
    {"ListTagsLogGroup", logs_list_tags_log_group, API_READ},
    {"PutLogEvents", logs_put_log_events, API_MUTATES},
    {"PutRetentionPolicy", logs_put_retention_policy, API_MUTATES},
    {"TagLogGroup", logs_tag_log_group, API_MUTATES},
    {"TagResource", logs_tag_resource, API_MUTATES},
    {"UntagLogGroup", logs_untag_log_group, API_MUTATES},
    {"UntagResource", logs_untag_resource, API_MUTATES},
};

const struct api_service logs_api_service = {
    .target_prefix = "Logs_20140328",
    .signing_name = "logs",
    .model = &shape_model_logs,
    .validation_error = ERR_INVALID_PARAM,
    .actions = actions,
    .nactions = ARRAY_SIZE(actions),
};
