// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact: error messages.
 *
 * Static strings only, so it is thread-safe without strerror_r; the texts
 * say what the errno means for /dev/vactor, not its generic libc meaning.
 */
#include <errno.h>

#include "vact_private.h"

static const char *vactor_message(int err)
{
	switch (err) {
	case 0:
		return "Success";
	case EINVAL:
		return "Invalid argument (bad field, flag, opcode or ring index)";
	case EBADFD:
		return "Port not set up";
	case EBUSY:
		return "Busy (already set up or hosted, or completions wait for CQ room)";
	case ENOENT:
		return "No such actor or name";
	case EEXIST:
		return "Actor name already taken";
	case ENAMETOOLONG:
		return "Actor name too long";
	case EPERM:
		return "Actor not hosted by this port";
	case EMSGSIZE:
		return "Message too long";
	case EFAULT:
		return "Buffer outside the send area";
	case EAGAIN:
		return "Mailbox full or nothing ready, try again";
	case ENOSPC:
		return "Send area full, submit first";
	case ETIME:
		return "Timed out";
	case EINTR:
		return "Interrupted";
	case EACCES:
		return "Permission denied (mapping protection)";
	case ENOMEM:
		return "Out of memory";
	case ENODEV:
		return "No such device (is the vactor module loaded?)";
	case ENXIO:
		return "No such device or address";
	case ENOTTY:
		return "Not a vactor port";
	case EBADF:
		return "Bad file descriptor";
	case EMFILE:
		return "Too many open files";
	case EOVERFLOW:
		return "Value too large";
	case EDEADLK:	/* runtime */
		return "Would wait for itself (called from a worker thread)";
	}
	return NULL;
}

const char *vact_strerror(int err)
{
	const char *msg;

	if (err < 0)
		err = -err;
	msg = vactor_message(err);
	return msg ? msg : "Unknown error";
}
