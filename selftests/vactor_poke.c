// SPDX-License-Identifier: GPL-2.0
/*
 * vactor_poke: exercises one load of the module for modload.sh.
 *
 *   vactor_poke                      use every object kind, then close
 *   vactor_poke hold READY RELEASE   keep a port open: write a line to the
 *                                    fifo READY, exit when RELEASE is closed
 *
 * The default run goes through each path that allocates in the module:
 * ports and their regions, named and unnamed actors, messages written
 * straight into a CQ, held in a mailbox (CQ full) with inline and large
 * payloads, destroyed with messages waiting (EV_UNDELIVERED), and actors
 * left dormant with messages held and requeued from the CQ at close.  The
 * module must free all of it at unload.  Exit status 0 when every step did
 * what uapi.rst says; a message on stderr otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vact.h"

#define NR_ACTORS	8
#define SMALL_CQ	16
#define BURST		200
#define EXTRA_PORTS	32

static int fail(const char *step, int err)
{
	fprintf(stderr, "vactor_poke: %s: %s\n", step, vact_strerror(err));
	exit(1);
}

#define CHECK(step, expr) do {			\
	int __r = (expr);			\
	if (__r < 0)				\
		fail(step, __r);		\
} while (0)

static uint32_t poke_len(unsigned int i)
{
	if (i == BURST / 2)
		return VACTOR_MSG_MAX;
	return i % 8 == 7 ? 1000 + i * 13 : i % 65;
}

/* Sends count messages from one actor, spread over the given targets. */
static void burst(struct vact_port *p, uint64_t from, const uint64_t *to,
		  unsigned int nr_to, unsigned int count)
{
	static unsigned char buf[VACTOR_MSG_MAX];
	unsigned int i;

	memset(buf, 0x5a, sizeof(buf));
	for (i = 0; i < count; i++)
		CHECK("send", vact_send(p, from, to[i % nr_to], buf,
					poke_len(i), i));
}

/* Takes exactly n messages (waiting for the mailboxes to drain in). */
static void drain(struct vact_port *p, unsigned int n)
{
	struct vactor_cqe *cqe;
	unsigned int i;

	for (i = 0; i < n; i++) {
		CHECK("wait", vact_wait_cqe(p, &cqe, 20LL * 1000000000));
		if (cqe->event != VACTOR_EV_MSG)
			fail("drain: not a message", -EPROTO);
		vact_cqe_seen(p, cqe);
	}
	if (vact_peek_cqe(p, &cqe) != -EAGAIN)
		fail("drain: more than sent", -EPROTO);
}

/*
 * Many small ports, so that a leak of one object per port, actor or message
 * grows by at least EXTRA_PORTS per run: modload.sh's slab counts are too
 * coarse to see one object a run.  Odd ones destroy their actor; even ones
 * close with a message left in the CQ, so the actor goes dormant holding it.
 */
static void many_ports(void)
{
	struct vactor_params tiny = { .sq_entries = 2, .cq_entries = 2,
				      .send_size = 4096,
				      .recv_size = VACTOR_MSG_MAX };
	struct vactor_cqe *cqe;
	struct vact_port p;
	unsigned int i;
	uint64_t id;

	for (i = 0; i < EXTRA_PORTS; i++) {
		CHECK("open tiny", vact_port_open(&p, &tiny));
		CHECK("create tiny", vact_create(&p, NULL, 0, &id));
		CHECK("send tiny", vact_send(&p, id, id, "one", 3, 1));
		CHECK("send tiny", vact_send(&p, id, id, "two", 3, 2));
		CHECK("wait tiny", vact_wait_cqe(&p, &cqe, 20LL * 1000000000));
		vact_cqe_seen(&p, cqe);
		if (i % 2) {
			CHECK("wait tiny", vact_wait_cqe(&p, &cqe, 20LL * 1000000000));
			vact_cqe_seen(&p, cqe);
			CHECK("destroy tiny", vact_destroy(&p, id));
		}
		vact_port_close(&p);
	}
}

static int poke(void)
{
	struct vactor_params small = { .sq_entries = 8, .cq_entries = SMALL_CQ };
	uint64_t a[NR_ACTORS], b, found;
	struct vact_port pa, pb;
	struct vactor_cqe *cqe;
	char name[VACTOR_NAME_MAX];
	unsigned int i, undelivered = 0;

	CHECK("open a", vact_port_open(&pa, &small));
	CHECK("open b", vact_port_open(&pb, NULL));
	for (i = 0; i < NR_ACTORS; i++) {
		snprintf(name, sizeof(name), "poke.%d.%u", (int)getpid(), i);
		CHECK("create", vact_create(&pa, i % 2 ? NULL : name, 0, &a[i]));
	}
	CHECK("create b", vact_create(&pb, NULL, 0, &b));
	snprintf(name, sizeof(name), "poke.%d.0", (int)getpid());
	CHECK("lookup", vact_lookup(&pb, name, &found));
	if (found != a[0])
		fail("lookup: wrong id", -EPROTO);

	/* More than the small CQ holds: most wait in mailboxes first. */
	burst(&pb, b, a, NR_ACTORS, BURST);
	drain(&pa, BURST);

	/* Destroy an actor with messages waiting: its sender hears of them. */
	burst(&pb, b, &a[1], 1, SMALL_CQ + 24);
	CHECK("destroy", vact_destroy(&pa, a[1]));
	while (vact_wait_cqe(&pb, &cqe, 0) == 0) {
		if (cqe->event != VACTOR_EV_UNDELIVERED || cqe->res != -ENOENT)
			fail("undelivered event", -EPROTO);
		undelivered++;
		vact_cqe_seen(&pb, cqe);
	}
	if (undelivered != 24)
		fail("undelivered count", -EPROTO);
	CHECK("destroy unnamed", vact_destroy(&pa, a[3]));

	/* Leave messages held and in the CQ: the actors go dormant with them. */
	burst(&pb, b, &a[2], 1, 10);
	vact_port_close(&pa);
	burst(&pb, b, &a[4], 1, 5);
	vact_port_close(&pb);

	many_ports();
	return 0;
}

/*
 * Holds a port open until the fifo RELEASE reaches end of file.  Both fifo
 * steps happen even when the port could not be opened, so the script on the
 * other end never blocks: READY gets "ready" or "failed".
 */
static int hold(const char *ready, const char *release)
{
	struct vact_port p;
	int fd, err;
	uint64_t id;
	char c;

	err = vact_port_open(&p, NULL);
	if (!err)
		err = vact_create(&p, NULL, 0, &id);
	fd = open(ready, O_WRONLY);
	if (fd < 0)
		fail("ready fifo", -errno);
	dprintf(fd, "%s\n", err ? "failed" : "ready");
	close(fd);
	fd = open(release, O_RDONLY);
	if (fd < 0)
		fail("release fifo", -errno);
	while (read(fd, &c, 1) > 0)
		;
	close(fd);
	if (err)
		fail("hold", err);
	vact_port_close(&p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3]);
	if (argc != 1) {
		fprintf(stderr, "usage: vactor_poke [hold READY RELEASE]\n");
		return 2;
	}
	return poke();
}
