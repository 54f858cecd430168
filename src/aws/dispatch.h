/* The HTTP route for AWS JSON 1.1 requests (POST / with X-Amz-Target): authenticate with
 * SigV4, find the action in the services' tables, validate the input against the botocore
 * model, call the handler, render its result or error. */
#pragma once
#include "http/server.h"

/* Largest request body accepted; AWS's own JSON APIs stay well below this. */
#define AWS_MAX_BODY (4u << 20)

extern const struct http_route aws_route;
