/* Carving instance task subnets from the pool: pure. */
#include "ecs/instance_subnets.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct cidr {
    uint32_t net;
    int prefix;
};

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* "a.b.c.d/n" with host bits clear. */
static bool cidr_parse(const char *s, struct cidr *ret)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char ip[16];
    if (!slash || (size_t)(slash - s) >= sizeof(ip))
        return false;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    struct in_addr a;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || *end || end == slash + 1 || p < 0 || p > 32)
        return false;
    uint32_t net = ntohl(a.s_addr);
    if (net & ~mask_of((int)p))
        return false;
    *ret = (struct cidr){net, (int)p};
    return true;
}

static bool overlaps(struct cidr a, struct cidr b)
{
    uint32_t m = mask_of(a.prefix < b.prefix ? a.prefix : b.prefix);
    return (a.net & m) == (b.net & m);
}

static void format_block(uint32_t net, char *out)
{
    snprintf(out, 19, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255,
             net & 255, ECS_SUBNET_PREFIX);
}

int ecs_subnet_pool_check(const char *pool, struct wh_err *err)
{
    struct cidr c;
    if (!cidr_parse(pool, &c) || c.prefix < 8 || c.prefix > ECS_SUBNET_PREFIX - 1)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "task subnet pool '%s' is not an IPv4 CIDR block with a prefix of "
                          "8..%d and its host bits clear", pool ? pool : "",
                          ECS_SUBNET_PREFIX - 1);
    return 0;
}

int ecs_subnets_pick(const char *pool, const char *const *used, size_t nused,
                     char *ret_awsvpc, char *ret_bridge, struct wh_err *err)
{
    if (ecs_subnet_pool_check(pool, err) < 0)
        return -1;
    struct cidr p;
    cidr_parse(pool, &p);
    size_t pairs = (size_t)1 << (ECS_SUBNET_PREFIX - 1 - p.prefix);
    uint8_t *taken = xcalloc(pairs / 8 + 1, 1);
    for (size_t i = 0; i < nused; i++) {
        struct cidr u;
        if (!cidr_parse(used[i], &u) || !overlaps(u, p))
            continue;
        /* The pairs u covers: from its first to its last address, clipped to the pool. */
        uint32_t lo = u.net > p.net ? u.net : p.net;
        uint32_t u_hi = u.net | ~mask_of(u.prefix), p_hi = p.net | ~mask_of(p.prefix);
        uint32_t hi = u_hi < p_hi ? u_hi : p_hi;
        for (uint64_t k = (lo - p.net) >> (32 - ECS_SUBNET_PREFIX + 1);
             k <= (uint64_t)((hi - p.net) >> (32 - ECS_SUBNET_PREFIX + 1)); k++)
            taken[k / 8] |= (uint8_t)(1u << (k % 8));
    }
    size_t k = 0;
    while (k < pairs && (taken[k / 8] & (1u << (k % 8))))
        k++;
    free(taken);
    if (k == pairs)
        return wh_err_set(err, 500, "ServerException",
                          "the task subnet pool %s is exhausted: all %zu pairs of /%d blocks "
                          "are held by registered container instances (start wharfd with a "
                          "larger --task-subnet-pool)", pool, pairs, ECS_SUBNET_PREFIX);
    uint32_t net = p.net + ((uint32_t)k << (32 - ECS_SUBNET_PREFIX + 1));
    format_block(net, ret_awsvpc);
    format_block(net + (1u << (32 - ECS_SUBNET_PREFIX)), ret_bridge);
    return 0;
}

static bool inside(struct cidr in, struct cidr pool)
{
    return in.prefix >= pool.prefix && (in.net & mask_of(pool.prefix)) == pool.net;
}

bool ecs_subnets_still_free(const char *pool, const char *awsvpc, const char *bridge,
                            const char *const *used, size_t nused)
{
    struct cidr p, a, b;
    if (!cidr_parse(pool, &p) || !cidr_parse(awsvpc, &a) || !cidr_parse(bridge, &b) ||
        overlaps(a, b) || !inside(a, p) || !inside(b, p))
        return false;
    for (size_t i = 0; i < nused; i++) {
        struct cidr u;
        if (cidr_parse(used[i], &u) && (overlaps(u, a) || overlaps(u, b)))
            return false;
    }
    return true;
}
