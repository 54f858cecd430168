/* wharfd's route table: which HTTP route serves a method and path. */
#pragma once
#include "http/server.h"

const struct http_route *wharfd_route(const char *method, const char *path);
