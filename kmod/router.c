// SPDX-License-Identifier: GPL-2.0
/*
 * The router: every message goes from the sender's submission straight into
 * the CQ of the port that hosts its target when there is room and nothing
 * older is waiting; otherwise it waits in the target's mailbox, and the
 * host's next ENTER or poll moves it.  Per (sender, receiver) order holds
 * because a message takes the direct path only when the mailbox is empty,
 * and both paths run under the target's lock.
 */
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "vactor.h"

static struct kmem_cache *msg_cache;

/*
 * Messages moved from a mailbox per hold of the locks: up to 64 KiB each is
 * copied with preemption off, so a full receive area moves in pieces.
 */
#define VACTOR_FLUSH_BATCH	16

int vactor_router_init(void)
{
	msg_cache = KMEM_CACHE(vactor_msg, 0);
	return msg_cache ? 0 : -ENOMEM;
}

void vactor_router_exit(void)
{
	kmem_cache_destroy(msg_cache);
}

/* What a held message counts against its user's kernel memory limit. */
static size_t msg_size(u32 len)
{
	return sizeof(struct vactor_msg) + (len > VACTOR_INLINE_MAX ? len : 0);
}

/*
 * A copy of a message for a mailbox, counted against @user.  ERR_PTR(-EDQUOT)
 * or ERR_PTR(-ENOMEM) on failure, unless @keep: a message the kernel already
 * holds and must not lose (a closing port's unconsumed entries) is counted
 * past the limit and allocated with __GFP_NOFAIL, at most VACTOR_MSG_MAX
 * bytes, which kvmalloc supports.
 */
struct vactor_msg *vactor_msg_alloc(struct vactor_user *user,
				    const struct vactor_msg_hdr *h,
				    const void *payload, bool keep)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | (keep ? __GFP_NOFAIL : 0);
	struct vactor_msg *m;
	int ret;

	ret = vactor_user_charge(user, msg_size(h->len), keep);
	if (ret)
		return ERR_PTR(ret);
	m = kmem_cache_alloc(msg_cache, gfp);
	if (!m)
		goto nomem;
	m->hdr = *h;
	m->payload = m->inline_data;
	if (h->len > VACTOR_INLINE_MAX) {
		m->payload = kvmalloc(h->len, gfp | __GFP_NOWARN);
		if (!m->payload) {
			kmem_cache_free(msg_cache, m);
			goto nomem;
		}
	}
	memcpy(m->payload, payload, h->len);
	vactor_user_hold(user);
	m->user = user;
	return m;
nomem:
	vactor_user_uncharge(user, msg_size(h->len));
	return ERR_PTR(-ENOMEM);
}

static void msg_free(struct vactor_msg *m)
{
	vactor_user_uncharge(m->user, msg_size(m->hdr.len));
	vactor_user_put(m->user);
	if (m->payload != m->inline_data)
		kvfree(m->payload);
	kmem_cache_free(msg_cache, m);
}

void vactor_msgs_free(struct list_head *msgs)
{
	struct vactor_msg *m, *n;

	list_for_each_entry_safe(m, n, msgs, node)
		msg_free(m);
	INIT_LIST_HEAD(msgs);
}

/*
 * Moves what fits of @a's mailbox into @port's CQ, oldest first and at most
 * VACTOR_FLUSH_BATCH; the moved messages go on @done for the caller to free
 * outside the locks.  Keeps @a on the port's ready list exactly while
 * messages remain.  a->lock held.  Returns how many it moved.
 */
unsigned int vactor_mailbox_flush_locked(struct vactor_actor *a,
					 struct vactor_port *port,
					 struct list_head *done)
{
	struct vactor_msg *m, *n;
	unsigned int moved = 0;

	lockdep_assert_held(&a->lock);
	spin_lock(&port->cq_lock);
	list_for_each_entry_safe(m, n, &a->mailbox, node) {
		if (moved == VACTOR_FLUSH_BATCH ||
		    !vactor_cq_post_msg(port, a->id, &m->hdr, m->payload))
			break;
		list_move_tail(&m->node, done);
		a->mailbox_len--;
		moved++;
		vactor_stat_inc(flushed);
	}
	if (list_empty(&a->mailbox))
		list_del_init(&a->ready_node);
	else if (list_empty(&a->ready_node))
		list_add_tail(&a->ready_node, &port->ready);
	vactor_cq_set_backlog(port);
	spin_unlock(&port->cq_lock);
	return moved;
}

/*
 * Appends @m to @to's mailbox and tries to deliver it.  @bounded: refuse
 * past vactor_mailbox_max (reports to a sender are never refused: they
 * carry no payload and at most one exists per message once accepted).
 */
static int mailbox_enqueue(struct vactor_actor *to, struct vactor_msg *m,
			   bool bounded)
{
	struct vactor_port *port;
	LIST_HEAD(done);
	int ret = 0;

	spin_lock(&to->lock);
	if (to->state == VACTOR_DEAD) {
		ret = -ENOENT;
	} else if (bounded && to->mailbox_len >= READ_ONCE(vactor_mailbox_max)) {
		ret = -EAGAIN;
	} else {
		list_add_tail(&m->node, &to->mailbox);
		to->mailbox_len++;
		WRITE_ONCE(to->msgs_in, to->msgs_in + 1);
		port = to->host;
		if (port) {
			vactor_mailbox_flush_locked(to, port, &done);
			atomic_inc(&port->backlog_seq);
			vactor_port_wake(port);
		}
	}
	spin_unlock(&to->lock);

	if (ret) {
		msg_free(m);
		if (ret == -EAGAIN)
			vactor_stat_inc(rejected);
		return ret;
	}
	vactor_stat_inc(queued);
	vactor_msgs_free(&done);
	return 0;
}

/*
 * The direct path: 1 when the message is in the target's CQ, 0 when it has
 * to wait in the mailbox, -ENOENT or -EAGAIN when it can't be accepted.
 */
static int send_direct(struct vactor_actor *to, const struct vactor_msg_hdr *h,
		       const void *payload)
{
	struct vactor_port *port;
	int ret = 0;

	spin_lock(&to->lock);
	port = to->host;
	if (to->state == VACTOR_DEAD) {
		ret = -ENOENT;
	} else if (to->mailbox_len >= READ_ONCE(vactor_mailbox_max)) {
		ret = -EAGAIN;
	} else if (port && list_empty(&to->mailbox)) {
		spin_lock(&port->cq_lock);
		ret = vactor_cq_post_msg(port, to->id, h, payload);
		spin_unlock(&port->cq_lock);
		if (ret) {
			WRITE_ONCE(to->msgs_in, to->msgs_in + 1);
			vactor_port_wake(port);
		}
	}
	spin_unlock(&to->lock);
	return ret;
}

/*
 * Sends a message from a port to the actor @target of its namespace: 0 once
 * accepted, -ENOENT, -EPERM, -EAGAIN, -EDQUOT or -ENOMEM.  The direct path
 * never sleeps, so it runs under RCU alone; only a message that has to
 * wait takes a reference on its target, to allocate.
 */
int vactor_send(struct vactor_port *from, u64 target,
		const struct vactor_msg_hdr *h, const void *payload)
{
	struct vactor_actor *to;
	struct vactor_msg *m;
	int ret;

	rcu_read_lock();
	to = vactor_actor_find_rcu(from->table, target);
	if (!to)
		ret = -ENOENT;
	else if (!vactor_may_send(from, to))
		ret = -EPERM;
	else
		ret = send_direct(to, h, payload);
	if (!ret && !refcount_inc_not_zero(&to->ref))
		ret = -ENOENT;
	rcu_read_unlock();

	if (ret == 1) {
		vactor_stat_inc(sent);
		vactor_stat_inc(direct);
		return 0;
	}
	if (ret) {
		if (ret == -EAGAIN)
			vactor_stat_inc(rejected);
		return ret;
	}
	m = vactor_msg_alloc(from->user, h, payload, false);
	if (IS_ERR(m)) {
		ret = PTR_ERR(m);
		goto out;
	}
	/* The target may have died or filled up while we allocated. */
	ret = mailbox_enqueue(to, m, true);
	if (!ret)
		vactor_stat_inc(sent);
out:
	vactor_actor_put(to);
	return ret;
}

/*
 * Opens a run to @target if a message can go straight into its host's CQ:
 * it exists, @from may send to it, it is hosted, its mailbox is empty and
 * the CQ has room.  Anything else is left to vactor_send(), which decides
 * between the mailbox and an error exactly as for a single message.
 */
static bool send_run_start(struct vactor_send_run *run, u64 target)
{
	struct vactor_actor *to;
	struct vactor_port *host;

	rcu_read_lock();
	to = vactor_actor_find_rcu(run->from->table, target);
	if (!to || !vactor_may_send(run->from, to))
		goto out_rcu;
	spin_lock(&to->lock);
	host = to->host;
	if (to->state == VACTOR_DEAD || !host || !list_empty(&to->mailbox))
		goto out_actor;
	spin_lock(&host->cq_lock);
	run->room = vactor_cq_room(host, &run->head);
	if (!run->room)
		goto out_cq;
	run->to = to;
	run->host = host;
	run->msgs = 0;
	run->bytes = 0;
	/* Held until vactor_send_run_end(); sparse can't follow that. */
	__release(&host->cq_lock);
	__release(&to->lock);
	__release(RCU);
	return true;

out_cq:
	spin_unlock(&host->cq_lock);
out_actor:
	spin_unlock(&to->lock);
out_rcu:
	rcu_read_unlock();
	return false;
}

/* Ends the open run, if any: one publish and one wake for all of it. */
void vactor_send_run_end(struct vactor_send_run *run)
{
	struct vactor_actor *to = run->to;
	struct vactor_port *host = run->host;

	if (!to)
		return;
	__acquire(RCU);
	__acquire(&to->lock);
	__acquire(&host->cq_lock);
	vactor_cq_publish(host);
	spin_unlock(&host->cq_lock);
	if (run->msgs) {
		WRITE_ONCE(to->msgs_in, to->msgs_in + run->msgs);
		/* Under to->lock: the host can't finish closing meanwhile. */
		vactor_port_wake(host);
		vactor_stat_add(sent, run->msgs);
		vactor_stat_add(direct, run->msgs);
	}
	spin_unlock(&to->lock);
	rcu_read_unlock();
	run->to = NULL;
}

/*
 * vactor_send() for the submission loop: consecutive messages to one target
 * go into its host's CQ under one hold of the locks (struct
 * vactor_send_run).  Same results and the same order as vactor_send(): a
 * message that can't take the direct path ends the run and goes through
 * vactor_send(), so messages after it find the mailbox non-empty and
 * follow it there.
 */
int vactor_send_run(struct vactor_send_run *run, u64 target,
		    const struct vactor_msg_hdr *h, const void *payload)
{
	if (run->to && (run->to->id != target || !run->room ||
			run->msgs >= VACTOR_RUN_MSGS ||
			run->bytes + h->len > VACTOR_RUN_BYTES))
		vactor_send_run_end(run);
	if (!run->to && !send_run_start(run, target))
		return vactor_send(run->from, target, h, payload);
	if (!__vactor_cq_post_msg(run->host, run->head, run->to->id, h,
				  payload)) {
		/* No room in the receive area: the message has to wait. */
		vactor_send_run_end(run);
		return vactor_send(run->from, target, h, payload);
	}
	run->room--;
	run->msgs++;
	run->bytes += h->len;
	return 0;
}

/*
 * Turns messages that can no longer reach @dead_id into reports to their
 * senders (EV_UNDELIVERED with @res), reusing each message's memory.
 */
static void report_undelivered(struct vactor_table *t, struct list_head *msgs,
			       u64 dead_id, int res)
{
	struct vactor_actor *sender;
	struct vactor_msg *m, *n;

	list_for_each_entry_safe(m, n, msgs, node) {
		list_del_init(&m->node);
		sender = NULL;
		if (m->hdr.event == VACTOR_EV_MSG)
			sender = vactor_actor_get(t, m->hdr.source);
		if (!sender) {
			vactor_stat_inc(orphaned);
			msg_free(m);
			continue;
		}
		if (m->payload != m->inline_data) {
			kvfree(m->payload);
			vactor_user_uncharge(m->user, m->hdr.len);
		}
		m->payload = m->inline_data;
		m->hdr.event = VACTOR_EV_UNDELIVERED;
		m->hdr.res = res;
		m->hdr.source = dead_id;
		m->hdr.len = 0;
		m->hdr.cqe_flags = 0;
		if (mailbox_enqueue(sender, m, false))
			vactor_stat_inc(orphaned);
		else
			vactor_stat_inc(undelivered);
		vactor_actor_put(sender);
	}
}

/*
 * Moves waiting messages into @port's CQ while it has room, and wakes the
 * port's other waiters (threads in ENTER, epoll) if it moved any.
 */
void vactor_port_flush(struct vactor_port *port)
{
	unsigned int n, moved = 0;
	struct vactor_actor *a;
	LIST_HEAD(done);
	bool stuck;

	for (;;) {
		spin_lock(&port->cq_lock);
		a = list_first_entry_or_null(&port->ready, struct vactor_actor,
					     ready_node);
		/* On the ready list means hosted here: the table holds a ref. */
		if (a)
			refcount_inc(&a->ref);
		spin_unlock(&port->cq_lock);
		if (!a)
			break;

		spin_lock(&a->lock);
		stuck = false;
		if (a->host == port) {
			n = vactor_mailbox_flush_locked(a, port, &done);
			moved += n;
			/* Messages left though the batch wasn't used up: no room. */
			stuck = n < VACTOR_FLUSH_BATCH && !list_empty(&a->mailbox);
		}
		spin_unlock(&a->lock);
		vactor_msgs_free(&done);
		vactor_actor_put(a);
		if (stuck)
			break;
	}
	if (moved)
		vactor_port_wake(port);
}

/*
 * Makes @port the host of @a, which must have none: -EBUSY if it has one,
 * -ENOENT if it was destroyed.  Its waiting messages follow.  port->lock held.
 */
int vactor_actor_claim(struct vactor_actor *a, struct vactor_port *port)
{
	LIST_HEAD(done);
	int ret = 0;

	lockdep_assert_held(&port->lock);
	spin_lock(&a->lock);
	if (a->state == VACTOR_DEAD) {
		ret = -ENOENT;
	} else if (a->host) {
		ret = -EBUSY;
	} else {
		WRITE_ONCE(a->host, port);
		a->state = VACTOR_ACTIVE;
		list_add_tail(&a->host_node, &port->actors);
		WRITE_ONCE(port->nr_actors, port->nr_actors + 1);
		if (!list_empty(&a->mailbox))
			vactor_mailbox_flush_locked(a, port, &done);
	}
	spin_unlock(&a->lock);
	if (ret)
		return ret;
	vactor_msgs_free(&done);
	vactor_port_wake(port);
	return 0;
}

/*
 * Takes @a off its host and puts it in @state, in one critical section so
 * that no other port can claim it in between.  The host's lock is held.
 */
static void actor_leave_host(struct vactor_actor *a, enum vactor_state state,
			     struct list_head *mailbox)
{
	struct vactor_port *port = a->host;

	spin_lock(&a->lock);
	if (port) {
		lockdep_assert_held(&port->lock);
		spin_lock(&port->cq_lock);
		list_del_init(&a->ready_node);
		vactor_cq_set_backlog(port);
		spin_unlock(&port->cq_lock);
	}
	/*
	 * Off the host's list before the host is cleared: once a->lock drops,
	 * another port may claim @a and put host_node on its own list.
	 */
	if (port) {
		list_del_init(&a->host_node);
		WRITE_ONCE(port->nr_actors, port->nr_actors - 1);
	}
	WRITE_ONCE(a->host, NULL);
	a->state = state;
	if (mailbox) {
		list_splice_init(&a->mailbox, mailbox);
		a->mailbox_len = 0;
	}
	spin_unlock(&a->lock);
}

/* @a stays in the table, dormant; its mailbox keeps filling.  host->lock held. */
void vactor_actor_detach(struct vactor_actor *a)
{
	actor_leave_host(a, VACTOR_DORMANT, NULL);
}

/*
 * Removes @a for good and drops the table's reference: its name is free at
 * once, the messages waiting for it are reported to their senders.  Its
 * host's lock is held, if it has one.
 */
void vactor_actor_destroy(struct vactor_actor *a)
{
	LIST_HEAD(dead);

	vactor_actor_unlink(a);
	actor_leave_host(a, VACTOR_DEAD, &dead);
	report_undelivered(a->table, &dead, a->id, -ENOENT);
	vactor_actor_release(a);
	vactor_actor_put(a);
}

/*
 * Puts back, at the front of its actor's mailbox, one entry that a closing
 * port's process had not consumed.  The kernel's slot record says what the
 * entry was; only the payload bytes come from the shared pages.
 */
static void requeue_slot(struct vactor_port *port, u32 idx)
{
	const struct vactor_cq_slot *s = &port->cq_slots[idx];
	struct vactor_msg_hdr h = {
		.source = s->source, .tag = s->tag, .user_data = s->user_data,
		.ts_ns = s->ts_ns, .len = s->len, .res = s->res,
		.event = s->event,
		.cqe_flags = (s->flags & ~VACTOR_CQE_F_BUF) |
			     VACTOR_CQE_F_REDELIVERED,
	};
	const void *payload = port->cqes[idx].data;
	struct vactor_actor *a;
	struct vactor_msg *m;

	if (s->flags & VACTOR_CQE_F_BUF)
		payload = port->recv_mem.addr + s->buf_off;
	a = vactor_actor_get(port->table, s->actor);
	if (!a) {
		vactor_stat_inc(orphaned);	/* its host destroyed it */
		return;
	}
	/* Closing can't fail: this allocation doesn't either. */
	m = vactor_msg_alloc(port->user, &h, payload, true);
	spin_lock(&a->lock);
	if (a->state != VACTOR_DEAD) {
		list_add(&m->node, &a->mailbox);
		a->mailbox_len++;
		m = NULL;
	}
	spin_unlock(&a->lock);
	if (m) {
		msg_free(m);
		vactor_stat_inc(orphaned);
	} else {
		vactor_stat_inc(redelivered);
	}
	vactor_actor_put(a);
}

/*
 * The port is closing: its actors go dormant with every message they had
 * not consumed.  Posting into the CQ stops first, so that nothing lands in
 * it while the unconsumed entries are put back, newest first, at the front
 * of their mailboxes; only then are the actors released for another host.
 */
void vactor_port_close_actors(struct vactor_port *port)
{
	struct vactor_actor *a, *n;
	u32 head, tail, mask = port->cq_entries - 1;

	lockdep_assert_held(&port->lock);
	if (port->cq_slots && vactor_cq_window(port, &head, &tail)) {
		while (tail != head) {
			tail--;
			if (port->cq_slots[tail & mask].event != VACTOR_EV_COMPLETE)
				requeue_slot(port, tail & mask);
		}
	}
	list_for_each_entry_safe(a, n, &port->actors, host_node)
		vactor_actor_detach(a);
}
