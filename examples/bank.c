// SPDX-License-Identifier: MIT
/*
 * bank: account actors addressed by name, many client processes moving
 * money between them; the total is conserved.
 *
 * The parent hosts ACCOUNTS account actors ("bank.<pid>.<n>", public) on a
 * two-worker runtime.  Each of CLIENTS child processes starts its own
 * runtime, finds the accounts by name, and makes TRANSFERS transfers:
 * a withdraw request to one account and, if it was granted, a deposit
 * request to another.  An account handles one request at a time (its
 * turn), so a withdraw never overdraws.  When every client has exited,
 * the parent asks each account for its balance and checks the sum.
 *
 * Prints four fixed lines; exit status 0 only if the total is conserved
 * and every client finished cleanly.  Errors go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <vact.h>

#define ACCOUNTS	8
#define CLIENTS		4
#define TRANSFERS	500
#define OPENING		1000
#define WAIT_NS		(30LL * 1000 * 1000 * 1000)

enum op { OP_BALANCE, OP_WITHDRAW, OP_DEPOSIT };

struct bank_req {
	uint32_t op;
	int64_t amount;
};

struct bank_reply {
	int32_t granted;	/* 1: done; 0: refused (insufficient funds) */
	int64_t balance;
};

static int account_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	int64_t *balance = vact_ctx_data(ctx);
	struct bank_reply r = { 1, 0 };
	struct bank_req q;

	if (!(msg->flags & VACT_MSG_REQUEST) || msg->len != sizeof(q))
		return 0;	/* not ours: ignore */
	memcpy(&q, msg->data, sizeof(q));
	if (q.amount < 0)
		r.granted = 0;
	else if (q.op == OP_WITHDRAW && *balance >= q.amount)
		*balance -= q.amount;
	else if (q.op == OP_WITHDRAW)
		r.granted = 0;
	else if (q.op == OP_DEPOSIT)
		*balance += q.amount;
	r.balance = *balance;
	return vact_ctx_reply(ctx, msg, &r, sizeof(r));
}

static const struct vact_actor_type account_type = {
	.name = "account",
	.type_id = 2,
	.message = account_message,
};

static int ask(struct vact_runtime *rt, uint64_t acct, enum op op,
	       int64_t amount, struct bank_reply *r)
{
	struct bank_req q = { op, amount };
	int ret;

	/* -EAGAIN: the account's mailbox is full; ask again. */
	while ((ret = vact_runtime_request(rt, acct, &q, sizeof(q), r,
					   sizeof(*r), WAIT_NS)) == -EAGAIN)
		;
	return ret == (int)sizeof(*r) ? 0 : (ret < 0 ? ret : -EPROTO);
}

static void account_name(char *buf, size_t size, pid_t bank, int n)
{
	snprintf(buf, size, "bank.%d.%d", (int)bank, n);
}

/* A client process: its own runtime, the accounts by name, transfers. */
static int client_main(pid_t bank, int idx)
{
	uint64_t acct[ACCOUNTS], seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(idx + 1);
	struct vact_runtime *rt;
	int i, ret;

	ret = vact_runtime_start(&rt, NULL);
	if (ret) {
		fprintf(stderr, "client %d: %s\n", idx, vact_strerror(ret));
		return 1;
	}
	for (i = 0; i < ACCOUNTS && !ret; i++) {
		char name[64];

		account_name(name, sizeof(name), bank, i);
		ret = vact_runtime_find(rt, name, &acct[i]);
	}
	for (i = 0; i < TRANSFERS && !ret; i++) {
		struct bank_reply r;
		int from, to;
		int64_t amount;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		from = (int)(seed >> 33) % ACCOUNTS;
		to = (from + 1 + (int)(seed >> 40) % (ACCOUNTS - 1)) % ACCOUNTS;
		amount = (int64_t)((seed >> 20) % 300);
		ret = ask(rt, acct[from], OP_WITHDRAW, amount, &r);
		if (!ret && r.granted)
			ret = ask(rt, acct[to], OP_DEPOSIT, amount, &r);
	}
	if (ret)
		fprintf(stderr, "client %d: %s\n", idx, vact_strerror(ret));
	vact_runtime_stop(rt);
	return ret ? 1 : 0;
}

int main(void)
{
	struct vact_runtime_opts o = { .workers = 2 };
	int64_t balance[ACCOUNTS];
	uint64_t acct[ACCOUNTS];
	struct vact_runtime *rt;
	pid_t pids[CLIENTS];
	int64_t total = 0;
	int i, ret, ok = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300);
	ret = vact_runtime_start(&rt, &o);
	if (ret) {
		fprintf(stderr, "bank: %s\n", vact_strerror(ret));
		printf("bank: FAIL\n");
		return 1;
	}
	for (i = 0; i < ACCOUNTS; i++) {
		struct vact_spawn_opts so = { .flags = VACT_SPAWN_PUBLIC,
					      .data = &balance[i] };
		char name[64];

		balance[i] = OPENING;
		account_name(name, sizeof(name), getpid(), i);
		so.name = name;
		ret = vact_runtime_spawn(rt, &account_type, &so, &acct[i]);
		if (ret) {
			fprintf(stderr, "bank: spawn %s: %s\n", name,
				vact_strerror(ret));
			vact_runtime_stop(rt);
			printf("bank: FAIL\n");
			return 1;
		}
	}
	printf("bank: %d accounts of %d, %d client processes x %d transfers\n",
	       ACCOUNTS, OPENING, CLIENTS, TRANSFERS);

	for (i = 0; i < CLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			ok = 0;
			break;
		}
		if (pids[i] == 0)
			_exit(client_main(getppid(), i));
	}
	for (int j = 0; j < i; j++) {
		int status;

		if (waitpid(pids[j], &status, 0) != pids[j] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bank: client %d failed\n", j);
			ok = 0;
		}
	}
	if (ok)
		printf("bank: %d transfers done\n", CLIENTS * TRANSFERS);

	/* Every client has gone: the accounts hold all the money there is. */
	for (i = 0; i < ACCOUNTS; i++) {
		struct bank_reply r;

		ret = ask(rt, acct[i], OP_BALANCE, 0, &r);
		if (ret) {
			fprintf(stderr, "bank: balance %d: %s\n", i,
				vact_strerror(ret));
			ok = 0;
			continue;
		}
		total += r.balance;
	}
	printf("bank: total %" PRId64 ", expected %d: %s\n", total,
	       ACCOUNTS * OPENING,
	       total == ACCOUNTS * OPENING ? "conserved" : "NOT CONSERVED");
	if (total != ACCOUNTS * OPENING)
		ok = 0;
	vact_runtime_stop(rt);
	printf("bank: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
