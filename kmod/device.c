// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vactor: every open file is a port.  SETUP sizes its rings, mmap maps
 * them, ENTER submits and waits, CALL runs one SQE synchronously, poll
 * reports a readable CQ.  Closing the last reference puts the port's actors
 * to sleep (dormant) with every message they had not consumed.
 */
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vactor.h"

#define VACTOR_MAILBOX_LIMIT	SZ_1M

unsigned int vactor_mailbox_max = 1024;

/* 0 would refuse every message that can't go straight into a CQ. */
static int mailbox_max_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, VACTOR_MAILBOX_LIMIT);
}

static const struct kernel_param_ops mailbox_max_ops = {
	.set = mailbox_max_set,
	.get = param_get_uint,
};

module_param_cb(mailbox_max, &mailbox_max_ops, &vactor_mailbox_max, 0644);
MODULE_PARM_DESC(mailbox_max, "messages an actor's kernel mailbox holds before senders get EAGAIN (1..1048576)");

/*
 * The longest an ENTER spins for completions before it sleeps: a sleep and
 * its wakeup can cost more than a short wait (tens of microseconds when an
 * idle vCPU exits to its host, benchmarks.rst).  A port whose spins keep
 * failing, because its messages come seldom, stops spinning but for an
 * occasional probe (wait_budget()).  0: always sleep at once.
 */
static unsigned int vactor_wait_spin_us = 50;
#define VACTOR_WAIT_SPIN_MAX_US	1000U

static int wait_spin_us_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, VACTOR_WAIT_SPIN_MAX_US);
}

static const struct kernel_param_ops wait_spin_us_ops = {
	.set = wait_spin_us_set,
	.get = param_get_uint,
};

module_param_cb(wait_spin_us, &wait_spin_us_ops, &vactor_wait_spin_us, 0644);
MODULE_PARM_DESC(wait_spin_us, "microseconds ENTER spins for completions before sleeping, while spinning pays on the port (default 50, 0..1000, 0: never)");
/*
 * After this many spins in a row that ended in a sleep, a port spins only
 * once every VACTOR_WAIT_SPIN_PROBE waits, to notice when spinning pays
 * again.
 */
#define VACTOR_WAIT_SPIN_MISSES	4
#define VACTOR_WAIT_SPIN_PROBE	16

LIST_HEAD(vactor_ports);
/* Guards vactor_ports, the list /proc/vactor/ports walks. */
DEFINE_MUTEX(vactor_ports_lock);
static DEFINE_IDA(vactor_port_ida);

DEFINE_PER_CPU(struct vactor_stats, vactor_stats);

/* Who opened the port, in which namespace: fixed for the port's life. */
static int port_identify(struct vactor_port *port)
{
	int ret = -ENOMEM;

	port->user = vactor_user_get(current_euid());
	if (!port->user)
		return -ENOMEM;
	ret = vactor_user_add_port(port->user);
	if (ret)
		goto err_user;
	port->table = vactor_table_get_current();
	if (!port->table) {
		ret = -ENOMEM;
		goto err_port;
	}
	port->admin = vactor_table_capable(port->table);
	ret = ida_alloc_min(&vactor_port_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto err_table;
	port->id = ret;
	return 0;

err_table:
	vactor_table_put(port->table);
err_port:
	vactor_user_sub_port(port->user);
err_user:
	vactor_user_put(port->user);
	return ret;
}

static void port_forget(struct vactor_port *port)
{
	ida_free(&vactor_port_ida, port->id);
	vactor_table_put(port->table);
	vactor_user_sub_port(port->user);
	vactor_user_put(port->user);
}

static int vactor_open(struct inode *inode, struct file *file)
{
	struct vactor_port *port;
	int ret;

	port = kzalloc(sizeof(*port), GFP_KERNEL_ACCOUNT);
	if (!port)
		return -ENOMEM;
	ret = port_identify(port);
	if (ret) {
		kfree(port);
		return ret;
	}
	port->pid = get_pid(task_tgid(current));
	mutex_init(&port->lock);
	spin_lock_init(&port->cq_lock);
	INIT_LIST_HEAD(&port->actors);
	INIT_LIST_HEAD(&port->ready);
	init_waitqueue_head(&port->wq);

	mutex_lock(&vactor_ports_lock);
	list_add_tail(&port->node, &vactor_ports);
	mutex_unlock(&vactor_ports_lock);
	file->private_data = port;
	return 0;
}

static int vactor_release(struct inode *inode, struct file *file)
{
	struct vactor_port *port = file->private_data;

	mutex_lock(&vactor_ports_lock);
	list_del(&port->node);
	mutex_unlock(&vactor_ports_lock);

	mutex_lock(&port->lock);
	vactor_port_close_actors(port);
	mutex_unlock(&port->lock);

	vactor_port_free_rings(port);
	put_pid(port->pid);
	port_forget(port);
	kfree(port);
	return 0;
}

static struct vactor_port *ready_port(struct file *file)
{
	struct vactor_port *port = file->private_data;

	/* Pairs with the release in vactor_ioctl_setup(). */
	return smp_load_acquire(&port->setup_done) ? port : NULL;
}

static long vactor_ioctl_setup(struct vactor_port *port, void __user *arg)
{
	struct vactor_params p;
	int ret;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	mutex_lock(&port->lock);
	if (port->setup_done) {
		ret = -EBUSY;
		goto out;
	}
	ret = vactor_port_setup(port, &p);
	if (ret)
		goto out;
	if (copy_to_user(arg, &p, sizeof(p))) {
		vactor_port_free_rings(port);
		ret = -EFAULT;
		goto out;
	}
	/* Rings before the flag: pairs with ready_port(). */
	smp_store_release(&port->setup_done, true);
out:
	mutex_unlock(&port->lock);
	return ret;
}

struct wait_snap {
	u32 head;
	u32 backlog_seq;
};

/* Something changed since @snap that may let the wait end. */
static bool wait_done(struct vactor_port *port, u32 min, struct wait_snap *snap)
{
	u32 head = READ_ONCE(*port->cq_head);

	return READ_ONCE(port->cq_ktail) - head >= min || head != snap->head ||
	       atomic_read(&port->backlog_seq) != snap->backlog_seq;
}

/*
 * Spins for up to @ns for the wait to end before sleeping (wait_spin_us):
 * true if it did.  Stops early when something else should run.
 */
static bool wait_spin(struct vactor_port *port, u32 min, struct wait_snap *snap,
		      u64 ns)
{
	u64 end = ktime_get_ns() + ns;
	unsigned int i = 0;

	while (!wait_done(port, min, snap)) {
		if (need_resched() || signal_pending(current))
			return false;
		cpu_relax();
		/* A clock read can cost more than a look at the CQ. */
		if (!(++i & 15) && ktime_get_ns() > end)
			return false;
	}
	return true;
}

/*
 * How long this wait may spin: wait_spin_us, unless the port's last spins
 * all missed and this wait is not a probe.  Threads waiting on one port
 * at once may lose each other's updates of the counts: they are a hint.
 */
static u64 wait_budget(struct vactor_port *port)
{
	u64 spin = (u64)READ_ONCE(vactor_wait_spin_us) * NSEC_PER_USEC;
	u32 skipped;

	if (!spin || READ_ONCE(port->spin_misses) < VACTOR_WAIT_SPIN_MISSES)
		return spin;
	skipped = READ_ONCE(port->spin_skipped) + 1;
	if (skipped < VACTOR_WAIT_SPIN_PROBE) {
		WRITE_ONCE(port->spin_skipped, skipped);
		return 0;
	}
	WRITE_ONCE(port->spin_skipped, 0);
	return spin;
}

/* Counts a spin that saw the answer (@hit) or ended in a sleep. */
static void wait_spin_result(struct vactor_port *port, bool hit)
{
	u32 misses = READ_ONCE(port->spin_misses);

	if (hit)
		WRITE_ONCE(port->spin_misses, 0);
	else if (misses < VACTOR_WAIT_SPIN_MISSES)
		WRITE_ONCE(port->spin_misses, misses + 1);
}

/* Waits until @min CQEs are ready, moving waiting messages in as room opens. */
static int vactor_wait_cqes(struct vactor_port *port, u32 min, u32 flags,
			    u64 timeout_ns)
{
	ktime_t deadline = KTIME_MAX, left = KTIME_MAX;
	bool waited = false;
	struct wait_snap snap;
	u64 spin = 0;
	u32 count;
	int ret;

	if (flags & VACTOR_ENTER_TIMEOUT)
		deadline = ktime_add_ns(ktime_get(), min_t(u64, timeout_ns, KTIME_MAX / 2));
	for (;;) {
		snap.backlog_seq = atomic_read(&port->backlog_seq);
		snap.head = READ_ONCE(*port->cq_head);
		vactor_port_flush(port);
		ret = vactor_cq_count(port, &count);
		if (ret || count >= min)
			break;
		/* Spins once at most: a message that comes later finds us asleep. */
		if (!waited) {
			waited = true;
			spin = wait_budget(port);
		}
		if (deadline != KTIME_MAX) {
			left = ktime_sub(deadline, ktime_get());
			if (left <= 0) {
				ret = -ETIME;
				break;
			}
			spin = min_t(u64, spin, left);
		}
		if (spin) {
			wait_spin_result(port, wait_spin(port, min, &snap, spin));
			spin = 0;
			/* Count again, and what is left of the timeout too. */
			continue;
		}
		/* No deadline, no hrtimer to set up on the stack. */
		if (deadline == KTIME_MAX)
			ret = wait_event_interruptible(port->wq,
						       wait_done(port, min, &snap));
		else
			ret = wait_event_interruptible_hrtimeout(port->wq,
								 wait_done(port, min, &snap),
								 left);
		if (ret == -ERESTARTSYS)
			ret = -EINTR;
		if (ret)
			break;
	}
	return ret;
}

/*
 * ENTER without waiting (the ioctl's and VACTOR_URING_CMD_ENTER's): submits,
 * then lets waiting messages into the CQ, since entering is also how a
 * reaper makes room for them.  SQEs consumed, or a negative errno.
 */
int vactor_enter_nowait(struct vactor_port *port, u32 to_submit)
{
	int submitted = 0;

	if (to_submit) {
		submitted = vactor_submit(port, to_submit);
		if (submitted < 0)
			return submitted;
	}
	vactor_port_flush(port);
	return submitted;
}

static long vactor_ioctl_enter(struct vactor_port *port, void __user *arg)
{
	struct vactor_enter e;
	int submitted = 0, ret;

	if (copy_from_user(&e, arg, sizeof(e)))
		return -EFAULT;
	if ((e.flags & ~VACTOR_ENTER_ALL) || e.resv0 || e.resv[0] || e.resv[1])
		return -EINVAL;
	/* Checked before submitting: a refused ENTER consumes nothing. */
	if ((e.flags & VACTOR_ENTER_GETEVENTS) && e.min_complete > port->cq_entries)
		return -EINVAL;
	if (!(e.flags & VACTOR_ENTER_GETEVENTS))
		return vactor_enter_nowait(port, e.to_submit);
	if (e.to_submit) {
		submitted = vactor_submit(port, e.to_submit);
		if (submitted < 0)
			return submitted;
	}
	ret = vactor_wait_cqes(port, e.min_complete, e.flags, e.timeout_ns);
	if (ret && !submitted)
		return ret;
	return submitted;
}

static long vactor_ioctl_call(struct vactor_port *port, void __user *arg)
{
	struct vactor_call call;
	int ret;

	if (copy_from_user(&call.sqe, arg, sizeof(call.sqe)))
		return -EFAULT;
	ret = vactor_call(port, &call);
	/* The operation has happened: only its result can still be lost. */
	if (copy_to_user(arg + offsetof(struct vactor_call, cqe), &call.cqe,
			 sizeof(call.cqe)))
		return -EFAULT;
	return ret;
}

static long vactor_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct vactor_port *port;

	if (cmd == VACTOR_IOC_SETUP)
		return vactor_ioctl_setup(file->private_data, uarg);
	port = ready_port(file);
	switch (cmd) {
	case VACTOR_IOC_ENTER:
		return port ? vactor_ioctl_enter(port, uarg) : -EBADFD;
	case VACTOR_IOC_CALL:
		return port ? vactor_ioctl_call(port, uarg) : -EBADFD;
	default:
		return -ENOTTY;
	}
}

static int vactor_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vactor_port *port = ready_port(file);

	return port ? vactor_port_mmap(port, vma) : -EBADFD;
}

static __poll_t vactor_poll(struct file *file, poll_table *wait)
{
	struct vactor_port *port = ready_port(file);
	__poll_t mask = 0;
	u32 count;

	if (!port)
		return EPOLLERR;
	poll_wait(file, &port->wq, wait);
	vactor_port_flush(port);
	if (vactor_cq_count(port, &count))
		return EPOLLERR;
	if (count)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (vactor_sq_has_room(port))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static const struct file_operations vactor_fops = {
	.owner = THIS_MODULE,
	.open = vactor_open,
	.release = vactor_release,
	.unlocked_ioctl = vactor_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vactor_mmap,
	.poll = vactor_poll,
	.uring_cmd = vactor_uring_cmd,	/* uring_cmd.c */
	.llseek = noop_llseek,
};

static struct miscdevice vactor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vactor",
	.fops = &vactor_fops,
	/* Root only; the installed udev rule grants group vactor (admin-guide.rst). */
	.mode = 0600,
};

static int __init vactor_init(void)
{
	int ret;

	ret = vactor_table_init();
	if (ret)
		return ret;
	ret = vactor_router_init();
	if (ret)
		goto err_table;
	ret = vactor_proc_init();
	if (ret)
		goto err_router;
	ret = misc_register(&vactor_misc);
	if (ret)
		goto err_proc;
	return 0;

err_proc:
	vactor_proc_exit();
err_router:
	vactor_router_exit();
err_table:
	vactor_table_exit();
	return ret;
}

static void __exit vactor_exit(void)
{
	misc_deregister(&vactor_misc);
	vactor_proc_exit();
	/* Dormant actors outlive their ports; unloading ends them. */
	vactor_table_exit();
	vactor_router_exit();
	ida_destroy(&vactor_port_ida);
}

module_init(vactor_init);
module_exit(vactor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vactor: kernel-resident virtual actors");
MODULE_AUTHOR("The vactor developers");
