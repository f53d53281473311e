// SPDX-License-Identifier: GPL-2.0
/*
 * Actor tables, one per IPC namespace: a process sees, names and reaches
 * only the actors of its own namespace.  In a table, ids live in an xarray
 * and names in an rhashtable, both read under RCU without locks; a lookup
 * takes a reference with refcount_inc_not_zero() and the final put frees
 * the actor after a grace period.  table->lock serialises insertion and
 * removal so that a name and its id appear and disappear together.
 *
 * A table holds a reference to its namespace and lives while a port or an
 * actor of that namespace does: dormant actors keep their namespace's
 * table (and the namespace) until they are destroyed or the module goes.
 */
#include <linux/capability.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/proc_ns.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "vactor.h"

struct vactor_table {
	struct ipc_namespace *ns;
	struct xarray ids;
	struct rhashtable names;
	struct mutex lock;	/* insertion and removal, names with ids */
	refcount_t ref;		/* one per port and per live actor */
	struct list_head node;	/* on vactor_tables */
};

static LIST_HEAD(vactor_tables);
/* Guards vactor_tables and the final put of a table. */
static DEFINE_MUTEX(vactor_tables_lock);
static struct kmem_cache *actor_cache;
/*
 * Ids are never reused, not even when a namespace's table is freed and
 * made again: a stale id can only ever miss.
 */
static atomic64_t vactor_last_id = ATOMIC64_INIT(0);

static const struct rhashtable_params name_params = {
	.key_len = VACTOR_NAME_MAX,
	.key_offset = offsetof(struct vactor_actor, name),
	.head_offset = offsetof(struct vactor_actor, name_node),
	.automatic_shrinking = true,
};

static const char * const state_names[] = {
	[VACTOR_DORMANT] = "dormant",
	[VACTOR_ACTIVE] = "active",
	[VACTOR_DEAD] = "dead",
};

const char *vactor_state_name(enum vactor_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

/* ---- tables ---- */

static struct vactor_table *table_find_locked(struct ipc_namespace *ns)
{
	struct vactor_table *t;

	list_for_each_entry(t, &vactor_tables, node)
		if (t->ns == ns)
			return t;
	return NULL;
}

static struct vactor_table *table_new(struct ipc_namespace *ns)
{
	struct vactor_table *t;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return NULL;
	if (rhashtable_init(&t->names, &name_params)) {
		kfree(t);
		return NULL;
	}
	xa_init(&t->ids);
	mutex_init(&t->lock);
	refcount_set(&t->ref, 1);
	/* get_ipc_ns() is inline everywhere; put_ipc_ns() not exported on 6.1. */
	t->ns = get_ipc_ns(ns);
	list_add(&t->node, &vactor_tables);
	return t;
}

/* The table of the caller's IPC namespace, created on first use. */
struct vactor_table *vactor_table_get_current(void)
{
	struct ipc_namespace *ns = current->nsproxy->ipc_ns;
	struct vactor_table *t;

	mutex_lock(&vactor_tables_lock);
	t = table_find_locked(ns);
	if (t)
		refcount_inc(&t->ref);
	else
		t = table_new(ns);
	mutex_unlock(&vactor_tables_lock);
	return t;
}

/* The caller's table if it exists (for /proc readers); NULL if none. */
struct vactor_table *vactor_table_find_current(void)
{
	struct vactor_table *t;

	mutex_lock(&vactor_tables_lock);
	t = table_find_locked(current->nsproxy->ipc_ns);
	if (t)
		refcount_inc(&t->ref);
	mutex_unlock(&vactor_tables_lock);
	return t;
}

/* Does the caller administer the namespace of @t (CAP_SYS_ADMIN there)? */
bool vactor_table_capable(struct vactor_table *t)
{
	return ns_capable(t->ns->user_ns, CAP_SYS_ADMIN);
}

void vactor_table_put(struct vactor_table *t)
{
	if (!refcount_dec_and_mutex_lock(&t->ref, &vactor_tables_lock))
		return;
	list_del(&t->node);
	mutex_unlock(&vactor_tables_lock);
	rhashtable_destroy(&t->names);
	xa_destroy(&t->ids);
	t->ns->ns.ops->put(&t->ns->ns);
	kfree(t);
}

/* ---- actors ---- */

/*
 * A new actor with one reference, owned by the table, not yet visible to
 * lookups: vactor_actor_publish() makes it so.  @name is zero-padded to
 * VACTOR_NAME_MAX bytes ("" for none).  Counts against @owner's limit.
 */
struct vactor_actor *vactor_actor_create(struct vactor_table *t,
					 struct vactor_user *owner,
					 const char *name, u32 type, u32 flags)
{
	struct vactor_actor *a;
	int ret;

	ret = vactor_user_add_actor(owner);
	if (ret)
		return ERR_PTR(ret);
	a = kmem_cache_zalloc(actor_cache, GFP_KERNEL_ACCOUNT);
	if (!a) {
		vactor_user_sub_actor(owner);
		return ERR_PTR(-ENOMEM);
	}
	memcpy(a->name, name, VACTOR_NAME_MAX);
	a->type = type;
	a->flags = flags;
	refcount_set(&a->ref, 1);
	spin_lock_init(&a->lock);
	a->state = VACTOR_DORMANT;
	INIT_LIST_HEAD(&a->mailbox);
	INIT_LIST_HEAD(&a->ready_node);
	INIT_LIST_HEAD(&a->host_node);
	refcount_inc(&t->ref);
	a->table = t;
	vactor_user_hold(owner);
	a->owner = owner;
	a->uid = owner->uid;
	return a;
}

static void actor_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(actor_cache, container_of(rcu, struct vactor_actor, rcu));
}

/*
 * Makes @a reachable by id, then by name, so that a name never leads to an
 * actor without an id.  On failure @a may have been visible by id for a
 * moment: the caller ends it with vactor_actor_destroy(), never a plain free.
 */
int vactor_actor_publish(struct vactor_actor *a)
{
	struct vactor_table *t = a->table;
	int ret;

	mutex_lock(&t->lock);
	a->id = atomic64_inc_return(&vactor_last_id);
	ret = xa_insert(&t->ids, a->id, a, GFP_KERNEL_ACCOUNT);
	if (!ret && a->name[0]) {
		ret = rhashtable_lookup_insert_fast(&t->names, &a->name_node,
						    name_params);
		/* -EBUSY: the table is being resized; the caller may retry. */
		if (ret == -EBUSY)
			ret = -EAGAIN;
		if (ret)
			xa_erase(&t->ids, a->id);
	}
	mutex_unlock(&t->lock);
	return ret;
}

void vactor_actor_put(struct vactor_actor *a)
{
	if (refcount_dec_and_test(&a->ref))
		call_rcu(&a->rcu, actor_free_rcu);
}

/* Removes @a from lookups by id and name; its reference stays with the caller. */
void vactor_actor_unlink(struct vactor_actor *a)
{
	struct vactor_table *t = a->table;

	mutex_lock(&t->lock);
	if (a->name[0])
		rhashtable_remove_fast(&t->names, &a->name_node, name_params);
	xa_erase(&t->ids, a->id);
	mutex_unlock(&t->lock);
}

/* What the actor holds besides memory: called once, when it is destroyed. */
void vactor_actor_release(struct vactor_actor *a)
{
	vactor_user_sub_actor(a->owner);
	vactor_user_put(a->owner);
	vactor_table_put(a->table);
}

/* Only valid inside an RCU read-side section; takes no reference. */
struct vactor_actor *vactor_actor_find_rcu(struct vactor_table *t, u64 id)
{
	if (id > ULONG_MAX)
		return NULL;
	return xa_load(&t->ids, id);
}

static struct vactor_actor *actor_tryget(struct vactor_actor *a)
{
	return a && refcount_inc_not_zero(&a->ref) ? a : NULL;
}

struct vactor_actor *vactor_actor_get(struct vactor_table *t, u64 id)
{
	struct vactor_actor *a;

	rcu_read_lock();
	a = actor_tryget(vactor_actor_find_rcu(t, id));
	rcu_read_unlock();
	return a;
}

struct vactor_actor *vactor_actor_get_by_name(struct vactor_table *t,
					      const char *name)
{
	struct vactor_actor *a;

	rcu_read_lock();
	a = actor_tryget(rhashtable_lookup(&t->names, name, name_params));
	rcu_read_unlock();
	return a;
}

struct vactor_actor *vactor_actor_next(struct vactor_table *t,
				       unsigned long *pos)
{
	struct vactor_actor *a;

	rcu_read_lock();
	for (;;) {
		a = xa_find(&t->ids, pos, ULONG_MAX, XA_PRESENT);
		if (!a || actor_tryget(a))
			break;
		(*pos)++;
	}
	rcu_read_unlock();
	return a;
}

int vactor_table_init(void)
{
	actor_cache = KMEM_CACHE(vactor_actor, 0);
	return actor_cache ? 0 : -ENOMEM;
}

/* Called at module unload, when no port is left: destroys every actor. */
void vactor_table_exit(void)
{
	struct vactor_actor *a;
	struct vactor_table *t;
	unsigned long id;

	for (;;) {
		mutex_lock(&vactor_tables_lock);
		t = list_first_entry_or_null(&vactor_tables, struct vactor_table,
					     node);
		if (t)
			refcount_inc(&t->ref);
		mutex_unlock(&vactor_tables_lock);
		if (!t)
			break;
		xa_for_each(&t->ids, id, a)
			vactor_actor_destroy(a);
		vactor_table_put(t);
	}
	/* Wait for the RCU callbacks that free actors before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(actor_cache);
}
