/* wharf-init: a tiny PID 1 for containers with initProcessEnabled.
 *
 *   wharf-init [--] PROGRAM [ARG...]
 *
 * Runs PROGRAM as its child, forwards every signal it receives to that child, reaps every
 * zombie re-parented to it (orphans of the container), and exits with the child's status
 * (128+N when the child was killed by signal N). Built static and bind-mounted read-only at
 * /sbin/wharf-init, so it depends on nothing in the image. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t spawn(char **argv, const sigset_t *old)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigprocmask(SIG_SETMASK, old, NULL);
    execvp(argv[0], argv);
    int e = errno;
    fprintf(stderr, "wharf-init: cannot run %s: %s\n", argv[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

/* Reap everything that has exited; returns 1 with *st set once the main child is among them.
 * waitpid(-1) is right here: reaping every orphan is what PID 1 is for. */
static int reap(pid_t child, int *st)
{
    int found = 0, s;
    pid_t p;
    while ((p = waitpid(-1, &s, WNOHANG)) > 0)
        if (p == child) {
            *st = s;
            found = 1;
        }
    return found;
}

int main(int argc, char **argv)
{
    int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
    if (first >= argc) {
        fprintf(stderr, "usage: wharf-init [--] PROGRAM [ARG...]\n");
        return 2;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t child = spawn(argv + first, &old);
    if (child < 0) {
        fprintf(stderr, "wharf-init: fork: %s\n", strerror(errno));
        return 126;
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int st;
            if (reap(child, &st))
                return status_code(st);
            continue;
        }
        if (kill(child, sig) < 0 && errno != ESRCH)
            fprintf(stderr, "wharf-init: cannot forward signal %d: %s\n", sig, strerror(errno));
    }
}
