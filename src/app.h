/* What every part of wharfd shares: its configuration and its open resources. */
#pragma once
#include <stdbool.h>

struct store;
struct credentials;

struct wharf_config {
    char *listen_host;
    int listen_port;
    char *data_dir;
    char *region;  /* default region, for requests that carry none */
    char *account; /* 12-digit account id */
    unsigned threads;
};

struct wharf_app {
    struct wharf_config cfg;
    struct store *st;
    struct credentials *creds;
};
