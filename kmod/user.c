// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits: every port, actor and byte the kernel holds for a user
 * (ring and area pages, messages waiting in mailboxes) is counted against
 * that user, whatever namespace it lives in.  The limits are module
 * parameters; going past one fails with EDQUOT and a ratelimited log line.
 */
#include <linux/cred.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include "vactor.h"

static unsigned int max_ports = 1024;
module_param_named(max_ports_per_user, max_ports, uint, 0644);
MODULE_PARM_DESC(max_ports_per_user, "open ports per user");

static unsigned int max_actors = 65536;
module_param_named(max_actors_per_user, max_actors, uint, 0644);
MODULE_PARM_DESC(max_actors_per_user, "actors per user, dormant ones included");

static unsigned long max_kmem_kb = SZ_1M;	/* 1 GiB */
module_param_named(max_kmem_kb_per_user, max_kmem_kb, ulong, 0644);
MODULE_PARM_DESC(max_kmem_kb_per_user, "KiB of rings and held messages per user");

static DEFINE_XARRAY(vactor_users);
/* Pairs lookups that create a user with the final put that removes it. */
static DEFINE_MUTEX(vactor_users_lock);

struct vactor_user *vactor_user_get(kuid_t uid)
{
	unsigned long key = __kuid_val(uid);
	struct vactor_user *u;

	mutex_lock(&vactor_users_lock);
	u = xa_load(&vactor_users, key);
	if (u) {
		refcount_inc(&u->ref);
		goto out;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		goto out;
	u->uid = uid;
	refcount_set(&u->ref, 1);
	if (xa_err(xa_store(&vactor_users, key, u, GFP_KERNEL_ACCOUNT))) {
		kfree(u);
		u = NULL;
	}
out:
	mutex_unlock(&vactor_users_lock);
	return u;
}

void vactor_user_hold(struct vactor_user *u)
{
	refcount_inc(&u->ref);
}

void vactor_user_put(struct vactor_user *u)
{
	if (!refcount_dec_and_mutex_lock(&u->ref, &vactor_users_lock))
		return;
	xa_erase(&vactor_users, __kuid_val(u->uid));
	mutex_unlock(&vactor_users_lock);
	kfree(u);
}

static int over_limit(struct vactor_user *u, const char *what)
{
	pr_info_ratelimited("vactor: uid %u reached max_%s_per_user\n",
			    from_kuid_munged(&init_user_ns, u->uid), what);
	return -EDQUOT;
}

int vactor_user_add_port(struct vactor_user *u)
{
	if (atomic_inc_return(&u->ports) <= READ_ONCE(max_ports))
		return 0;
	atomic_dec(&u->ports);
	return over_limit(u, "ports");
}

void vactor_user_sub_port(struct vactor_user *u)
{
	atomic_dec(&u->ports);
}

int vactor_user_add_actor(struct vactor_user *u)
{
	if (atomic_inc_return(&u->actors) <= READ_ONCE(max_actors))
		return 0;
	atomic_dec(&u->actors);
	return over_limit(u, "actors");
}

void vactor_user_sub_actor(struct vactor_user *u)
{
	atomic_dec(&u->actors);
}

/* @force: memory the kernel must keep anyway (a closing port's messages). */
int vactor_user_charge(struct vactor_user *u, size_t bytes, bool force)
{
	unsigned long kb = READ_ONCE(max_kmem_kb);
	/* The largest values mean "no limit", not an overflowed one. */
	long limit = kb > (LONG_MAX >> 10) ? LONG_MAX : (long)kb << 10;

	if (atomic_long_add_return(bytes, &u->kmem) <= limit || force)
		return 0;
	atomic_long_sub(bytes, &u->kmem);
	return over_limit(u, "kmem_kb");
}

void vactor_user_uncharge(struct vactor_user *u, size_t bytes)
{
	atomic_long_sub(bytes, &u->kmem);
}
