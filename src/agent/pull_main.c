/* wharf-agent-pull: pulls one image into the agent's layer store and exits. The agent
 * (images.c) starts it for every pull that needs the registry, so the libraries a pull
 * needs (libcurl, libarchive, libcrypto) are resident only while one runs. Protocol:
 * agent/pull_msg.h (JSON request on stdin, JSON answer on stdout, exit 0). Not meant to be
 * run by hand, but it can be: echo '{"dir":…,"reference":…,"arch":"amd64"}' | wharf-agent-pull */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent/pull_msg.h"
#include "agent/puller.h"
#include "core/json.h"
#include "core/xalloc.h"

#define REQUEST_MAX (1u << 20)

static char *read_stdin(size_t *ret_len)
{
    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            if (cap >= REQUEST_MAX)
                break;
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
    }
    buf[len] = 0;
    *ret_len = len;
    return buf;
}

static int answer(json_t *j)
{
    cleanup_free char *text = json_text(j);
    json_decref(j);
    return puts(text) < 0 || fflush(stdout) != 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: wharf-agent-pull < request.json (started by wharf-agent)\n");
        return 2;
    }
    size_t len;
    cleanup_free char *text = read_stdin(&len);
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j) {
        fprintf(stderr, "wharf-agent-pull: request is not JSON: %s (line %d)\n", je.text,
                je.line);
        return 2;
    }
    struct pull_request rq;
    struct wh_err err = {0};
    int rc = pull_request_from_json(j, &rq, &err);
    json_decref(j);
    if (rc < 0) {
        fprintf(stderr, "wharf-agent-pull: %s\n", err.msg);
        return 2;
    }
    /* An orphan must not keep writing into a store whose next owner sweeps it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (rq.parent && getppid() != rq.parent)
        return 3;
    struct puller_result res = {0};
    rc = puller_pull(&rq.o, rq.ref, &rq.auth, &res, &err);
    if (rq.auth.password)
        explicit_bzero((char *)rq.auth.password, strlen(rq.auth.password));
    int out = answer(pull_answer_to_json(&res, rc < 0 ? &err : NULL));
    puller_result_free(&res);
    pull_request_free(&rq);
    return out;
}
