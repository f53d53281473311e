// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * vgpu-host: hosts GPU actors for /dev/vactor.  Opens a port per slot (in
 * user memory the GPU maps when the module takes it, else through the
 * bridge thread), creates each actor in the kernel's table, links the
 * channels asked for, then prints supervision events until SIGINT/SIGTERM.
 * Any CPU actor of the namespace reaches the GPU actors by name.
 *
 *   vgpu-host [-n SLOTS] [-b] [-l SRC:DST]... TYPE:NAME...
 *
 *   TYPE   echo | counter | forward=NEXT_NAME | pingpong
 *   -b     force the bridge (no user-memory rings)
 *   -l     a GPU-to-GPU channel between two of the actors (by position)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vact.h"
#include "vgpu.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static const char *const mode_names[] = { "auto", "direct", "bridge", "loopback" };

static int parse_type(const char *s, struct vgpu_actor_config *c, char **next)
{
	*next = NULL;
	if (!strcmp(s, "echo"))
		c->type = VGPU_ECHO;
	else if (!strcmp(s, "counter"))
		c->type = VGPU_COUNTER, c->state_len = 16;
	else if (!strcmp(s, "pingpong"))
		c->type = VGPU_PINGPONG, c->state_len = 16;
	else if (!strncmp(s, "forward=", 8))
		c->type = VGPU_FORWARD, c->state_len = 8, *next = (char *)s + 8;
	else
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct vgpu_opts o;
	struct vgpu *g;
	int slots[VGPU_MAX_SLOTS], nact = 0, links[2 * VGPU_MAX_SLOTS], nlinks = 0;
	int opt, ret;

	memset(&o, 0, sizeof(o));
	o.slots = 16;
	o.mode = VGPU_MODE_AUTO;
	while ((opt = getopt(argc, argv, "n:bl:")) != -1) {
		switch (opt) {
		case 'n':
			o.slots = (unsigned int)atoi(optarg);
			break;
		case 'b':
			o.mode = VGPU_MODE_BRIDGE;
			break;
		case 'l':
			if (nlinks < VGPU_MAX_SLOTS &&
			    sscanf(optarg, "%d:%d", &links[2 * nlinks],
				   &links[2 * nlinks + 1]) == 2) {
				nlinks++;
				break;
			}
			/* fall through */
		default:
			fprintf(stderr, "usage: %s [-n SLOTS] [-b] [-l SRC:DST]... "
				"TYPE:NAME...\n", argv[0]);
			return 2;
		}
	}
	ret = vgpu_start(&g, &o);
	if (ret) {
		fprintf(stderr, "vgpu-host: start: %s\n", strerror(-ret));
		return 1;
	}
	printf("vgpu-host: %u slots, %s mode\n", vgpu_slots(g), mode_names[vgpu_mode(g)]);
	for (int i = optind; i < argc && nact < VGPU_MAX_SLOTS; i++) {
		struct vgpu_actor_config c;
		char spec[128], *name, *next;
		uint64_t id, next_id = 0;

		memset(&c, 0, sizeof(c));
		snprintf(spec, sizeof(spec), "%s", argv[i]);
		name = strchr(spec, ':');
		if (!name) {
			fprintf(stderr, "vgpu-host: %s: TYPE:NAME\n", argv[i]);
			continue;
		}
		*name++ = '\0';
		if (parse_type(spec, &c, &next)) {
			fprintf(stderr, "vgpu-host: %s: unknown type\n", spec);
			continue;
		}
		if (next) {
			struct vact_port p;

			/* The next actor by name, through a port of our own. */
			if (!vact_port_open(&p, NULL)) {
				vact_lookup(&p, next, &next_id);
				vact_port_close(&p);
			}
			memcpy(c.state, &next_id, sizeof(next_id));
		}
		snprintf(c.name, sizeof(c.name), "%s", name);
		c.hb_interval_ns = 1000000;
		c.hb_timeout_ns = 1000000000;
		ret = vgpu_actor_create(g, &c, &id);
		if (ret < 0) {
			fprintf(stderr, "vgpu-host: %s: %s\n", name, vact_strerror(ret));
			continue;
		}
		slots[nact++] = ret;
		printf("vgpu-host: %s: actor %llu in slot %d\n", name,
		       (unsigned long long)id, ret);
	}
	for (int i = 0; i < nlinks; i++) {
		int a = links[2 * i], b = links[2 * i + 1];

		if (a < 0 || b < 0 || a >= nact || b >= nact ||
		    (ret = vgpu_link(g, slots[a], slots[b])) < 0)
			fprintf(stderr, "vgpu-host: link %d:%d failed\n", a, b);
		else
			printf("vgpu-host: channel %d: slot %d -> slot %d\n", ret,
			       slots[a], slots[b]);
	}
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!quit) {
		struct vgpu_event ev;

		if (vgpu_event_next(g, &ev, 100000000) == 0)
			printf("vgpu-host: event %u slot %d a=%llu b=%llu\n", ev.type,
			       ev.slot, (unsigned long long)ev.a,
			       (unsigned long long)ev.b), fflush(stdout);
	}
	vgpu_stop(g);
	return 0;
}
