// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/vactor/{actors,ports,stats}: one line per actor or port of the
 * reader's IPC namespace, and the module's counters.  Reading takes
 * references and locks one object at a time; nothing stops the message path
 * for a reader.
 */
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "vactor.h"

static struct proc_dir_entry *vactor_proc_dir;

/* ---- actors ---- */

static void *actors_start(struct seq_file *m, loff_t *pos)
{
	unsigned long id = *pos;

	if (!id)
		return SEQ_START_TOKEN;
	return m->private ? vactor_actor_next(m->private, &id) : NULL;
}

static void *actors_next(struct seq_file *m, void *v, loff_t *pos)
{
	unsigned long id = 1;

	if (v != SEQ_START_TOKEN) {
		id = ((struct vactor_actor *)v)->id + 1;
		vactor_actor_put(v);
	}
	v = m->private ? vactor_actor_next(m->private, &id) : NULL;
	*pos = v ? id : id + 1;
	return v;
}

static void actors_stop(struct seq_file *m, void *v)
{
	if (v && v != SEQ_START_TOKEN)
		vactor_actor_put(v);
}

/*
 * @a may have been destroyed since actors_next() found it (its reference
 * keeps the memory, not its owner): only fields that outlive that are read.
 */
static int actors_show(struct seq_file *m, void *v)
{
	struct vactor_actor *a = v;
	enum vactor_state state;
	unsigned int depth;
	pid_t pid = 0;
	u32 port = 0;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "id\tname\ttype\tstate\tpid\tport\tparent\tmailbox\tmsgs_in\tmsgs_out\trestarts\tmigrations\tuid\n");
		return 0;
	}
	spin_lock(&a->lock);
	state = a->state;
	depth = a->mailbox_len;
	if (a->host) {
		port = a->host->id;
		pid = pid_vnr(a->host->pid);
	}
	spin_unlock(&a->lock);
	seq_printf(m, "%llu\t%s\t%u\t%s\t%d\t%u\t%d\t%u\t%llu\t%llu\t%u\t%u\t%u\n",
		   a->id, a->name[0] ? a->name : "-", a->type,
		   vactor_state_name(state), pid, port, 0, depth,
		   READ_ONCE(a->msgs_in), READ_ONCE(a->msgs_out), 0, 0,
		   from_kuid_munged(seq_user_ns(m), a->uid));
	return 0;
}

static const struct seq_operations actors_seq_ops = {
	.start = actors_start,
	.next = actors_next,
	.stop = actors_stop,
	.show = actors_show,
};

/* Both files show the reader's namespace: its table rides in m->private. */
static int ns_seq_open(struct file *file, const struct seq_operations *ops)
{
	int ret = seq_open(file, ops);

	if (!ret)
		((struct seq_file *)file->private_data)->private =
			vactor_table_find_current();
	return ret;
}

static int ns_seq_release(struct inode *inode, struct file *file)
{
	struct vactor_table *t = ((struct seq_file *)file->private_data)->private;

	if (t)
		vactor_table_put(t);
	return seq_release(inode, file);
}

static int actors_open(struct inode *inode, struct file *file)
{
	return ns_seq_open(file, &actors_seq_ops);
}

static const struct proc_ops actors_proc_ops = {
	.proc_open = actors_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = ns_seq_release,
};

/* ---- ports ---- */

static void *ports_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&vactor_ports_lock);
	return seq_list_start_head(&vactor_ports, *pos);
}

static void *ports_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &vactor_ports, pos);
}

static void ports_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&vactor_ports_lock);
}

static int ports_show(struct seq_file *m, void *v)
{
	struct vactor_port *port;
	u32 pending = 0;
	bool backlog;

	if (v == &vactor_ports) {
		seq_puts(m, "port\tpid\tsq\tcq\tcq_pending\tactors\tbacklog\tsubmitted\tdelivered\n");
		return 0;
	}
	port = list_entry(v, struct vactor_port, node);
	if (port->table != m->private)
		return 0;
	/* Pairs with the release in setup: the rings exist once it is set. */
	if (!smp_load_acquire(&port->setup_done)) {
		seq_printf(m, "%u\t%d\t-\t-\t-\t0\t0\t0\t0\n", port->id,
			   pid_vnr(port->pid));
		return 0;
	}
	spin_lock(&port->cq_lock);
	pending = port->cq_ktail - READ_ONCE(*port->cq_head);
	backlog = !list_empty(&port->ready);
	spin_unlock(&port->cq_lock);
	seq_printf(m, "%u\t%d\t%u\t%u\t%u\t%u\t%d\t%llu\t%llu\n", port->id,
		   pid_vnr(port->pid), port->sq_entries, port->cq_entries,
		   min(pending, port->cq_entries), READ_ONCE(port->nr_actors),
		   backlog, READ_ONCE(port->submitted),
		   READ_ONCE(port->delivered));
	return 0;
}

static const struct seq_operations ports_seq_ops = {
	.start = ports_start,
	.next = ports_next,
	.stop = ports_stop,
	.show = ports_show,
};

static int ports_open(struct inode *inode, struct file *file)
{
	return ns_seq_open(file, &ports_seq_ops);
}

static const struct proc_ops ports_proc_ops = {
	.proc_open = ports_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = ns_seq_release,
};

/* ---- stats ---- */

#define STAT(field) { #field, offsetof(struct vactor_stats, field) }
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	STAT(sent), STAT(direct), STAT(queued), STAT(flushed), STAT(rejected),
	STAT(undelivered), STAT(orphaned), STAT(redelivered), STAT(lost),
};

static int stats_show(struct seq_file *m, void *v)
{
	unsigned int i;
	u64 sum;
	int cpu;

	for (i = 0; i < ARRAY_SIZE(stat_fields); i++) {
		sum = 0;
		for_each_possible_cpu(cpu)
			sum += *(u64 *)((char *)per_cpu_ptr(&vactor_stats, cpu) +
					stat_fields[i].off);
		seq_printf(m, "%s %llu\n", stat_fields[i].name, sum);
	}
	return 0;
}

int vactor_proc_init(void)
{
	vactor_proc_dir = proc_mkdir("vactor", NULL);
	if (!vactor_proc_dir)
		return -ENOMEM;
	if (!proc_create("actors", 0444, vactor_proc_dir, &actors_proc_ops) ||
	    !proc_create("ports", 0444, vactor_proc_dir, &ports_proc_ops) ||
	    !proc_create_single("stats", 0444, vactor_proc_dir, stats_show)) {
		proc_remove(vactor_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void vactor_proc_exit(void)
{
	proc_remove(vactor_proc_dir);
}
