/* Starting the framework services and the app, reaping, shutting down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "lib/core/log.h"
#include "lib/core/errfmt.h"

#define RESTART_DELAY_MS 1000
#define RESTART_MAX 100

/* PATH from the app's environment, for execvpe's lookup. */
static const char *env_path(char *const envp[])
{
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return &INIT_DEFAULT_PATH[5]; /* after "PATH=" */
}

/* In the child: the app's directory and identity, before exec. Groups
 * first: after setuid there is no right left to drop them. */
static int become_app(const struct init_boot *b)
{
	if (b->cwd[0] && chdir(b->cwd) < 0) {
		fprintf(stderr, "nek-init: chdir %s: %s\n", b->cwd, strerror(errno));
		return -1;
	}
	if (b->has_user && (setgroups(0, NULL) < 0 || setgid(b->gid) < 0 || setuid(b->uid) < 0)) {
		fprintf(stderr, "nek-init: becoming %u:%u: %s\n", (unsigned)b->uid,
			(unsigned)b->gid, strerror(errno));
		return -1;
	}
	return 0;
}

static pid_t spawn(char *const argv[], char *const envp[], const struct init_boot *app)
{
	const char *path = env_path(envp);
	sigset_t none;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (app && become_app(app) < 0)
		_exit(127);
	/* Child: PID 1 blocks every signal; the app must not inherit that. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (setenv("PATH", path, 1) == 0)
		execvpe(argv[0], argv, envp);
	fprintf(stderr, "nek-init: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t init_spawn(char *const argv[], char *const envp[])
{
	return spawn(argv, envp, NULL);
}

pid_t init_spawn_app(const struct init_boot *b)
{
	return spawn(b->cmd.v, b->env.v, b);
}

static const char *describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", st);
	return buf;
}

static int start_service(struct init_boot *b, struct service *s, char *err, size_t errlen)
{
	s->pid = init_spawn(s->argv.v, b->env.v);
	if (s->pid < 0) {
		if (s->flags & SVC_OPTIONAL) {
			log_warn("service %s: fork: %s", s->name, strerror(errno));
			return 0;
		}
		return errfmt(err, errlen, "service %s: fork: %s", s->name, strerror(errno));
	}
	log_info("service %s started (pid %d)", s->name, (int)s->pid);
	return 0;
}

static struct service *find_service(struct init_boot *b, pid_t pid)
{
	size_t i;

	for (i = 0; i < b->svc.n; i++)
		if (b->svc.s[i].pid == pid)
			return &b->svc.s[i];
	return NULL;
}

/* A running service exited: log it, restart it if asked. */
static void service_exited(const struct init_ops *ops, struct init_boot *b, struct service *s,
			   int st)
{
	char why[64];

	s->pid = 0;
	log_warn("service %s exited: %s", s->name, describe_status(st, why, sizeof(why)));
	if (!(s->flags & SVC_RESTART))
		return;
	if (s->restarts >= RESTART_MAX) {
		log_error("service %s: restarted %d times, giving up", s->name, RESTART_MAX);
		return;
	}
	s->restarts++;
	ops->sleep_ms(RESTART_DELAY_MS);
	s->pid = init_spawn(s->argv.v, b->env.v);
	if (s->pid < 0) {
		log_error("service %s: fork: %s", s->name, strerror(errno));
		s->pid = 0;
	}
}

/* Reaps children until `target` exits (its wait status in *st); services
 * that exit meanwhile are handled, orphans re-parented to PID 1 reaped. */
static int reap_until(const struct init_ops *ops, struct init_boot *b, pid_t target, int *st,
		      char *err, size_t errlen)
{
	for (;;) {
		pid_t pid = waitpid(-1, st, 0);
		struct service *s;

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return errfmt(err, errlen, "wait: %s", strerror(errno));
		if (pid == target)
			return 0;
		s = find_service(b, pid);
		if (s)
			service_exited(ops, b, s, *st);
	}
}

/* A `wait` service must exit 0 (unless optional) before the next starts. */
static int wait_service(const struct init_ops *ops, struct init_boot *b, struct service *s,
			char *err, size_t errlen)
{
	char why[64];
	int st;

	if (reap_until(ops, b, s->pid, &st, err, errlen) < 0)
		return -1;
	s->pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		log_info("service %s done", s->name);
		return 0;
	}
	if (s->flags & SVC_OPTIONAL) {
		log_warn("service %s: %s (optional)", s->name, describe_status(st, why, sizeof(why)));
		return 0;
	}
	return errfmt(err, errlen, "service %s: %s", s->name, describe_status(st, why, sizeof(why)));
}

int init_supervise(const struct init_ops *ops, struct init_boot *b, char *err, size_t errlen)
{
	char why[64];
	pid_t app;
	size_t i;
	int st;

	for (i = 0; i < b->svc.n; i++) {
		struct service *s = &b->svc.s[i];

		if (start_service(b, s, err, errlen) < 0)
			return -1;
		if ((s->flags & SVC_WAIT) && s->pid > 0 && wait_service(ops, b, s, err, errlen) < 0)
			return -1;
	}
	app = init_spawn_app(b);
	if (app < 0)
		return errfmt(err, errlen, "starting %s: %s", b->cmd.v[0], strerror(errno));
	log_info("started %s (pid %d)", b->cmd.v[0], (int)app);
	if (reap_until(ops, b, app, &st, err, errlen) < 0)
		return -1;
	log_warn("%s exited: %s", b->cmd.v[0], describe_status(st, why, sizeof(why)));
	return st;
}

void init_shutdown(const struct init_ops *ops, int poweroff, unsigned grace_ms)
{
	unsigned waited = 0;

	ops->kill_all(SIGTERM);
	while (waited < grace_ms) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid > 0)
			continue;
		ops->sleep_ms(50);
		waited += 50;
	}
	ops->kill_all(SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	ops->halt(poweroff);
}
