/* wharf-shim's pure parts (src/agent/shim/shim_log.c): the records it writes must read back
 * through k8s_log's parser as the same text, and runc's JSON log must give its error. Then the
 * shim itself (beside this test) with stand-in runtimes, for the failures a real runc rarely
 * gives: its error relayed, an exit with no error logged, a create that hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/k8s_log.h"
#include "agent/shim/shim_log.h"
#include "core/fsutil.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

static void test_timestamp(void **state)
{
    (void)state;
    char ts[SHIM_TS_MAX];
    struct timespec t = {.tv_sec = 1714557600, .tv_nsec = 123456789};
    size_t n = shim_timestamp(&t, ts);
    assert_string_equal(ts, "2024-05-01T10:00:00.123456789Z");
    assert_int_equal(n, strlen(ts));
    int64_t ms;
    assert_int_equal(k8s_time_parse(ts, n, &ms), 0);
    assert_int_equal(ms, INT64_C(1714557600123));
    t.tv_nsec = 5;
    shim_timestamp(&t, ts);
    assert_string_equal(ts, "2024-05-01T10:00:00.000000005Z");
}

/* Parse every record of out; check stream, tags and texts against the expected list. */
static void expect_records(const char *out, size_t len, enum k8s_stream stream,
                           const char *const *texts, const char *tags)
{
    size_t i = 0;
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        struct k8s_record r;
        assert_int_equal(k8s_record_parse(p, (size_t)(nl - p), &r), 0);
        assert_non_null(texts[i]);
        assert_int_equal(r.stream, stream);
        assert_int_equal(r.partial, tags[i] == 'P');
        assert_int_equal(r.len, strlen(texts[i]));
        assert_memory_equal(r.text, texts[i], r.len);
        assert_int_equal(r.ts_ms, INT64_C(1714557600123));
        i++;
        p = nl + 1;
    }
    assert_null(texts[i]);
}

static void test_records(void **state)
{
    (void)state;
    const char *ts = "2024-05-01T10:00:00.123456789Z";
    char out[4096];
    const char *chunk = "one\n\nthree has spaces\npart";
    size_t n = shim_records(ts, "stdout", chunk, strlen(chunk), out);
    assert_true(n <= shim_records_max(strlen(ts), strlen(chunk)));
    const char *const texts[] = {"one", "", "three has spaces", "part", NULL};
    expect_records(out, n, K8S_STDOUT, texts, "FFFP");
    /* a chunk that ends exactly at a newline has no partial record */
    n = shim_records(ts, "stderr", "x\n", 2, out);
    const char *const one[] = {"x", NULL};
    expect_records(out, n, K8S_STDERR, one, "F");
    assert_int_equal(shim_records(ts, "stdout", "", 0, out), 0);
    /* the worst case: nothing but newlines fills the bound exactly or less */
    char nls[64];
    memset(nls, '\n', sizeof(nls));
    n = shim_records(ts, "stdout", nls, sizeof(nls), out);
    assert_true(n <= shim_records_max(strlen(ts), sizeof(nls)));
    assert_int_equal(n, sizeof(nls) * (strlen(ts) + strlen(" stdout F \n")));
}

static void test_runtime_error(void **state)
{
    (void)state;
    const char *log =
        "{\"level\":\"warning\",\"msg\":\"not this\",\"time\":\"2024-05-01T10:00:00Z\"}\n"
        "{\"level\":\"error\",\"msg\":\"runc create failed: unable to start container process: "
        "exec: \\\"nope\\\": executable file not found in $PATH\\u003cx\\u003e\","
        "\"time\":\"2024-05-01T10:00:00Z\"}\n";
    char msg[256];
    assert_int_equal(shim_runtime_error(log, strlen(log), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "runc create failed: unable to start container process: exec: "
                             "\"nope\": executable file not found in $PATH<x>");
    /* cut to the buffer, NUL-terminated */
    char small[8];
    assert_int_equal(shim_runtime_error(log, strlen(log), small, sizeof(small)), 0);
    assert_string_equal(small, "runc cr");
    /* the last error wins; no error at all is -1 */
    const char *two = "{\"level\":\"error\",\"msg\":\"first\"}\n{\"level\":\"fatal\",\"msg\":\"second\"}";
    assert_int_equal(shim_runtime_error(two, strlen(two), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "second");
    const char *none = "{\"level\":\"info\",\"msg\":\"fine\"}\nnot json at all\n";
    assert_int_equal(shim_runtime_error(none, strlen(none), msg, sizeof(msg)), -1);
    assert_int_equal(shim_runtime_error("", 0, msg, sizeof(msg)), -1);
}

static void test_sync_lines(void **state)
{
    (void)state;
    char line[32];
    assert_int_equal(shim_sync_ok(4321, line, sizeof(line)), 8);
    assert_string_equal(line, "ok 4321\n");
    char big[64];
    size_t n = shim_sync_error("bad\nthing\thappened", big, sizeof(big));
    assert_string_equal(big, "error bad thing happened\n");
    assert_int_equal(n, strlen(big));
    /* too long: cut, still one line */
    n = shim_sync_error("0123456789012345678901234567890123456789", line, sizeof(line));
    assert_int_equal(n, sizeof(line) - 1);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1));
}

/* Run the shim with a stand-in runtime (a shell script) and return its sync line. */
static char *shim_with(const char *script, int timeout_ms)
{
    cleanup_free char *shim = fs_beside_self("wharf-shim");
    char dir[] = "/tmp/wharf-shim-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cleanup_free char *rt = xasprintf("%s/runtime", dir);
    cleanup_free char *bundle = xasprintf("%s/bundle", dir);
    cleanup_free char *exits = xasprintf("%s/exits", dir);
    cleanup_free char *log = xasprintf("%s/ctr.log", dir);
    cleanup_free char *text = xasprintf("#!/bin/sh\n%s\n", script);
    assert_int_equal(fs_write_atomic(rt, text, strlen(text), 0755), 0);
    assert_int_equal(mkdir(bundle, 0700), 0);
    assert_int_equal(mkdir(exits, 0700), 0);
    cleanup_free char *tmo = xasprintf("%d", timeout_ms);
    const char *argv[] = {shim, "--runtime", rt, "--root", dir, "--bundle", bundle, "--id", "c1",
                          "--log", log, "--exit-dir", exits, "--timeout-ms", tmo, NULL};
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct proc_opts o = {.argv = argv, .envp = env, .timeout_ms = 10000, .extra_fd = p[1]};
    struct proc_result r;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_true(proc_ok(&r)); /* the first process always exits 0: the rest is on the pipe */
    proc_result_free(&r);
    close(p[1]);
    char line[4096];
    ssize_t n = read(p[0], line, sizeof(line) - 1); /* one write, once the monitor is done */
    close(p[0]);
    assert_true(n > 0);
    line[n] = 0;
    cleanup_free char *rm = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    return xstrdup(line);
}

static void test_shim_failures(void **state)
{
    (void)state;
    cleanup_free char *relayed = shim_with(
        "for a; do case $a in --log=*) l=${a#--log=};; esac; done\n"
        "echo '{\"level\":\"error\",\"msg\":\"boom: \\\"x\\\"\"}' > \"$l\"; exit 1", 10000);
    assert_string_equal(relayed, "error boom: \"x\"\n");
    cleanup_free char *silent = shim_with("exit 3", 10000);
    assert_non_null(strstr(silent, "create failed (exit 3) and logged no error"));
    double t0 = time_monotonic();
    cleanup_free char *hung = shim_with("exec sleep 30", 300);
    assert_non_null(strstr(hung, "create timed out after 300 ms"));
    assert_true(time_monotonic() - t0 < 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_runtime_error),
        cmocka_unit_test(test_sync_lines),
        cmocka_unit_test(test_shim_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
