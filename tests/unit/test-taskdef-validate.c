/* Unit tests for task definition validation (src/ecs/taskdef_validate.c, taskdef_containers.c),
 * the stored body and derived attributes (taskdef_json.c, taskdef_attrs.c) and references
 * (taskdef_ref.c). Inputs are JSON written with single quotes for readability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/taskdef_attrs.h"
#include "ecs/taskdef_json.h"
#include "ecs/taskdef_ref.h"
#include "ecs/taskdef_validate.h"

/* JSON from single-quoted text. */
static json_t *j(const char *text)
{
    cleanup_free char *s = xstrdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, s);
    return v;
}

#define C_WEB "{'name':'web','image':'nginx','memory':128"
#define FARGATE "'networkMode':'awsvpc','requiresCompatibilities':['FARGATE'],"

static const struct {
    const char *input;
    const char *expect; /* NULL: valid; else a substring of the ClientException message */
} cases[] = {
    /* valid */
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", NULL},
    {"{'family':'a_b-C9','memory':'512','containerDefinitions':[{'name':'w','image':'x'}]}", NULL},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[{'name':'w',"
     "'image':'x'}]}",
     NULL},
    {"{'family':'f'," FARGATE "'cpu':'1 vCPU','memory':'2 GB','containerDefinitions':[{'name':'w',"
     "'image':'x'}]}",
     NULL},
    {"{'family':'f'," FARGATE "'cpu':'16384','memory':'122880','containerDefinitions':[{'name':"
     "'w','image':'x'}]}",
     NULL},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':80,"
     "'hostPort':8080}]}]}",
     NULL},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':80,"
     "'hostPort':0}]},{'name':'b','image':'x','memory':6,'portMappings':[{'containerPort':80}]}]}",
     NULL},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':53,"
     "'hostPort':53},{'containerPort':53,'hostPort':53,'protocol':'udp'}]}]}",
     NULL},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'db',"
     "'condition':'HEALTHY'}],'links':['db:database']},{'name':'db','image':'pg','memory':64,"
     "'healthCheck':{'command':['CMD-SHELL','true']}}]}",
     NULL},
    {"{'family':'f','volumes':[{'name':'data'}],'containerDefinitions':[" C_WEB
     ",'mountPoints':[{'sourceVolume':'data','containerPath':'/d'}]},{'name':'s','image':'x',"
     "'memory':8,'essential':false,'volumesFrom':[{'sourceContainer':'web'}]}]}",
     NULL},
    {"{'family':'f','networkMode':'awsvpc','containerDefinitions':[" C_WEB
     ",'portMappings':[{'containerPortRange':'8000-8010'}]}]}",
     NULL},

    /* family and container identity */
    {"{'family':'web app','containerDefinitions':[" C_WEB "}]}", "Invalid family 'web app'"},
    {"{'family':'','containerDefinitions':[" C_WEB "}]}", "Invalid family ''"},
    {"{'family':'f','containerDefinitions':[]}", "Container list cannot be empty."},
    {"{'family':'f','containerDefinitions':[{'name':'a','image':'x','memory':8},{'name':'b',"
     "'image':'x','memory':8},{'name':'c','image':'x','memory':8},{'name':'d','image':'x',"
     "'memory':8},{'name':'e','image':'x','memory':8},{'name':'f','image':'x','memory':8},"
     "{'name':'g','image':'x','memory':8},{'name':'h','image':'x','memory':8},{'name':'i',"
     "'image':'x','memory':8},{'name':'j','image':'x','memory':8},{'name':'k','image':'x',"
     "'memory':8}]}",
     "at most 10 containers"},
    {"{'family':'f','containerDefinitions':[{'name':'web','memory':128}]}",
     "Container.image should not be null or empty."},
    {"{'family':'f','containerDefinitions':[{'image':'x','memory':128}]}",
     "Container.name should not be null or empty."},
    {"{'family':'f','containerDefinitions':[{'name':'we b','image':'x','memory':128}]}",
     "Invalid container name 'we b'"},
    {"{'family':'f','containerDefinitions':[" C_WEB "}," C_WEB "}]}",
     "Duplicate container name 'web'"},

    /* memory and cpu */
    {"{'family':'f','containerDefinitions':[{'name':'web','image':'x'}]}",
     "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must "
     "be specified."},
    {"{'family':'f','containerDefinitions':[{'name':'web','image':'x','memory':4}]}",
     "container 'web'. 4 MiB is below the minimum of 6 MiB"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'memoryReservation':256}]}",
     "'memoryReservation' (256 MiB) must be less than or equal to 'memory' (128 MiB)"},
    {"{'family':'f','cpu':'abc','containerDefinitions':[" C_WEB "}]}",
     "Invalid 'cpu' setting for task: 'abc'"},
    {"{'family':'f','cpu':'64','containerDefinitions':[" C_WEB "}]}",
     "64 CPU units is outside the supported range 128..196608"},
    {"{'family':'f','memory':'lots','containerDefinitions':[" C_WEB "}]}",
     "Invalid 'memory' setting for task: 'lots'"},
    {"{'family':'f','memory':'100','containerDefinitions':[" C_WEB "}]}",
     "'memory' (128 MiB) is larger than the task memory (100 MiB)"},
    {"{'family':'f','cpu':'256','containerDefinitions':[" C_WEB ",'cpu':200},{'name':'b',"
     "'image':'x','memory':8,'cpu':100}]}",
     "300 CPU units in total, more than the task cpu of 256"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'essential':false}]}",
     "At least one container must be essential"},

    /* Fargate */
    {"{'family':'f','requiresCompatibilities':['FARGATE'],'cpu':'256','memory':'512',"
     "'containerDefinitions':[" C_WEB "}]}",
     "Fargate only supports network mode 'awsvpc'."},
    {"{'family':'f'," FARGATE "'memory':'512','containerDefinitions':[" C_WEB "}]}",
     "Fargate requires that 'cpu' be defined at the task level."},
    {"{'family':'f'," FARGATE "'cpu':'256','containerDefinitions':[" C_WEB "}]}",
     "Fargate requires that 'memory' be defined at the task level."},
    {"{'family':'f'," FARGATE "'cpu':'512','memory':'512','containerDefinitions':[" C_WEB "}]}",
     "No Fargate configuration exists for given values: 512 CPU, 512 memory. See the Amazon ECS "
     "documentation for the valid values."},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'1536','containerDefinitions':[" C_WEB "}]}",
     "No Fargate configuration exists for given values: 256 CPU, 1536 memory."},
    {"{'family':'f'," FARGATE "'cpu':'8 vcpu','memory':'18 GB','containerDefinitions':[" C_WEB
     "}]}",
     "given values: 8192 CPU, 18432 memory"},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[" C_WEB
     ",'privileged':true}]}",
     "container 'web'. privileged is not supported on Fargate."},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[" C_WEB
     ",'linuxParameters':{'devices':[{'hostPath':'/dev/fuse'}]}}]}",
     "linuxParameters.devices is not supported on Fargate"},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[" C_WEB
     ",'logConfiguration':{'logDriver':'awslogs'}}]}",
     "execution role ARN to support log driver awslogs"},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','volumes':[{'name':'v','host':"
     "{'sourcePath':'/srv'}}],'containerDefinitions':[" C_WEB "}]}",
     "volume 'v'. host.sourcePath is not supported on Fargate"},

    /* ports */
    {"{'family':'f','networkMode':'awsvpc','containerDefinitions':[" C_WEB
     ",'portMappings':[{'containerPort':80,'hostPort':8080}]}]}",
     "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
    {"{'family':'f','networkMode':'host','containerDefinitions':[" C_WEB
     ",'portMappings':[{'containerPort':80,'hostPort':81}]}]}",
     "When networkMode=host, the host ports"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':70000}]}]}",
     "portMappings[0].containerPort 70000 is outside 0..65535"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':80,"
     "'hostPort':80}]},{'name':'b','image':'x','memory':8,'portMappings':[{'containerPort':81,"
     "'hostPort':80}]}]}",
     "container 'b'. Host port 80/tcp is already used by container 'web'"},
    {"{'family':'f','networkMode':'awsvpc','containerDefinitions':[" C_WEB
     ",'portMappings':[{'containerPort':80}]},{'name':'b','image':'x','memory':8,"
     "'portMappings':[{'containerPort':80}]}]}",
     "Host port 80/tcp is already used"},
    {"{'family':'f','networkMode':'none','containerDefinitions':[" C_WEB
     ",'portMappings':[{'containerPort':80}]}]}",
     "Port mappings are not allowed when networkMode=none"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPortRange':"
     "'10-5'}]}]}",
     "containerPortRange '10-5'"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'hostPort':80}]}]}",
     "needs a containerPort or a containerPortRange"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':80,"
     "'name':'Http'}]}]}",
     "Port mapping name 'Http'"},

    /* dependsOn, links, volumesFrom */
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'db',"
     "'condition':'START'}]}]}",
     "dependsOn[0].containerName 'db' is not a container"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'web',"
     "'condition':'START'}]}]}",
     "cannot depend on itself"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'db',"
     "'condition':'HEALTHY'}]},{'name':'db','image':'x','memory':8}]}",
     "HEALTHY needs a healthCheck on container 'db'"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'db',"
     "'condition':'COMPLETE'}]},{'name':'db','image':'x','memory':8}]}",
     "COMPLETE cannot be set on the essential container 'db'"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'dependsOn':[{'containerName':'b',"
     "'condition':'START'}]},{'name':'b','image':'x','memory':8,'dependsOn':[{'containerName':"
     "'c','condition':'START'}]},{'name':'c','image':'x','memory':8,'dependsOn':[{"
     "'containerName':'web','condition':'START'}]}]}",
     "dependsOn forms a cycle: web -> b -> c -> web"},
    {"{'family':'f','networkMode':'awsvpc','containerDefinitions':[" C_WEB
     ",'links':['db']},{'name':'db','image':'x','memory':8}]}",
     "Links are only supported when networkMode=bridge, not awsvpc"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'links':['cache']}]}",
     "links[0] 'cache'"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'volumesFrom':[{'sourceContainer':"
     "'nope'}]}]}",
     "volumesFrom[0].sourceContainer 'nope'"},

    /* health checks */
    {"{'family':'f','containerDefinitions':[" C_WEB ",'healthCheck':{'command':[]}}]}",
     "healthCheck.command should not be empty"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'healthCheck':{'command':['curl','x']}}]}",
     "must start with CMD, CMD-SHELL or NONE, not 'curl'"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'healthCheck':{'command':['CMD']}}]}",
     "nothing to run after CMD"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'healthCheck':{'command':['CMD','true'],"
     "'interval':3}}]}",
     "healthCheck.interval 3 is outside 5..300"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'healthCheck':{'command':['CMD','true'],"
     "'retries':11}}]}",
     "healthCheck.retries 11 is outside 1..10"},

    /* volumes, mounts, ulimits, misc */
    {"{'family':'f','containerDefinitions':[" C_WEB ",'mountPoints':[{'sourceVolume':'data',"
     "'containerPath':'/d'}]}]}",
     "mountPoints[0].sourceVolume 'data' is not a volume"},
    {"{'family':'f','volumes':[{'name':'v'},{'name':'v'}],'containerDefinitions':[" C_WEB "}]}",
     "Duplicate volume name 'v'"},
    {"{'family':'f','volumes':[{'name':'v','host':{},'efsVolumeConfiguration':{'fileSystemId':"
     "'fs-1'}}],'containerDefinitions':[" C_WEB "}]}",
     "Specify only one of host and efsVolumeConfiguration"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'ulimits':[{'name':'nofile','softLimit':"
     "10,'hardLimit':5}]}]}",
     "ulimit 'nofile' softLimit 10 is greater than hardLimit 5"},
    {"{'family':'f','containerDefinitions':[" C_WEB ",'ulimits':[{'name':'bogus','softLimit':1,"
     "'hardLimit':1}]}]}",
     "Unknown ulimit name 'bogus'"},
    {"{'family':'f','proxyConfiguration':{'containerName':'envoy'},'containerDefinitions':[" C_WEB
     "}]}",
     "containerName 'envoy' is not a container"},
    {"{'family':'f','ephemeralStorage':{'sizeInGiB':20},'containerDefinitions':[" C_WEB "}]}",
     "sizeInGiB 20 is outside the range 21..200"},
};

static void test_validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *in = j(cases[i].input);
        struct wh_err err = {0};
        int r = taskdef_validate(in, &err);
        if (!cases[i].expect) {
            if (r != 0)
                fail_msg("case %zu: expected valid, got: %s\ninput: %s", i, err.msg,
                         cases[i].input);
            continue;
        }
        if (r == 0)
            fail_msg("case %zu: expected '%s', got valid\ninput: %s", i, cases[i].expect,
                     cases[i].input);
        if (!strstr(err.msg, cases[i].expect))
            fail_msg("case %zu: expected '%s' in message, got: %s", i, cases[i].expect, err.msg);
        assert_string_equal(err.type, "ClientException");
        assert_int_equal(err.status, 400);
    }
}

static void test_parse_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t cpu, mem;
    } t[] = {
        {"1024", 1024, 1024}, {"1 vCPU", 1024, -1},  {"0.25 vcpu", 256, -1}, {".5vCPU", 512, -1},
        {"2 GB", -1, 2048},   {"0.5GB", -1, 512},    {"1 gb", -1, 1024},     {"abc", -1, -1},
        {"", -1, -1},         {"1.0001 vCPU", -1, -1}, {"-1", -1, -1},       {"1 vCPUs", -1, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        if (taskdef_parse_cpu(t[i].s) != t[i].cpu)
            fail_msg("cpu '%s': want %lld got %lld", t[i].s, (long long)t[i].cpu,
                     (long long)taskdef_parse_cpu(t[i].s));
        if (taskdef_parse_memory(t[i].s) != t[i].mem)
            fail_msg("memory '%s': want %lld got %lld", t[i].s, (long long)t[i].mem,
                     (long long)taskdef_parse_memory(t[i].s));
    }
}

static void test_fargate_pairs(void **state)
{
    (void)state;
    static const struct {
        int64_t cpu, mem;
        bool ok;
    } t[] = {
        {256, 512, true},      {256, 1024, true},     {256, 2048, true},     {256, 1536, false},
        {256, 3072, false},    {512, 1024, true},     {512, 4096, true},     {512, 512, false},
        {1024, 2048, true},    {1024, 8192, true},    {1024, 9216, false},   {2048, 16384, true},
        {4096, 30720, true},   {4096, 31744, false},  {8192, 16384, true},   {8192, 20480, true},
        {8192, 17408, false},  {8192, 61440, true},   {16384, 32768, true},  {16384, 40960, true},
        {16384, 36864, false}, {16384, 122880, true}, {128, 512, false},     {1000, 2048, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (taskdef_fargate_pair_valid(t[i].cpu, t[i].mem) != t[i].ok)
            fail_msg("fargate %lld/%lld: want %d", (long long)t[i].cpu, (long long)t[i].mem,
                     t[i].ok);
}

/* body[path...] as compact JSON text, for comparisons that print both sides. */
static char *at(const json_t *v, const char *path)
{
    cleanup_free char *p = xstrdup(path);
    for (char *tok = strtok(p, "."); tok && v; tok = strtok(NULL, "."))
        v = (tok[0] >= '0' && tok[0] <= '9') ? json_array_get(v, (size_t)atoi(tok))
                                             : json_object_get(v, tok);
    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("<absent>");
}

static const struct {
    const char *input, *path, *want;
} body_cases[] = {
    {"{'family':'web','tags':[{'key':'a','value':'b'}],'containerDefinitions':[" C_WEB "}]}",
     "containerDefinitions.0",
     "{\"name\":\"web\",\"image\":\"nginx\",\"cpu\":0,\"memory\":128,\"portMappings\":[],"
     "\"essential\":true,\"environment\":[],\"mountPoints\":[],\"volumesFrom\":[]}"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "family", "<absent>"},
    {"{'family':'web','tags':[],'containerDefinitions':[" C_WEB "}]}", "tags", "<absent>"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "networkMode", "<absent>"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "volumes", "[]"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "placementConstraints", "[]"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "compatibilities", "[\"EC2\"]"},
    {"{'family':'web','containerDefinitions':[" C_WEB "}]}", "requiresAttributes", "[]"},
    {"{'family':'web','containerDefinitions':[" C_WEB ",'portMappings':[{'containerPort':80}]}]}",
     "containerDefinitions.0.portMappings",
     "[{\"containerPort\":80,\"hostPort\":0,\"protocol\":\"tcp\"}]"},
    {"{'family':'web','networkMode':'awsvpc','containerDefinitions':[" C_WEB
     ",'portMappings':[{'protocol':'udp','containerPort':53}]}]}",
     "containerDefinitions.0.portMappings",
     "[{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"udp\"}]"},
    {"{'family':'web','containerDefinitions':[" C_WEB ",'healthCheck':{'command':['CMD','true']}}"
     "]}",
     "containerDefinitions.0.healthCheck",
     "{\"command\":[\"CMD\",\"true\"],\"interval\":30,\"timeout\":5,\"retries\":3}"},
    {"{'family':'f'," FARGATE "'cpu':'1 vCPU','memory':'2 GB','containerDefinitions':[" C_WEB
     "}]}",
     "cpu", "\"1024\""},
    {"{'family':'f'," FARGATE "'cpu':'1 vCPU','memory':'2 GB','containerDefinitions':[" C_WEB
     "}]}",
     "memory", "\"2048\""},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[" C_WEB "}]}",
     "compatibilities", "[\"EC2\",\"FARGATE\"]"},
    /* awsvpc with a Fargate size is Fargate-compatible even when not asked for */
    {"{'family':'f','networkMode':'awsvpc','cpu':'256','memory':'512','containerDefinitions':["
     C_WEB "}]}",
     "compatibilities", "[\"EC2\",\"FARGATE\"]"},
    {"{'family':'f','networkMode':'awsvpc','cpu':'256','memory':'512','containerDefinitions':["
     C_WEB ",'privileged':true}]}",
     "compatibilities", "[\"EC2\"]"},
    {"{'family':'f'," FARGATE "'cpu':'256','memory':'512','containerDefinitions':[" C_WEB "}]}",
     "requiresAttributes",
     "[{\"name\":\"com.amazonaws.ecs.capability.docker-remote-api.1.18\"},"
     "{\"name\":\"ecs.capability.task-eni\"}]"},
    {"{'family':'f','taskRoleArn':'arn:aws:iam::1:role/r','executionRoleArn':'arn:aws:iam::1:role/"
     "x','containerDefinitions':[{'name':'a','image':'1.dkr.ecr.us-east-1.amazonaws.com/a:1',"
     "'memoryReservation':64,'logConfiguration':{'logDriver':'awslogs'},'healthCheck':{"
     "'command':['CMD','true']},'dependsOn':[{'containerName':'b','condition':'START'}]},"
     "{'name':'b','image':'x','memory':8}]}",
     "requiresAttributes",
     "[{\"name\":\"com.amazonaws.ecs.capability.logging-driver.awslogs\"},"
     "{\"name\":\"ecs.capability.execution-role-awslogs\"},"
     "{\"name\":\"com.amazonaws.ecs.capability.ecr-auth\"},"
     "{\"name\":\"com.amazonaws.ecs.capability.docker-remote-api.1.19\"},"
     "{\"name\":\"com.amazonaws.ecs.capability.docker-remote-api.1.21\"},"
     "{\"name\":\"com.amazonaws.ecs.capability.task-iam-role\"},"
     "{\"name\":\"ecs.capability.container-health-check\"},"
     "{\"name\":\"ecs.capability.execution-role-ecr-pull\"},"
     "{\"name\":\"ecs.capability.container-ordering\"}]"},
};

static void test_body(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(body_cases); i++) {
        json_auto_t *in = j(body_cases[i].input);
        struct wh_err err = {0};
        if (taskdef_validate(in, &err) < 0)
            fail_msg("body case %zu: input invalid: %s", i, err.msg);
        json_auto_t *body = taskdef_body_new(in);
        cleanup_free char *got = at(body, body_cases[i].path);
        if (strcmp(got, body_cases[i].want) != 0)
            fail_msg("body case %zu, %s:\n want %s\n got  %s", i, body_cases[i].path,
                     body_cases[i].want, got);
    }
}

static void test_ref_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        const char *family;
        int64_t rev;
        int foreign;
    } t[] = {
        {"web", 1, "web", 0, 0},
        {"web:3", 1, "web", 3, 0},
        {"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7", 1, "web", 7, 0},
        {"arn:aws:ecs:us-east-1:123456789012:task-definition/web", 1, "web", 0, 0},
        {"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7", 1, "web", 7, 1},
        {"arn:aws:ecs:us-east-1:999999999999:task-definition/web:7", 1, "web", 7, 1},
        {"web:0", 0, NULL, 0, 0},
        {"web:x", 0, NULL, 0, 0},
        {"web:", 0, NULL, 0, 0},
        {":3", 0, NULL, 0, 0},
        {"we b:3", 0, NULL, 0, 0},
        {"arn:aws:ecs:us-east-1:123456789012:cluster/web", 0, NULL, 0, 0},
        {"arn:aws:ecr:us-east-1:123456789012:task-definition/web:1", 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        struct taskdef_ref ref;
        int foreign = -1;
        int r = taskdef_ref_parse(t[i].s, "us-east-1", "123456789012", &ref, &foreign);
        if ((r == 0) != t[i].ok)
            fail_msg("ref '%s': want %s", t[i].s, t[i].ok ? "ok" : "rejected");
        if (!t[i].ok)
            continue;
        assert_string_equal(ref.family, t[i].family);
        assert_int_equal(ref.revision, t[i].rev);
        assert_int_equal(foreign, t[i].foreign);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table), cmocka_unit_test(test_parse_sizes),
        cmocka_unit_test(test_fargate_pairs),  cmocka_unit_test(test_body),
        cmocka_unit_test(test_ref_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
