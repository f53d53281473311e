// SPDX-License-Identifier: GPL-2.0
/*
 * The actor table: ids in an xarray, names in an rhashtable.  Both are read
 * under RCU without locks; a lookup takes a reference with
 * refcount_inc_not_zero() and the final put frees the actor after a grace
 * period.  table.lock serialises insertion and removal so that a name and
 * its id appear and disappear together.
 */
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "vactor.h"

static struct {
	struct xarray ids;
	struct rhashtable names;
	struct mutex lock;	/* insertion and removal, names with ids */
	u64 last_id;
} table;

static struct kmem_cache *actor_cache;

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

/*
 * Makes @a reachable by id, then by name, so that a name never leads to an
 * actor without an id.  On failure @a may have been visible by id for a
 * moment: the caller ends it with vactor_actor_destroy(), never a plain free.
 */
int vactor_actor_publish(struct vactor_actor *a)
{
	int ret = 0;

	mutex_lock(&table.lock);
	/* Ids are never reused: a stale id can only ever miss. */
	a->id = ++table.last_id;
	ret = xa_insert(&table.ids, a->id, a, GFP_KERNEL_ACCOUNT);
	if (!ret && a->name[0]) {
		ret = rhashtable_lookup_insert_fast(&table.names, &a->name_node,
						    name_params);
		/* -EBUSY: the table is being resized; the caller may retry. */
		if (ret == -EBUSY)
			ret = -EAGAIN;
		if (ret)
			xa_erase(&table.ids, a->id);
	}
	mutex_unlock(&table.lock);
	return ret;
}

/*
 * A new actor with one reference, owned by the table, not yet visible to
 * lookups: vactor_actor_publish() makes it so.  @name is zero-padded to
 * VACTOR_NAME_MAX bytes ("" for none).
 */
struct vactor_actor *vactor_actor_create(const char *name, u32 type)
{
	struct vactor_actor *a;

	a = kmem_cache_zalloc(actor_cache, GFP_KERNEL_ACCOUNT);
	if (!a)
		return ERR_PTR(-ENOMEM);
	memcpy(a->name, name, VACTOR_NAME_MAX);
	a->type = type;
	refcount_set(&a->ref, 1);
	spin_lock_init(&a->lock);
	a->state = VACTOR_DORMANT;
	INIT_LIST_HEAD(&a->mailbox);
	INIT_LIST_HEAD(&a->ready_node);
	INIT_LIST_HEAD(&a->host_node);
	return a;
}

static void actor_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(actor_cache, container_of(rcu, struct vactor_actor, rcu));
}

void vactor_actor_put(struct vactor_actor *a)
{
	if (refcount_dec_and_test(&a->ref))
		call_rcu(&a->rcu, actor_free_rcu);
}

/* Removes @a from lookups by id and name; its reference stays with the caller. */
void vactor_actor_unlink(struct vactor_actor *a)
{
	mutex_lock(&table.lock);
	if (a->name[0])
		rhashtable_remove_fast(&table.names, &a->name_node, name_params);
	xa_erase(&table.ids, a->id);
	mutex_unlock(&table.lock);
}

/* Only valid inside an RCU read-side section; takes no reference. */
struct vactor_actor *vactor_actor_find_rcu(u64 id)
{
	if (id > ULONG_MAX)
		return NULL;
	return xa_load(&table.ids, id);
}

static struct vactor_actor *actor_tryget(struct vactor_actor *a)
{
	return a && refcount_inc_not_zero(&a->ref) ? a : NULL;
}

struct vactor_actor *vactor_actor_get(u64 id)
{
	struct vactor_actor *a;

	rcu_read_lock();
	a = actor_tryget(vactor_actor_find_rcu(id));
	rcu_read_unlock();
	return a;
}

struct vactor_actor *vactor_actor_get_by_name(const char *name)
{
	struct vactor_actor *a;

	rcu_read_lock();
	a = actor_tryget(rhashtable_lookup(&table.names, name, name_params));
	rcu_read_unlock();
	return a;
}

struct vactor_actor *vactor_actor_next(unsigned long *pos)
{
	struct vactor_actor *a;

	rcu_read_lock();
	for (;;) {
		a = xa_find(&table.ids, pos, ULONG_MAX, XA_PRESENT);
		if (!a || actor_tryget(a))
			break;
		(*pos)++;
	}
	rcu_read_unlock();
	return a;
}

int vactor_table_init(void)
{
	int ret;

	actor_cache = KMEM_CACHE(vactor_actor, 0);
	if (!actor_cache)
		return -ENOMEM;
	xa_init(&table.ids);
	mutex_init(&table.lock);
	ret = rhashtable_init(&table.names, &name_params);
	if (ret)
		kmem_cache_destroy(actor_cache);
	return ret;
}

/* Called at module unload, when no port is left: destroys every actor. */
void vactor_table_exit(void)
{
	struct vactor_actor *a;
	unsigned long id;

	xa_for_each(&table.ids, id, a)
		vactor_actor_destroy(a);
	/* Wait for the RCU callbacks that free actors before the cache goes. */
	rcu_barrier();
	rhashtable_destroy(&table.names);
	xa_destroy(&table.ids);
	kmem_cache_destroy(actor_cache);
}
