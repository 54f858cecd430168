/* CloudWatch Logs action handlers (api_handler_fn contract, aws/api.h). */
#pragma once
#include "aws/api.h"

#define LOGS_HANDLER(name) int name(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)

/* groups.c */
LOGS_HANDLER(logs_create_log_group);
LOGS_HANDLER(logs_delete_log_group);
LOGS_HANDLER(logs_describe_log_groups);
LOGS_HANDLER(logs_put_retention_policy);
LOGS_HANDLER(logs_delete_retention_policy);
LOGS_HANDLER(logs_tag_resource);
LOGS_HANDLER(logs_untag_resource);
LOGS_HANDLER(logs_list_tags_for_resource);
LOGS_HANDLER(logs_tag_log_group);
LOGS_HANDLER(logs_untag_log_group);
LOGS_HANDLER(logs_list_tags_log_group);
/* streams.c */
LOGS_HANDLER(logs_create_log_stream);
LOGS_HANDLER(logs_delete_log_stream);
LOGS_HANDLER(logs_describe_log_streams);
/* events.c */
LOGS_HANDLER(logs_put_log_events);
LOGS_HANDLER(logs_get_log_events);
LOGS_HANDLER(logs_filter_log_events);
