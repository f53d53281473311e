// SPDX-License-Identifier: MIT
/*
 * demo: four processes, four actors, messages routed by the kernel.
 *
 *   client      (this process)  asks the greeters to greet a few people
 *   greeter-1   (a process)     gets a visitor number from the counter,
 *   greeter-2   (a process)     then answers the client
 *   counter     (a process)     counts visitors
 *
 * Every request is matched to its reply by its tag:
 *
 *   client --"hello Ada" (tag 1)--> greeter-1 --"incr" (tag 7)--> counter
 *   client <--"Hello, Ada! ..." (tag 1)-- greeter-1 <--"4" (tag 7)-- counter
 *
 * Each process opens its own /dev/vactor port, creates its actor under a
 * name, and finds the others with a lookup by name; nobody knows a pid.
 * While every actor still exists, the client prints /proc/vactor/actors and
 * /proc/vactor/stats; then it stops the hosts with a message each.
 *
 * Processes start in step through pipes (no sleeps).  Exit status 0 only if
 * every expected message arrived, with the expected contents.
 *
 * Build: cc -Ikmod/uapi -Ilibvact/include examples/demo.c libvact/src/\*.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <vact.h>

#define N_GREETERS	2
#define N_HOSTS		(N_GREETERS + 1)	/* + the counter */
/* No reply within this long means something is broken (qemu TCG is slow). */
#define WAIT_NS		(30ll * 1000 * 1000 * 1000)
#define TAG_STOP	1000

static const char *const people[] = {
	"Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis",
};
#define N_PEOPLE	(sizeof(people) / sizeof(people[0]))

static const char *me = "client";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line per write(), so lines of different processes do not mix. */
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%-10s| ", me);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return;
}

/* A message is text; copy it out of the CQE (inline or receive area). */
static void text_of(struct vact_port *port, const struct vactor_cqe *cqe,
		    char *buf, size_t size)
{
	const void *p = vact_cqe_data(port, cqe);
	size_t n = cqe->len < size - 1 ? cqe->len : size - 1;

	if (!p)
		n = 0;
	memcpy(buf, p, n);
	buf[n] = 0;
}

static int send_text(struct vact_port *port, uint64_t from, uint64_t to,
		     uint64_t tag, const char *text)
{
	int ret = vact_send(port, from, to, text, (uint32_t)strlen(text), tag);

	if (ret)
		say("send \"%s\" failed: %s", text, vact_strerror(ret));
	return ret;
}

/*
 * Next message for us.  Send errors (EV_COMPLETE with res < 0) and dropped
 * messages (EV_UNDELIVERED) are reported and count as failures.
 */
static int next_msg(struct vact_port *port, struct vactor_cqe *out)
{
	for (;;) {
		struct vactor_cqe *cqe;
		int ret = vact_wait_cqe(port, &cqe, WAIT_NS);

		if (ret) {
			say("waiting for a message: %s", vact_strerror(ret));
			return ret;
		}
		*out = *cqe;
		if (cqe->event == VACTOR_EV_MSG)
			return 0;	/* the caller advances after reading it */
		vact_cqe_seen(port, cqe);
		if (out->event == VACTOR_EV_COMPLETE && out->res == 0)
			continue;
		say("event %u for tag %llu: %s", out->event,
		    (unsigned long long)out->tag, vact_strerror(out->res));
		return out->res ? out->res : -EPROTO;
	}
}

/* Opens a port and creates our actor under `name`. */
static int host_open(struct vact_port *port, const char *name, uint64_t *id)
{
	int ret = vact_port_open(port, NULL);

	if (ret) {
		say("cannot open %s: %s (is vactor.ko loaded?)", VACTOR_DEVICE,
		    strerror(-ret));
		return ret;
	}
	ret = vact_create(port, name, 0, id);
	if (ret) {
		say("cannot create actor \"%s\": %s", name, vact_strerror(ret));
		vact_port_close(port);
		return ret;
	}
	say("actor \"%s\" is #%llu, hosted by pid %d on port %u", name,
	    (unsigned long long)*id, (int)getpid(), port->id);
	return 0;
}

static int lookup(struct vact_port *port, const char *name, uint64_t *id)
{
	int ret = vact_lookup(port, name, id);

	if (ret)
		say("lookup \"%s\": %s", name, vact_strerror(ret));
	return ret;
}

/* --- pipes: start in step, no sleeps ----------------------------------- */

struct step {
	int ready[2];	/* child -> client: "my actor exists" */
	int go[2];	/* client -> child: "everyone's actor exists" */
};

static int step_ready(struct step *s)
{
	char b = 'r';

	return write(s->ready[1], &b, 1) == 1 ? 0 : -1;
}

static int step_wait_go(struct step *s)
{
	char b;

	return read(s->go[0], &b, 1) == 1 ? 0 : -1;
}

/* --- the counter -------------------------------------------------------- */

static int counter_main(struct step *s)
{
	struct vact_port port;
	uint64_t self;
	unsigned long count = 0, requests = 0;
	int rc = 1;

	me = "counter";
	if (host_open(&port, "counter", &self)) {
		step_ready(s);	/* the client notices the missing actor */
		return 1;
	}
	if (step_ready(s) || step_wait_go(s))
		goto out;
	for (;;) {
		struct vactor_cqe cqe;
		char text[128], reply[64];

		if (next_msg(&port, &cqe))
			goto out;
		text_of(&port, &cqe, text, sizeof(text));
		vact_cq_advance(&port, 1);
		requests++;
		if (!strcmp(text, "incr")) {
			count++;
			say("\"incr\" from #%llu (tag %llu): count is now %lu",
			    (unsigned long long)cqe.source,
			    (unsigned long long)cqe.tag, count);
			snprintf(reply, sizeof(reply), "%lu", count);
		} else if (!strcmp(text, "get")) {
			say("\"get\" from #%llu: count is %lu",
			    (unsigned long long)cqe.source, count);
			snprintf(reply, sizeof(reply), "%lu", count);
		} else if (!strcmp(text, "stop")) {
			snprintf(reply, sizeof(reply), "bye: %lu requests, count %lu",
				 requests, count);
			say("\"stop\": replying \"%s\"", reply);
			rc = send_text(&port, self, cqe.source, cqe.tag, reply) ? 1 : 0;
			break;
		} else {
			say("unknown request \"%s\"", text);
			snprintf(reply, sizeof(reply), "error: unknown request");
		}
		if (send_text(&port, self, cqe.source, cqe.tag, reply))
			goto out;
	}
out:
	vact_destroy(&port, self);
	vact_port_close(&port);
	return rc;
}

/* --- a greeter ---------------------------------------------------------- */

/* A hello waiting for its visitor number. */
struct pending {
	bool used;
	uint64_t client, client_tag;
	char who[48];
};

static int greeter_main(struct step *s, int n)
{
	struct pending pend[64] = { 0 };
	char name[16];
	struct vact_port port;
	uint64_t self, counter;
	unsigned long served = 0;
	int rc = 1;

	snprintf(name, sizeof(name), "greeter-%d", n);
	me = name;
	if (host_open(&port, name, &self)) {
		step_ready(s);
		return 1;
	}
	if (step_ready(s) || step_wait_go(s) || lookup(&port, "counter", &counter))
		goto out;
	say("found \"counter\": #%llu", (unsigned long long)counter);
	for (;;) {
		struct vactor_cqe cqe;
		char text[128], reply[128];

		if (next_msg(&port, &cqe))
			goto out;
		text_of(&port, &cqe, text, sizeof(text));
		vact_cq_advance(&port, 1);

		if (cqe.source == counter) {
			/* A visitor number: finish the hello it belongs to. */
			struct pending *p = cqe.tag < 64 ? &pend[cqe.tag] : NULL;

			if (!p || !p->used) {
				say("reply from counter for unknown tag %llu",
				    (unsigned long long)cqe.tag);
				goto out;
			}
			snprintf(reply, sizeof(reply), "Hello, %s! You are visitor #%.20s.",
				 p->who, text);
			say("counter says %s is visitor #%s; answering tag %llu",
			    p->who, text, (unsigned long long)p->client_tag);
			if (send_text(&port, self, p->client, p->client_tag, reply))
				goto out;
			p->used = false;
			served++;
		} else if (!strncmp(text, "hello ", 6)) {
			/* Ask the counter, remember who is waiting (tag = slot). */
			uint64_t slot;

			for (slot = 0; slot < 64 && pend[slot].used; slot++)
				;
			if (slot == 64) {
				say("too many hellos in flight");
				goto out;
			}
			pend[slot].used = true;
			pend[slot].client = cqe.source;
			pend[slot].client_tag = cqe.tag;
			snprintf(pend[slot].who, sizeof(pend[slot].who), "%.40s", text + 6);
			say("\"%s\" from #%llu (tag %llu): asking counter (tag %llu)",
			    text, (unsigned long long)cqe.source,
			    (unsigned long long)cqe.tag, (unsigned long long)slot);
			if (send_text(&port, self, counter, slot, "incr"))
				goto out;
		} else if (!strcmp(text, "stop")) {
			snprintf(reply, sizeof(reply), "bye: served %lu", served);
			say("\"stop\": replying \"%s\"", reply);
			rc = send_text(&port, self, cqe.source, cqe.tag, reply) ? 1 : 0;
			break;
		} else {
			say("unknown request \"%s\"", text);
			goto out;
		}
	}
out:
	vact_destroy(&port, self);
	vact_port_close(&port);
	return rc;
}

/* --- the client --------------------------------------------------------- */

static void print_file(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	printf("\n----- %s -----\n", path);
	if (!f) {
		printf("(cannot open: %s)\n", strerror(errno));
		fflush(stdout);
		return;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	printf("----- end of %s -----\n\n", path);
	fflush(stdout);
}

/* Does /proc/vactor/actors list every actor of the demo? */
static void check_proc(const char *const names[], int n)
{
	char buf[16384];
	FILE *f = fopen("/proc/vactor/actors", "r");
	size_t len;

	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = 0;
	fclose(f);
	for (int i = 0; i < n; i++)
		if (!strstr(buf, names[i]))
			say("note: \"%s\" is not in /proc/vactor/actors", names[i]);
}

static int client_main(struct step steps[N_HOSTS], pid_t pids[N_HOSTS])
{
	static const char *const names[] = { "counter", "greeter-1", "greeter-2", "client" };
	uint64_t greeter[N_GREETERS], counter, self;
	bool answered[N_PEOPLE] = { false }, visitor_seen[N_PEOPLE + 1] = { false };
	unsigned long total_served = 0;
	unsigned int replies = 0, byes = 0;
	struct vact_port port;
	bool ok = true, up = false;
	char b = 'g';
	int ret;

	if (host_open(&port, "client", &self)) {
		ok = false;
		goto out;
	}
	up = true;

	/* Everyone's actor exists before anyone looks one up. */
	for (int i = 0; i < N_HOSTS; i++)
		if (read(steps[i].ready[0], &b, 1) != 1) {
			say("host %d died during startup", i);
			ok = false;
		}
	for (int i = 0; i < N_HOSTS; i++)
		if (write(steps[i].go[1], &b, 1) != 1)
			ok = false;
	if (!ok)
		goto out;

	if (lookup(&port, "counter", &counter) ||
	    lookup(&port, "greeter-1", &greeter[0]) ||
	    lookup(&port, "greeter-2", &greeter[1])) {
		ok = false;
		goto out;
	}
	say("found counter #%llu, greeter-1 #%llu, greeter-2 #%llu",
	    (unsigned long long)counter, (unsigned long long)greeter[0],
	    (unsigned long long)greeter[1]);

	/* All the hellos at once, one SQE each, in one submission. */
	for (unsigned int i = 0; i < N_PEOPLE; i++) {
		struct vactor_sqe *sqe = vact_get_sqe(&port);
		char text[64];

		snprintf(text, sizeof(text), "hello %s", people[i]);
		if (!sqe || vact_prep_send(&port, sqe, self, greeter[i % N_GREETERS],
					   text, (uint32_t)strlen(text), i + 1)) {
			say("cannot queue \"%s\"", text);
			ok = false;
			goto out;
		}
		say("-> greeter-%u: \"%s\" (tag %u)", i % N_GREETERS + 1, text, i + 1);
	}
	ret = vact_submit(&port);
	if (ret != (int)N_PEOPLE) {
		say("submit: %s", ret < 0 ? vact_strerror(ret) : "short");
		ok = false;
		goto out;
	}

	/* Replies come back in any order; the tag says which request. */
	while (replies < N_PEOPLE) {
		struct vactor_cqe cqe;
		char text[128], expect[64];
		unsigned long visitor;
		uint64_t i;

		if (next_msg(&port, &cqe)) {
			ok = false;
			goto out;
		}
		text_of(&port, &cqe, text, sizeof(text));
		vact_cq_advance(&port, 1);
		i = cqe.tag - 1;
		if (cqe.tag < 1 || i >= N_PEOPLE || answered[i] ||
		    cqe.source != greeter[i % N_GREETERS]) {
			say("unexpected reply \"%s\" (tag %llu from #%llu)", text,
			    (unsigned long long)cqe.tag, (unsigned long long)cqe.source);
			ok = false;
			continue;
		}
		snprintf(expect, sizeof(expect), "Hello, %s! You are visitor #", people[i]);
		if (strncmp(text, expect, strlen(expect)) ||
		    sscanf(text + strlen(expect), "%lu", &visitor) != 1 ||
		    visitor < 1 || visitor > N_PEOPLE || visitor_seen[visitor]) {
			say("wrong reply for tag %llu: \"%s\"", (unsigned long long)cqe.tag, text);
			ok = false;
		} else {
			visitor_seen[visitor] = true;
		}
		answered[i] = true;
		replies++;
		say("<- greeter-%llu (tag %llu): \"%s\"", i % N_GREETERS + 1ull,
		    (unsigned long long)cqe.tag, text);
	}

	/* The counter has seen every visitor. */
	if (send_text(&port, self, counter, N_PEOPLE + 1, "get")) {
		ok = false;
		goto out;
	}
	{
		struct vactor_cqe cqe;
		char text[64];

		if (next_msg(&port, &cqe)) {
			ok = false;
			goto out;
		}
		text_of(&port, &cqe, text, sizeof(text));
		vact_cq_advance(&port, 1);
		say("<- counter (tag %llu): count %s", (unsigned long long)cqe.tag, text);
		if (cqe.source != counter || cqe.tag != N_PEOPLE + 1 ||
		    strtoul(text, NULL, 10) != N_PEOPLE) {
			say("expected a count of %zu", N_PEOPLE);
			ok = false;
		}
	}

	/* Every actor still exists: this is what the kernel knows. */
	fflush(stdout);
	print_file("/proc/vactor/actors");
	print_file("/proc/vactor/stats");
	check_proc(names, 4);

	/* Stop the hosts; each answers "bye" before it closes its port. */
	for (int i = 0; i < N_HOSTS; i++) {
		uint64_t to = i == 0 ? counter : greeter[i - 1];

		if (send_text(&port, self, to, TAG_STOP + i, "stop"))
			ok = false;
	}
	while (byes < N_HOSTS) {
		struct vactor_cqe cqe;
		char text[128];
		unsigned long served;

		if (next_msg(&port, &cqe)) {
			ok = false;
			break;
		}
		text_of(&port, &cqe, text, sizeof(text));
		vact_cq_advance(&port, 1);
		if (cqe.tag < TAG_STOP || cqe.tag >= TAG_STOP + N_HOSTS ||
		    strncmp(text, "bye", 3)) {
			say("unexpected \"%s\" (tag %llu)", text, (unsigned long long)cqe.tag);
			ok = false;
			continue;
		}
		say("<- %s: \"%s\"", names[cqe.tag - TAG_STOP], text);
		if (sscanf(text, "bye: served %lu", &served) == 1)
			total_served += served;
		byes++;
	}
	if (total_served != N_PEOPLE) {
		say("greeters served %lu hellos, expected %zu", total_served, N_PEOPLE);
		ok = false;
	}

out:
	if (up) {
		vact_destroy(&port, self);
		vact_port_close(&port);
	}
	for (int i = 0; i < N_HOSTS; i++) {
		int status;

		close(steps[i].go[1]);	/* a host still waiting to start gives up */
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			say("%s did not exit cleanly", names[i]);
			ok = false;
		}
	}
	if (ok) {
		unsigned int n = 0;

		for (unsigned int v = 1; v <= N_PEOPLE; v++)
			n += visitor_seen[v];
		say("done: %u/%zu greetings answered, visitor numbers 1..%zu each "
		    "given once, %u/%d hosts said bye", replies, N_PEOPLE, N_PEOPLE,
		    byes, N_HOSTS);
		printf("demo: PASS\n");
	} else {
		printf("demo: FAIL\n");
	}
	return ok ? 0 : 1;
}

int main(void)
{
	struct step steps[N_HOSTS];
	pid_t pids[N_HOSTS];

	/* A safety net: a lost message must not hang the VM. */
	alarm(300);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("demo: a counter, two greeters and a client, one process each\n\n");

	for (int i = 0; i < N_HOSTS; i++) {
		if (pipe(steps[i].ready) || pipe(steps[i].go)) {
			perror("pipe");
			return 1;
		}
	}
	for (int i = 0; i < N_HOSTS; i++) {
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			int rc;

			/* Keep only our own ends, so a dead client is an EOF. */
			for (int j = 0; j < N_HOSTS; j++) {
				close(steps[j].ready[0]);
				close(steps[j].go[1]);
				if (j != i) {
					close(steps[j].ready[1]);
					close(steps[j].go[0]);
				}
			}
			rc = i == 0 ? counter_main(&steps[i]) : greeter_main(&steps[i], i);
			_exit(rc);
		}
	}
	for (int i = 0; i < N_HOSTS; i++) {
		close(steps[i].ready[1]);
		close(steps[i].go[0]);
	}
	return client_main(steps, pids);
}
