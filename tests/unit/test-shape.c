/* Request validation against the generated botocore models (src/aws/shape.c, src/aws/gen/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <string.h>

#include "aws/shape.h"
#include "core/xalloc.h"

struct vcase {
    const struct shape_model *m;
    const char *op;
    const char *json; /* NULL: empty body */
    const char *want; /* NULL: valid; else a substring of the message */
};

#define ECS (&shape_model_ecs)
#define ECR (&shape_model_ecr)
#define LOGS (&shape_model_logs)
#define OK NULL

static const struct vcase cases[] = {
    /* ---- ECS ---- */
    {ECS, "CreateCluster", "{}", OK},
    {ECS, "CreateCluster", NULL, OK},
    {ECS, "CreateCluster", "{\"clusterName\": \"x\", \"bogus\": {\"deep\": [1, 2]}}", OK},
    {ECS, "CreateCluster", "[]", "expected a JSON object for the request body"},
    {ECS, "CreateCluster", "\"CreateCluster\"", "expected a JSON object for the request body"},
    {ECS, "CreateCluster", "null", "expected a JSON object for the request body"},
    {ECS, "CreateCluster", "{\"clusterName\": 7}", "clusterName: expected a string, got integer"},
    {ECS, "CreateCluster", "{\"tags\": {}}", "tags: expected an array, got object"},
    {ECS, "RegisterTaskDefinition", "{\"containerDefinitions\": []}",
     "Missing required parameter: family"},
    {ECS, "RegisterTaskDefinition", NULL, "Missing required parameter: family"},
    {ECS, "RegisterTaskDefinition", "{\"family\": null, \"containerDefinitions\": []}",
     "Missing required parameter: family"},
    {ECS, "RegisterTaskDefinition", "{\"family\": \"web\"}",
     "Missing required parameter: containerDefinitions"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [], \"networkMode\": null, \"cpu\": null,"
     " \"tags\": null}",
     OK},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\"}, {\"name\": \"b\"},"
     " {\"name\": \"c\", \"portMappings\": [{\"containerPort\": \"80\"}]}]}",
     "containerDefinitions[2].portMappings[0].containerPort: expected an integer, got string"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"containerPort\": 80.0, \"hostPort\": 8080, \"protocol\": \"tcp\"}]}]}",
     OK},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"containerPort\": 80.5}]}]}",
     "containerDefinitions[0].portMappings[0].containerPort: expected an integer, got 80.5"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"containerPort\": 4294967376}]}]}",
     "containerDefinitions[0].portMappings[0].containerPort: 4294967376 is out of range for a "
     "32-bit integer"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"containerPort\": 2147483647, \"hostPort\": -2147483648}]}]}",
     OK},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"containerPort\": 2147483648.0}]}]}",
     "containerDefinitions[0].portMappings[0].containerPort: 2147483648 is out of range for a "
     "32-bit integer"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"portMappings\":"
     " [{\"protocol\": \"sctp\"}]}]}",
     "containerDefinitions[0].portMappings[0].protocol: 'sctp' is not one of tcp, udp"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"essential\": \"yes\"}]}",
     "containerDefinitions[0].essential: expected a boolean, got string"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [], \"networkMode\": \"bridgee\"}",
     "networkMode: 'bridgee' is not one of bridge, host, awsvpc, none"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [], \"networkMode\": \"BRIDGE\"}",
     "networkMode: 'BRIDGE' is not one of"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"dockerLabels\":"
     " {\"com.example\": 1}}]}",
     "containerDefinitions[0].dockerLabels[\"com.example\"]: expected a string, got integer"},
    /* sensitive shapes: RepositoryCredentials (required member), EnvironmentVariables */
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\","
     " \"repositoryCredentials\": {}}]}",
     "Missing required parameter: containerDefinitions[0].repositoryCredentials."
     "credentialsParameter"},
    {ECS, "RegisterTaskDefinition",
     "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"environment\":"
     " [{\"name\": \"A\", \"value\": 5}]}]}",
     "containerDefinitions[0].environment[0].value: expected a string, got integer"},
    /* ListClusters.maxResults is a plain BoxedInteger in ECS's model: no range (the service
     * documents 1..100 but enforces it itself). */
    {ECS, "ListClusters", "{\"maxResults\": 500}", OK},
    {ECS, "ListClusters", "{\"maxResults\": -3}", OK},
    {ECS, "ListClusters", "{\"maxResults\": \"10\"}", "maxResults: expected an integer, got string"},
    {ECS, "ListClusters", "{\"maxResults\": true}", "maxResults: expected an integer, got boolean"},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"team\", \"value\": \"a\"}]}",
     OK},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\"}", "Missing required parameter: tags"},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"\", \"value\": \"v\"}]}",
     "tags[0].key: length 0 is below the minimum of 1"},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"k\", \"value\": \"\"}]}",
     OK},
    {ECS, "TagResource",
     "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"k\"}, {\"key\": \"a\\tb\"}]}",
     "tags[1].key: 'a\tb' does not match the pattern ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"it's\"}]}",
     "tags[0].key: 'it's' does not match the pattern"},
    {ECS, "TagResource",
     "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"aws:cost center/ünïcødé_.:=+-@ 42\"}]}",
     OK},
    {ECS, "TagResource", "{\"resourceArn\": \"arn\", \"tags\": [{\"key\": \"日本語\\u3000キー\"}]}", OK},
    /* document shape: any JSON value */
    {ECS, "CreateService",
     "{\"serviceName\": \"s\", \"deploymentConfiguration\": {\"lifecycleHooks\":"
     " [{\"hookDetails\": [1, {\"a\": null}, \"x\"]}, {\"hookDetails\": 42}]}}",
     OK},
    {ECS, "CreateService", "{\"serviceName\": \"s\", \"enableECSManagedTags\": \"true\"}",
     "enableECSManagedTags: expected a boolean, got string"},
    {ECS, "CreateService",
     "{\"serviceName\": \"s\", \"deploymentConfiguration\": {\"canaryConfiguration\":"
     " {\"canaryPercent\": \"5\"}}}",
     "deploymentConfiguration.canaryConfiguration.canaryPercent: expected a number, got string"},
    {ECS, "CreateService",
     "{\"serviceName\": \"s\", \"deploymentConfiguration\": {\"canaryConfiguration\":"
     " {\"canaryPercent\": 5}}}",
     OK},
    {ECS, "CreateService",
     "{\"serviceName\": \"s\", \"capacityProviderStrategy\": [{\"capacityProvider\": \"p\","
     " \"weight\": 1001}]}",
     "capacityProviderStrategy[0].weight: 1001 is above the maximum of 1000"},
    {ECS, "CreateService",
     "{\"serviceName\": \"s\", \"capacityProviderStrategy\": [{\"weight\": 1}]}",
     "Missing required parameter: capacityProviderStrategy[0].capacityProvider"},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": 1700000000.25}", OK},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": \"2024-02-29T03:04:05.123Z\"}", OK},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": \"2024-02-29T03:04:05+02:00\"}", OK},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": \"2024-02-29\"}", OK},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": \"2023-02-29T00:00:00Z\"}",
     "pullStartedAt: expected a timestamp (epoch seconds or an ISO-8601 string), got "
     "'2023-02-29T00:00:00Z'"},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": \"yesterday\"}",
     "pullStartedAt: expected a timestamp"},
    {ECS, "SubmitTaskStateChange", "{\"pullStartedAt\": true}",
     "pullStartedAt: expected a timestamp (epoch seconds or an ISO-8601 string), got boolean"},

    /* ---- ECR ---- */
    {ECR, "CreateRepository", "{\"repositoryName\": \"team/app-web\"}", OK},
    {ECR, "CreateRepository", "{\"repositoryName\": \"a.b_c__d--e/f\"}", OK},
    {ECR, "CreateRepository", "{\"repositoryName\": \"Bad_Name\"}",
     "repositoryName: 'Bad_Name' does not match the pattern "
     "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"team//app\"}", "does not match the pattern"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"team/app-\"}", "does not match the pattern"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"a___b\"}", "does not match the pattern"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"x\"}",
     "repositoryName: length 1 is below the minimum of 2"},
    {ECR, "CreateRepository", "{}", "Missing required parameter: repositoryName"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"ab\", \"imageTagMutability\": \"mutable\"}",
     "imageTagMutability: 'mutable' is not one of MUTABLE, IMMUTABLE"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"ab\", \"registryId\": \"12345\"}",
     "registryId: '12345' does not match the pattern [0-9]{12}"},
    {ECR, "CreateRepository", "{\"repositoryName\": \"ab\", \"registryId\": \"123456789012\"}", OK},
    {ECR, "CreateRepository", "{\"repositoryName\": \"ab\", \"tags\": [{\"Key\": \"k\"}]}",
     "Missing required parameter: tags[0].Value"},
    {ECR, "DescribeRepositories", "{\"maxResults\": 1000}", OK},
    {ECR, "DescribeRepositories", "{\"maxResults\": 1001}",
     "maxResults: 1001 is above the maximum of 1000"},
    {ECR, "DescribeRepositories", "{\"maxResults\": 0}", "maxResults: 0 is below the minimum of 1"},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": 0, \"partLastByte\": 4, \"layerPartBlob\": \"aGVsbG8=\"}",
     OK},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": 0, \"partLastByte\": 4, \"layerPartBlob\": \"not base64!\"}",
     "layerPartBlob: expected a base64-encoded string, got a string that is not base64"},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": 0, \"partLastByte\": 9223372036854775807, \"layerPartBlob\": \"\"}",
     OK},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": 0, \"partLastByte\": 9223372036854775808.0, \"layerPartBlob\": \"\"}",
     "partLastByte: 9.223372036854776e+18 is out of range for a 64-bit integer"},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"not-a-uuid\", \"partFirstByte\": 0,"
     " \"partLastByte\": 4, \"layerPartBlob\": \"\"}",
     "uploadId: 'not-a-uuid' does not match the pattern"},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": -1, \"partLastByte\": 4, \"layerPartBlob\": \"\"}",
     "partFirstByte: -1 is below the minimum of 0"},
    {ECR, "UploadLayerPart",
     "{\"repositoryName\": \"ab\", \"uploadId\": \"0f8fad5b-d9cb-469f-a165-70867728950e\","
     " \"partFirstByte\": 1e19, \"partLastByte\": 4, \"layerPartBlob\": \"\"}",
     "partFirstByte: 1e+19 is out of range for a 64-bit integer"},

    /* ---- CloudWatch Logs ---- */
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"ecs/web/0123abcd\","
     " \"logEvents\": [{\"timestamp\": 1700000000000, \"message\": \"hello\"}]}",
     OK},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"ünïcødé stream #1\","
     " \"logEvents\": [{\"timestamp\": 0, \"message\": \"x\"}]}",
     OK},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"s\", \"logEvents\": []}",
     "logEvents: count 0 is below the minimum of 1"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"a\"}, {\"timestamp\": 2}]}",
     "Missing required parameter: logEvents[1].message"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"\"}]}",
     "logEvents[0].message: length 0 is below the minimum of 1"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": \"1700000000000\", \"message\": \"m\"}]}",
     "logEvents[0].timestamp: expected an integer, got string"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"/ecs/web\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": -5, \"message\": \"m\"}]}",
     "logEvents[0].timestamp: -5 is below the minimum of 0"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"bad name\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"m\"}]}",
     "logGroupName: 'bad name' does not match the pattern [\\.\\-_/#A-Za-z0-9]+"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"g\", \"logStreamName\": \"a:b\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"m\"}]}",
     "logStreamName: 'a:b' does not match the pattern [^:*]*"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"g\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"m\"}], \"entity\": {\"keyAttributes\": {\"Type\": \"x\"}}}",
     "entity.keyAttributes: count 1 is below the minimum of 2"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"g\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"m\"}], \"entity\": {\"keyAttributes\": {\"Type\": \"x\","
     " \"\": \"y\"}}}",
     "entity.keyAttributes (key ''): length 0 is below the minimum of 1"},
    {LOGS, "PutLogEvents",
     "{\"logGroupName\": \"g\", \"logStreamName\": \"s\", \"logEvents\":"
     " [{\"timestamp\": 1, \"message\": \"m\"}], \"entity\": {\"keyAttributes\": {\"Type\": \"x\","
     " \"Name\": \"\"}}}",
     "entity.keyAttributes[\"Name\"]: length 0 is below the minimum of 1"},
    {LOGS, "DescribeLogGroups", "{\"limit\": 50}", OK},
    {LOGS, "DescribeLogGroups", "{\"limit\": 51}", "limit: 51 is above the maximum of 50"},
    {LOGS, "CreateLogGroup", "{\"logGroupName\": \"g\", \"tags\": {\"team\": \"a\"}}", OK},
    {LOGS, "CreateLogGroup", "{\"logGroupName\": \"g\", \"tags\": {}}",
     "tags: count 0 is below the minimum of 1"},
    {LOGS, "CreateLogGroup", "{\"logGroupName\": \"g\", \"tags\": {\"a*b\": \"v\"}}",
     "tags (key 'a*b'): 'a*b' does not match the pattern ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$"},
    /* a union: exactly one member */
    {LOGS, "PutIntegration",
     "{\"integrationName\": \"i\", \"integrationType\": \"OPENSEARCH\", \"resourceConfig\": {}}",
     "resourceConfig: exactly one of openSearchResourceConfig must be set, got 0"},
};

/* Runs one row; prints expected and actual and returns false when they differ. */
static bool run_case(const struct vcase *tc)
{
    const char *body = tc->json ? tc->json : "(empty body)";
    const struct shape_op *op = shape_model_op(tc->m, tc->op);
    if (!op) {
        print_error("%s: no operation %s\n", tc->m->service, tc->op);
        return false;
    }
    json_t *in = NULL;
    if (tc->json) {
        json_error_t jerr;
        in = json_loads(tc->json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!in) {
            print_error("%s %s: bad test JSON: %s: %s\n", tc->m->service, tc->op, jerr.text, body);
            return false;
        }
    }
    struct wh_err err = {0};
    int r = shape_validate_input(tc->m, op, in, "InvalidParameterException", &err);
    json_decref(in);
    bool ok = tc->want ? r == -1 && strstr(err.msg, tc->want) && err.status == 400 &&
                             strcmp(err.type, "InvalidParameterException") == 0
                       : r == 0;
    if (!ok)
        print_error("%s %s %s\n  expected: %s\n  got:      %s (%d %s)\n", tc->m->service, tc->op,
                    body, tc->want ? tc->want : "valid", r ? err.msg : "valid", err.status,
                    err.type);
    return ok;
}

static void run_table(const struct vcase *rows, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += !run_case(&rows[i]);
    if (failed)
        fail_msg("%zu of %zu cases failed", failed, n);
}

static void test_cases(void **state)
{
    (void)state;
    run_table(cases, ARRAY_SIZE(cases));
}

/* Patterns are matched in the C locale whatever the process runs in: same answers in UTF-8. */
static void test_cases_utf8_locale(void **state)
{
    (void)state;
    if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "en_US.UTF-8"))
        skip();
    run_table(cases, ARRAY_SIZE(cases));
    setlocale(LC_ALL, "C");
}

/* Lengths count characters, not bytes. */
static void test_string_lengths(void **state)
{
    (void)state;
    const struct shape_op *op = shape_model_op(&shape_model_ecs, "TagResource");
    struct {
        const char *unit; /* repeated */
        size_t n;
        const char *field;
        const char *want;
    } rows[] = {
        {"k", 128, "key", OK},
        {"k", 129, "key", "tags[0].key: length 129 is above the maximum of 128"},
        {"é", 128, "key", OK}, /* 256 bytes */
        {"é", 129, "key", "tags[0].key: length 129 is above the maximum of 128"},
        {"😀", 128, "key", OK},
        {"v", 256, "value", OK},
        {"v", 257, "value", "tags[0].value: length 257 is above the maximum of 256"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        size_t ulen = strlen(rows[i].unit);
        cleanup_free char *s = xmalloc(ulen * rows[i].n + 1);
        for (size_t j = 0; j < rows[i].n; j++)
            memcpy(s + j * ulen, rows[i].unit, ulen);
        s[ulen * rows[i].n] = '\0';
        json_t *in = json_pack("{s:s, s:[{s:s, s:s}]}", "resourceArn", "arn", "tags", "key",
                               strcmp(rows[i].field, "key") ? "k" : s, "value",
                               strcmp(rows[i].field, "value") ? "v" : s);
        assert_non_null(in);
        struct wh_err err = {0};
        int r = shape_validate_input(&shape_model_ecs, op, in, "ClientException", &err);
        json_decref(in);
        if (!rows[i].want && r != 0)
            fail_msg("row %zu: expected valid, got: %s", i, err.msg);
        if (rows[i].want && (r == 0 || strcmp(err.msg, rows[i].want) != 0))
            fail_msg("row %zu:\n  expected: %s\n  got:      %s", i, rows[i].want,
                     r ? err.msg : "valid");
    }

    /* count limit on the list: 51 tags */
    json_t *tags = json_array();
    for (int i = 0; i < 51; i++)
        json_array_append_new(tags, json_pack("{s:s}", "key", "k"));
    json_t *in = json_pack("{s:s, s:o}", "resourceArn", "arn", "tags", tags);
    struct wh_err err = {0};
    assert_int_equal(shape_validate_input(&shape_model_ecs, op, in, "ClientException", &err), -1);
    assert_string_equal(err.msg, "tags: count 51 is above the maximum of 50");
    assert_string_equal(err.type, "ClientException");
    json_decref(in);
}

/* A value too long to quote whole is shortened at a character boundary. */
static void test_quote_truncation(void **state)
{
    (void)state;
    char name[200];
    memset(name, 'X', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    json_t *in = json_pack("{s:s}", "repositoryName", name);
    struct wh_err err = {0};
    const struct shape_op *op = shape_model_op(&shape_model_ecr, "CreateRepository");
    assert_int_equal(shape_validate_input(&shape_model_ecr, op, in, "InvalidParameterException", &err), -1);
    json_decref(in);
    assert_non_null(strstr(err.msg, "repositoryName: 'XXXXXXXX"));
    assert_non_null(strstr(err.msg, "XXX...' does not match the pattern"));
    assert_true(strlen(err.msg) < 200);
}

/* Every model: operations sorted and found, every shape index in range, every pattern compiles. */
static void test_tables(void **state)
{
    (void)state;
    const struct shape_model *models[] = {&shape_model_ecs, &shape_model_ecr, &shape_model_logs};
    unsigned npatterns = 0;
    for (size_t k = 0; k < ARRAY_SIZE(models); k++) {
        const struct shape_model *m = models[k];
        assert_true(m->nops > 0 && m->nshapes > 0);
        for (unsigned i = 0; i < m->nops; i++) {
            if (i > 0 && strcmp(m->ops[i - 1].name, m->ops[i].name) >= 0)
                fail_msg("%s: ops not sorted at %s", m->service, m->ops[i].name);
            assert_ptr_equal(shape_model_op(m, m->ops[i].name), &m->ops[i]);
            assert_true(m->ops[i].input < (int)m->nshapes);
        }
        assert_null(shape_model_op(m, "NoSuchAction"));
        assert_null(shape_model_op(m, ""));
        for (unsigned i = 0; i < m->nshapes; i++) {
            const struct shape *s = &m->shapes[i];
            assert_non_null(s->name);
            for (unsigned j = 0; j < s->nmembers; j++)
                assert_true(s->members[j].shape < m->nshapes);
            if (s->type == SHAPE_LIST)
                assert_true(s->member < m->nshapes);
            if (s->type == SHAPE_MAP)
                assert_true(s->key < m->nshapes && s->value < m->nshapes);
            if (!s->pattern)
                continue;
            regex_t re;
            if (regcomp(&re, s->pattern, REG_EXTENDED | REG_NOSUB) != 0)
                fail_msg("%s %s: pattern does not compile: %s", m->service, s->name, s->pattern);
            regfree(&re);
            npatterns++;
        }
    }
    assert_true(npatterns > 50);
    assert_non_null(shape_model_op(&shape_model_ecs, "RunTask"));
    assert_non_null(shape_model_op(&shape_model_ecr, "PutImage"));
    assert_non_null(shape_model_op(&shape_model_logs, "GetLogEvents"));
}

/* First use from many threads at once: the lazy pattern compilation must be race-free. */
static void *validate_many(void *arg)
{
    (void)arg;
    static const char *const names[] = {"team/app-web", "Bad_Name", "a.b/c-d", "x__y"};
    const struct shape_op *op = shape_model_op(&shape_model_ecr, "CreateRepository");
    intptr_t bad = 0;
    for (int i = 0; i < 400; i++) {
        json_t *in = json_pack("{s:s}", "repositoryName", names[i % 4]);
        struct wh_err err = {0};
        int r = shape_validate_input(&shape_model_ecr, op, in, "InvalidParameterException", &err);
        bad += (r != 0) != (i % 4 == 1);
        json_decref(in);
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        assert_int_equal(pthread_create(&t[i], NULL, validate_many, NULL), 0);
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((intptr_t)bad, 0);
    }
}

/* Features the three real models barely exercise, on a hand-made model. */
enum { T_IN, T_S, T_SECRET, T_BLOB, T_F, T_U, T_UA, T_UB };
static const char *const secret_enum[] = {"alpha", "beta"};
static const struct shape_member t_in_members[] = {
    {"s", T_S, false}, {"secret", T_SECRET, false}, {"blob", T_BLOB, false},
    {"f", T_F, false}, {"u", T_U, false},
};
static const struct shape_member t_u_members[] = {{"a", T_UA, false}, {"b", T_UB, false}};
static const struct shape t_shapes[] = {
    [T_IN] = {.name = "In", .type = SHAPE_STRUCTURE, .members = t_in_members, .nmembers = 5},
    [T_S] = {.name = "S", .type = SHAPE_STRING, .pattern = "^([a-z]+)$", .pattern_src = "[a-z]+"},
    [T_SECRET] = {.name = "Secret", .type = SHAPE_STRING, .enums = secret_enum, .nenums = 2,
                  .sensitive = true},
    [T_BLOB] = {.name = "Blob", .type = SHAPE_BLOB, .has_max = true, .max = 4},
    [T_F] = {.name = "F", .type = SHAPE_FLOAT, .has_min = true, .min = 0.5, .has_max = true,
             .max = 2.5},
    [T_U] = {.name = "U", .type = SHAPE_STRUCTURE, .members = t_u_members, .nmembers = 2,
             .is_union = true},
    [T_UA] = {.name = "UA", .type = SHAPE_STRING},
    [T_UB] = {.name = "UB", .type = SHAPE_INTEGER},
};
static const struct shape_op t_ops[] = {{"Bare", -1}, {"Op", T_IN}};
static const struct shape_model t_model = {"test", t_shapes, ARRAY_SIZE(t_shapes), t_ops, 2};

static void test_synthetic(void **state)
{
    (void)state;
    static const struct vcase rows[] = {
        {&t_model, "Op", "{\"s\": \"abc\"}", OK},
        {&t_model, "Op", "{\"s\": \"ab\\u0000c\"}", "s: 'ab"}, /* embedded NUL is matched too */
        {&t_model, "Op", "{\"secret\": \"gamma\"}", "secret: value is not one of alpha, beta"},
        {&t_model, "Op", "{\"blob\": \"AAAAAA==\"}", OK},
        {&t_model, "Op", "{\"blob\": \"AAAAAA\"}", OK},
        {&t_model, "Op", "{\"blob\": \"AAAAAAA=\"}", "blob: decoded length 5 is above the maximum of 4"},
        {&t_model, "Op", "{\"blob\": \"AAAAA\"}", "blob: expected a base64-encoded string"},
        {&t_model, "Op", "{\"blob\": \"AA=A\"}", "blob: expected a base64-encoded string"},
        {&t_model, "Op", "{\"f\": 1}", OK},
        {&t_model, "Op", "{\"f\": 2.5}", OK},
        {&t_model, "Op", "{\"f\": 0.25}", "f: 0.25 is below the minimum of 0.5"},
        {&t_model, "Op", "{\"u\": {\"a\": \"x\"}}", OK},
        {&t_model, "Op", "{\"u\": {\"a\": \"x\", \"b\": null}}", OK},
        {&t_model, "Op", "{\"u\": {\"a\": \"x\", \"b\": 1}}",
         "u: exactly one of a, b must be set, got 2"},
        {&t_model, "Bare", "{\"anything\": 1}", OK},
        {&t_model, "Bare", "[1]", "expected a JSON object for the request body"},
    };
    run_table(rows, ARRAY_SIZE(rows));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads), /* first: races the lazy pattern compilation */
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_cases_utf8_locale),
        cmocka_unit_test(test_string_lengths),
        cmocka_unit_test(test_quote_truncation),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_synthetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
