/* proc_run: argv, explicit environment, capture caps, deadlines, exec failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/proc.h"
#include "core/timeutil.h"

static const char *const env[] = {"PATH=/usr/bin:/bin", "WHARF_TEST=hello world", NULL};

static void test_capture_and_exit_code(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .extra_fd = -1};
    struct proc_result r;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_string_equal(r.out, "out\n");
    assert_string_equal(r.err, "err\n");
    assert_int_equal(r.exit_code, 3);
    assert_false(r.signaled);
    assert_false(proc_ok(&r));
    assert_string_equal(proc_describe(&r, 0), "exited 3: err");
    proc_result_free(&r);
}

static void test_env_is_explicit_and_argv_not_shell(void **state)
{
    (void)state;
    /* The argument is passed verbatim: no shell expands $HOME or splits words. */
    const char *argv[] = {"printf", "%s|%s", "$HOME", "a b", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .extra_fd = -1};
    struct proc_result r;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_string_equal(r.out, "$HOME|a b");
    proc_result_free(&r);
    const char *argv2[] = {"env", NULL};
    o.argv = argv2;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_string_equal(r.out, "PATH=/usr/bin:/bin\nWHARF_TEST=hello world\n");
    assert_true(proc_ok(&r));
    proc_result_free(&r);
}

static void test_stdin_input(void **state)
{
    (void)state;
    const char *argv[] = {"cat", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .input = "fed", .input_len = 3, .extra_fd = -1};
    struct proc_result r;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_string_equal(r.out, "fed");
    proc_result_free(&r);
}

/* A pipe holding `text`, its read end at fd `at` (close-on-exec, as our fds are). */
static int pipe_with(const char *text, int at)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
    close(p[1]);
    if (p[0] == at)
        return at;
    assert_int_equal(dup3(p[0], at, O_CLOEXEC), at);
    close(p[0]);
    return at;
}

/* extra_fd arrives as fd 3 and extra_fd2 as fd 4, whatever numbers they had, even each
 * other's, and with close-on-exec cleared. */
static void test_extra_fds(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "read a <&3; read b <&4; echo $a$b", NULL};
    static const int where[][2] = {{20, 21}, {4, 3}, {3, 4}};
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        int a = pipe_with("three\n", where[i][0]);
        int b = pipe_with("four\n", where[i][1]);
        struct proc_opts o = {.argv = argv, .envp = env, .extra_fd = a, .extra_fd2 = b};
        struct proc_result r;
        assert_int_equal(proc_run(&o, &r, NULL), 0);
        assert_string_equal(r.out, "threefour\n");
        proc_result_free(&r);
        close(a);
        close(b);
    }
}

static void test_timeout_kills_group(void **state)
{
    (void)state;
    /* The grandchild holds the pipe open too; the group kill must end it. */
    const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .timeout_ms = 200, .extra_fd = -1};
    struct proc_result r;
    double t0 = time_monotonic();
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    double took = time_monotonic() - t0;
    assert_true(r.timed_out);
    assert_true(took < 5.0);
    assert_string_equal(proc_describe(&r, 200), "timed out after 200 ms");
    proc_result_free(&r);
}

static void test_output_cap(void **state)
{
    (void)state;
    const char *argv[] = {"head", "-c", "100000", "/dev/zero", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .max_output = 1000, .extra_fd = -1};
    struct proc_result r;
    assert_int_equal(proc_run(&o, &r, NULL), 0);
    assert_int_equal(r.out_len, 1000);
    assert_true(proc_ok(&r));
    proc_result_free(&r);
}

static void test_not_found(void **state)
{
    (void)state;
    const char *argv[] = {"/nonexistent/wharf-binary", NULL};
    struct proc_opts o = {.argv = argv, .envp = env, .extra_fd = -1};
    struct proc_result r;
    struct wh_err err = {0};
    assert_int_equal(proc_run(&o, &r, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/wharf-binary"));
    const char *argv2[] = {"no-such-command-wharf", NULL};
    o.argv = argv2;
    assert_int_equal(proc_run(&o, &r, &err), -1);
    assert_non_null(strstr(err.msg, "no-such-command-wharf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_and_exit_code), cmocka_unit_test(test_env_is_explicit_and_argv_not_shell),
        cmocka_unit_test(test_stdin_input),           cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_extra_fds),
        cmocka_unit_test(test_output_cap),            cmocka_unit_test(test_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
