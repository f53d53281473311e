// SPDX-License-Identifier: GPL-2.0
/*
 * vactorctl: look at and poke the actors of this IPC namespace.
 *
 *   vactorctl [--json] ls                  actors (/proc/vactor/actors)
 *   vactorctl [--json] tree [ROOT]         the supervision tree (flat today)
 *   vactorctl [--json] stats               counters and ports
 *   vactorctl send [--tag N] ACTOR WORD... a plain message, the words
 *                                          joined by spaces as payload
 *   vactorctl stop ACTOR                   destroy (dormant) or ask to stop
 *   vactorctl migrate ACTOR [PORT]         reserved: not supported yet
 *
 * ACTOR is an id (digits) or a name.  Exit codes (Documentation/vactorctl.rst):
 * 0 success, 1 the operation failed, 2 usage, 3 not supported yet,
 * 4 vactor is not available (module not loaded, no /proc/vactor).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vact.h>

#define EXIT_FAILED	1
#define EXIT_USAGE	2
#define EXIT_UNSUPP	3
#define EXIT_NODEV	4

#define PROC_DIR	"/proc/vactor/"
#define MAX_COLS	32

static bool json;

/* --- /proc tables: a header line, then tab-separated rows ------------------ */

struct table {
	int ncols;
	char *cols[MAX_COLS];
	int nrows;
	char ***rows;		/* rows[r][c] */
	char *text;
};

static void table_free(struct table *t)
{
	for (int r = 0; r < t->nrows; r++)
		free(t->rows[r]);
	free(t->rows);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096, n;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* Splits s at sep in place, up to max fields; returns how many. */
static int split(char *s, char sep, char **out, int max)
{
	int n = 0;

	while (n < max) {
		char *e = strchr(s, sep);

		out[n++] = s;
		if (!e)
			break;
		*e = 0;
		s = e + 1;
	}
	return n;
}

static int table_read(struct table *t, const char *file)
{
	char path[128], *line, *next;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), PROC_DIR "%s", file);
	t->text = slurp(path);
	if (!t->text)
		return -errno;
	line = t->text;
	next = strchr(line, '\n');
	if (!next)
		return -EPROTO;
	*next++ = 0;
	t->ncols = split(line, '\t', t->cols, MAX_COLS);
	for (line = next; *line; line = next) {
		char **row, ***grown;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		row = calloc(MAX_COLS, sizeof(*row));
		grown = realloc(t->rows, (size_t)(t->nrows + 1) * sizeof(*grown));
		if (!row || !grown) {
			free(row);
			if (grown)
				t->rows = grown;
			return -ENOMEM;
		}
		t->rows = grown;
		if (split(line, '\t', row, MAX_COLS) != t->ncols) {
			free(row);
			continue;	/* a line we do not understand */
		}
		t->rows[t->nrows++] = row;
	}
	return 0;
}

static int col(const struct table *t, const char *name)
{
	for (int c = 0; c < t->ncols; c++)
		if (!strcmp(t->cols[c], name))
			return c;
	return -1;
}

static bool is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* One row as a JSON object; "-" (no name) is null. */
static void json_row(const struct table *t, char **row)
{
	putchar('{');
	for (int c = 0; c < t->ncols; c++) {
		if (c)
			putchar(',');
		json_string(t->cols[c]);
		putchar(':');
		if (!strcmp(row[c], "-"))
			fputs("null", stdout);
		else if (is_number(row[c]))
			fputs(row[c], stdout);
		else
			json_string(row[c]);
	}
	putchar('}');
}

static void json_rows(const struct table *t)
{
	putchar('[');
	for (int r = 0; r < t->nrows; r++) {
		if (r)
			putchar(',');
		json_row(t, t->rows[r]);
	}
	putchar(']');
}

/* A table for people: upper-case headers, columns padded to fit. */
static void print_table(const struct table *t, const char *indent)
{
	int width[MAX_COLS];

	for (int c = 0; c < t->ncols; c++) {
		width[c] = (int)strlen(t->cols[c]);
		for (int r = 0; r < t->nrows; r++)
			if ((int)strlen(t->rows[r][c]) > width[c])
				width[c] = (int)strlen(t->rows[r][c]);
	}
	fputs(indent, stdout);
	for (int c = 0; c < t->ncols; c++) {
		for (const char *p = t->cols[c]; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		if (c + 1 < t->ncols)
			printf("%*s", width[c] - (int)strlen(t->cols[c]) + 2, "");
	}
	putchar('\n');
	for (int r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (int c = 0; c < t->ncols; c++) {
			if (c + 1 < t->ncols)
				printf("%-*s  ", width[c], t->rows[r][c]);
			else
				fputs(t->rows[r][c], stdout);
		}
		putchar('\n');
	}
}

static int proc_error(const char *file, int err)
{
	fprintf(stderr, "vactorctl: cannot read " PROC_DIR "%s: %s%s\n", file,
		strerror(-err), err == -ENOENT ? " (is vactor.ko loaded?)" : "");
	return err == -ENOENT ? EXIT_NODEV : EXIT_FAILED;
}

/* --- commands -------------------------------------------------------------- */

static int cmd_ls(void)
{
	struct table t;
	int ret = table_read(&t, "actors");

	if (ret) {
		table_free(&t);
		return proc_error("actors", ret);
	}
	if (json) {
		json_rows(&t);
		putchar('\n');
	} else if (!t.nrows) {
		printf("no actors\n");
	} else {
		print_table(&t, "");
	}
	table_free(&t);
	return 0;
}

/* Finds the row of ACTOR (id or name) in the actors table. */
static int find_row(const struct table *t, const char *actor)
{
	int cid = col(t, "id"), cname = col(t, "name");

	for (int r = 0; r < t->nrows; r++) {
		if (is_number(actor) && cid >= 0 && !strcmp(t->rows[r][cid], actor))
			return r;
		if (cname >= 0 && !strcmp(t->rows[r][cname], actor))
			return r;
	}
	return -1;
}

static int cmd_tree(const char *root)
{
	static const char note[] =
		"no supervision tree yet: every actor is shown directly under the root";
	struct table t;
	int ret = table_read(&t, "actors"), r0 = -1;
	int cid, cname, cstate;

	if (ret) {
		table_free(&t);
		return proc_error("actors", ret);
	}
	if (root) {
		r0 = find_row(&t, root);
		if (r0 < 0) {
			fprintf(stderr, "vactorctl: no actor %s\n", root);
			table_free(&t);
			return EXIT_FAILED;
		}
	}
	cid = col(&t, "id");
	cname = col(&t, "name");
	cstate = col(&t, "state");
	if (json) {
		printf("{\"supervision\":false,\"root\":");
		if (r0 >= 0)
			json_row(&t, t.rows[r0]);
		else
			fputs("null", stdout);
		printf(",\"children\":");
		if (r0 >= 0)
			fputs("[]", stdout);	/* nobody has children yet */
		else
			json_rows(&t);
		printf("}\n");
		table_free(&t);
		return 0;
	}
	printf("(%s)\n", note);
	if (r0 >= 0) {
		printf("#%s %s [%s]\n", t.rows[r0][cid], t.rows[r0][cname],
		       t.rows[r0][cstate]);
		printf("  (no children)\n");
		table_free(&t);
		return 0;
	}
	printf("namespace\n");
	for (int r = 0; r < t.nrows; r++)
		printf("%s #%s %s [%s]\n", r + 1 < t.nrows ? "|--" : "`--",
		       t.rows[r][cid], t.rows[r][cname], t.rows[r][cstate]);
	table_free(&t);
	return 0;
}

static int cmd_stats(void)
{
	char *text = slurp(PROC_DIR "stats"), *line, *next;
	struct table ports;
	int ret, n = 0;

	if (!text)
		return proc_error("stats", -errno);
	ret = table_read(&ports, "ports");
	if (ret) {
		free(text);
		table_free(&ports);
		return proc_error("ports", ret);
	}
	if (json)
		putchar('{');
	for (line = text; *line; line = next) {
		char *sp;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = 0;
		if (json) {
			printf("%s", n ? "," : "");
			json_string(line);
			printf(":%s", is_number(sp) ? sp : "null");
		} else {
			printf("%-12s %s\n", line, sp);
		}
		n++;
	}
	if (json) {
		printf("%s\"ports\":", n ? "," : "");
		json_rows(&ports);
		printf("}\n");
	} else {
		printf("\n%d port%s\n", ports.nrows, ports.nrows == 1 ? "" : "s");
		if (ports.nrows)
			print_table(&ports, "");
	}
	free(text);
	table_free(&ports);
	return 0;
}

/* A port with a throwaway actor to act as the sender. */
struct client {
	struct vact_port port;
	uint64_t self;
};

static int client_open(struct client *c)
{
	int ret = vact_port_open(&c->port, NULL);

	if (ret) {
		fprintf(stderr, "vactorctl: cannot open %s: %s\n", VACTOR_DEVICE,
			strerror(-ret));
		return ret == -ENOENT || ret == -ENODEV ? EXIT_NODEV : EXIT_FAILED;
	}
	ret = vact_create(&c->port, NULL, 0, &c->self);
	if (ret) {
		fprintf(stderr, "vactorctl: cannot create an actor: %s\n",
			vact_strerror(ret));
		vact_port_close(&c->port);
		return EXIT_FAILED;
	}
	return 0;
}

static void client_close(struct client *c)
{
	vact_destroy(&c->port, c->self);
	vact_port_close(&c->port);
}

static int resolve(struct client *c, const char *actor, uint64_t *id)
{
	int ret;

	if (is_number(actor) && actor[0] != '-') {
		*id = strtoull(actor, NULL, 10);
		return 0;
	}
	ret = vact_lookup(&c->port, actor, id);
	if (ret)
		fprintf(stderr, "vactorctl: %s: %s\n", actor, vact_strerror(ret));
	return ret;
}

static int call_send(struct client *c, uint64_t to, const void *data,
		     uint32_t len, uint64_t tag)
{
	struct vactor_sqe sqe;
	int ret = vact_prep_send(&c->port, &sqe, c->self, to, data, len, tag);

	return ret ? ret : vact_call(&c->port, &sqe, NULL);
}

static int cmd_send(int argc, char **argv)
{
	struct client c;
	uint64_t tag = 0, to;
	char *payload;
	size_t len = 0;
	int i = 0, ret;

	if (argc > 1 && !strcmp(argv[0], "--tag")) {
		char *end;

		tag = strtoull(argv[1], &end, 0);
		if (*end || !*argv[1] || tag > VACT_TAG_MAX) {
			fprintf(stderr, "vactorctl: bad tag %s (0..%llu)\n", argv[1],
				(unsigned long long)VACT_TAG_MAX);
			return EXIT_USAGE;
		}
		i = 2;
	}
	if (argc - i < 1) {
		fprintf(stderr, "usage: vactorctl send [--tag N] ACTOR [WORD...]\n");
		return EXIT_USAGE;
	}
	for (int j = i + 1; j < argc; j++)
		len += strlen(argv[j]) + 1;
	payload = calloc(1, len + 1);
	if (!payload)
		return EXIT_FAILED;
	for (int j = i + 1; j < argc; j++) {
		if (j > i + 1)
			strcat(payload, " ");
		strcat(payload, argv[j]);
	}
	len = strlen(payload);
	if (len > VACTOR_MSG_MAX) {
		fprintf(stderr, "vactorctl: payload of %zu bytes is over %d\n",
			len, VACTOR_MSG_MAX);
		free(payload);
		return EXIT_USAGE;
	}
	ret = client_open(&c);
	if (ret) {
		free(payload);
		return ret;
	}
	ret = resolve(&c, argv[i], &to);
	if (!ret) {
		ret = call_send(&c, to, payload, (uint32_t)len,
				VACT_TAG(VACT_KIND_PLAIN, tag));
		if (ret)
			fprintf(stderr, "vactorctl: send to %s: %s\n", argv[i],
				vact_strerror(ret));
	}
	if (!ret) {
		if (json)
			printf("{\"to\":%" PRIu64 ",\"tag\":%" PRIu64 ",\"len\":%zu,\"sent\":true}\n",
			       to, tag, len);
		else
			printf("sent %zu bytes to #%" PRIu64 " (tag %" PRIu64 ")\n",
			       len, to, tag);
	}
	client_close(&c);
	free(payload);
	return ret ? EXIT_FAILED : 0;
}

/*
 * A dormant actor is hosted here for a moment and destroyed; an active one
 * gets a VACT_KIND_STOP message, which the libvact runtime hosting it
 * honours (stop(), then destroy).
 */
static int cmd_stop(int argc, char **argv)
{
	struct vactor_sqe sqe;
	struct client c;
	const char *how;
	uint64_t id;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "usage: vactorctl stop ACTOR\n");
		return EXIT_USAGE;
	}
	ret = client_open(&c);
	if (ret)
		return ret;
	ret = resolve(&c, argv[0], &id);
	if (ret)
		goto out;
	vact_prep_host(&sqe, id, 0);
	ret = vact_call(&c.port, &sqe, NULL);
	if (!ret) {
		ret = vact_destroy(&c.port, id);
		how = "destroyed (it was dormant)";
	} else if (ret == -EBUSY) {
		ret = call_send(&c, id, NULL, 0, VACT_TAG(VACT_KIND_STOP, 0));
		how = "asked to stop (its runtime destroys it)";
	} else {
		how = NULL;
	}
	if (ret) {
		fprintf(stderr, "vactorctl: stop %s: %s\n", argv[0],
			vact_strerror(ret));
	} else if (json) {
		printf("{\"id\":%" PRIu64 ",\"stopped\":%s}\n", id,
		       how[0] == 'd' ? "\"destroyed\"" : "\"requested\"");
	} else {
		printf("#%" PRIu64 " %s\n", id, how);
	}
out:
	client_close(&c);
	return ret ? EXIT_FAILED : 0;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
		"usage: vactorctl [--json] COMMAND [ARGS]\n"
		"  ls                       list actors\n"
		"  tree [ACTOR]             supervision tree (flat: none exists yet)\n"
		"  stats                    module counters and ports\n"
		"  send [--tag N] ACTOR WORD...  send the words as one message\n"
		"  stop ACTOR               destroy a dormant actor, ask an active one to stop\n"
		"  migrate ACTOR [PORT]     not supported yet (exit status 3)\n"
		"ACTOR: an id or a name.  Exit status: 0 ok, 1 failed, 2 usage,\n"
		"3 not supported yet, 4 vactor not available.\n");
	return code;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout, 0);
		else
			return usage(stderr, EXIT_USAGE);
	}
	if (i >= argc)
		return usage(stderr, EXIT_USAGE);
	cmd = argv[i++];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "ls") && argc == 0)
		return cmd_ls();
	if (!strcmp(cmd, "tree") && argc <= 1)
		return cmd_tree(argc ? argv[0] : NULL);
	if (!strcmp(cmd, "stats") && argc == 0)
		return cmd_stats();
	if (!strcmp(cmd, "send"))
		return cmd_send(argc, argv);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(argc, argv);
	if (!strcmp(cmd, "migrate")) {
		fprintf(stderr, "vactorctl: migrate: not supported yet (the kernel "
			"cannot migrate actors)\n");
		return EXIT_UNSUPP;
	}
	return usage(stderr, EXIT_USAGE);
}
