// SPDX-License-Identifier: GPL-2.0
/*
 * nek_relay: relays a pair of connected stream sockets (TCP, vsock) in both
 * directions inside the kernel, passes half-close on, and reports bytes and
 * the end state through a file descriptor. ABI: docs/kmod-relay.md.
 *
 * Each direction is a work item on an unbound workqueue, woken by its
 * source's sk_data_ready and its destination's sk_write_space. It receives
 * into kernel pages and sends from them; a TCP destination takes the pages
 * by reference (MSG_SPLICE_PAGES), so the payload is copied once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "nek_relay.h"

/* Receive buffers: 64 KiB compound pages, single pages under pressure. */
#define NEK_BUF_ORDER 4
/* Pieces of one skb sent in one sendmsg by the zero-copy receive path. */
#define NEK_ZC_BVECS 32

static unsigned int max_relays = 4096;
module_param(max_relays, uint, 0644);
MODULE_PARM_DESC(max_relays, "Relays alive at a time (more fail with ENOSPC)");

static unsigned int relays;
module_param(relays, uint, 0444);
MODULE_PARM_DESC(relays, "Relays alive now");

static unsigned long total;
module_param(total, ulong, 0444);
MODULE_PARM_DESC(total, "Relays started since the module was loaded");

static DEFINE_MUTEX(relays_mutex);	/* relays_list, relays, total */
static LIST_HEAD(relays_list);
static struct workqueue_struct *nek_wq;

struct nek_relay;

/* One socket of the pair. */
struct nek_end {
	struct nek_relay *r;
	int idx;
	struct file *file;
	struct socket *sock;
	bool tcp;
	bool claimed;	/* sk_user_data is ours */
	bool hooked;	/* ...and so are the callbacks */
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
};

/* Direction idx: end[idx] -> end[1 - idx]. Touched only by its work. */
struct nek_dir {
	struct nek_relay *r;
	int idx;
	struct work_struct work;
	struct page *page;	/* receive buffer */
	unsigned int size;	/* its size */
	unsigned int off, len;	/* bytes [off, len) wait to be sent */
	u64 bytes;		/* sent to the destination */
	bool eof;		/* the source reached end of stream */
	bool done;		/* ...and the destination was shut down */
};

struct nek_relay {
	struct list_head node;
	struct kref ref;		/* one for the engine, one for the handle */
	spinlock_t lock;		/* everything below */
	struct nek_end end[2];
	struct nek_dir dir[2];
	struct work_struct release_work;
	wait_queue_head_t wq;
	unsigned int chunk;
	unsigned int flags;
	u32 state;			/* enum nek_relay_state, set at release */
	u32 final_state;		/* what state becomes */
	int err[2];			/* positive errno per direction */
	u32 eof;			/* bit per direction: shut down downstream */
	bool stopping;			/* release is queued */
	bool shut;			/* release shuts the sockets down */
};

static void nek_relay_free(struct kref *ref)
{
	struct nek_relay *r = container_of(ref, struct nek_relay, ref);

	mutex_lock(&relays_mutex);
	list_del(&r->node);
	relays--;
	mutex_unlock(&relays_mutex);
	kfree(r);
}

static void nek_relay_put(struct nek_relay *r)
{
	kref_put(&r->ref, nek_relay_free);
}

/*
 * Ends the relay with state (the first reason wins); the release work
 * restores the sockets and reports.
 */
static void nek_stop(struct nek_relay *r, u32 state)
{
	bool queue = false;

	spin_lock(&r->lock);
	if (!r->stopping) {
		r->stopping = true;
		r->final_state = state;
		queue = true;
	}
	spin_unlock(&r->lock);
	if (queue)
		queue_work(nek_wq, &r->release_work);
}

static bool nek_ended(struct nek_relay *r)
{
	u32 s;

	spin_lock(&r->lock);
	s = r->state;
	spin_unlock(&r->lock);
	return s != NEK_RELAY_RUNNING;
}

/* ------------------------------------------------------------ callbacks */

static void nek_data_ready(struct sock *sk)
{
	struct nek_end *e;

	read_lock_bh(&sk->sk_callback_lock);
	e = sk->sk_user_data;
	if (e)
		queue_work(nek_wq, &e->r->dir[e->idx].work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void nek_write_space(struct sock *sk)
{
	struct nek_end *e;

	read_lock_bh(&sk->sk_callback_lock);
	e = sk->sk_user_data;
	if (e && (!e->tcp || sk_stream_is_writeable(sk))) {
		if (sk->sk_socket)
			clear_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		queue_work(nek_wq, &e->r->dir[1 - e->idx].work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

static void nek_state_change(struct sock *sk)
{
	struct nek_end *e;

	read_lock_bh(&sk->sk_callback_lock);
	e = sk->sk_user_data;
	if (e) {
		queue_work(nek_wq, &e->r->dir[0].work);
		queue_work(nek_wq, &e->r->dir[1].work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * Marks the socket as ours (sk_user_data) but leaves its callbacks alone:
 * a start can still fail after this, and until it cannot, nothing may queue
 * a direction. Else a failed start would have work in flight on a relay it
 * frees, moving bytes between the caller's socket and the other socket
 * (another relay's, when that is why it failed).
 */
static int nek_claim(struct nek_end *e)
{
	struct sock *sk = e->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data) {
		/* Someone else's: another relay, sockmap, kTLS... */
		write_unlock_bh(&sk->sk_callback_lock);
		return -EBUSY;
	}
	sk->sk_user_data = e;
	e->claimed = true;
	write_unlock_bh(&sk->sk_callback_lock);
	return 0;
}

/* Takes the callbacks of a claimed socket: from here on data moves. */
static void nek_hook(struct nek_end *e)
{
	struct sock *sk = e->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	e->saved_data_ready = sk->sk_data_ready;
	e->saved_write_space = sk->sk_write_space;
	e->saved_state_change = sk->sk_state_change;
	sk->sk_data_ready = nek_data_ready;
	sk->sk_write_space = nek_write_space;
	sk->sk_state_change = nek_state_change;
	e->hooked = true;
	write_unlock_bh(&sk->sk_callback_lock);
}

/*
 * Gives the socket back. A callback queues work only while it holds
 * sk_callback_lock for reading and finds sk_user_data set; clearing that
 * under the lock for writing waits for the callbacks running now, and the
 * ones that come later (an old sk_data_ready pointer read before the
 * restore) find nothing. So once both ends are unhooked no callback can
 * queue work for this relay any more.
 */
static void nek_unhook(struct nek_end *e)
{
	struct sock *sk;

	if (!e->claimed)
		return;
	sk = e->sock->sk;
	write_lock_bh(&sk->sk_callback_lock);
	if (e->hooked) {
		sk->sk_data_ready = e->saved_data_ready;
		sk->sk_write_space = e->saved_write_space;
		sk->sk_state_change = e->saved_state_change;
	}
	sk->sk_user_data = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
	e->hooked = false;
	e->claimed = false;
}

/* ------------------------------------------------------------ data path */

static int nek_recv(struct nek_dir *d, unsigned int max)
{
	struct socket *src = d->r->end[d->idx].sock;
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
	struct bio_vec bv;
	unsigned int size;
	int n;

	if (!d->page) {
		d->page = alloc_pages(GFP_KERNEL | __GFP_COMP | __GFP_NOWARN | __GFP_NORETRY,
				      NEK_BUF_ORDER);
		d->size = PAGE_SIZE << NEK_BUF_ORDER;
		if (!d->page) {
			d->page = alloc_page(GFP_KERNEL);
			d->size = PAGE_SIZE;
		}
		if (!d->page)
			return -ENOMEM;
	}
	size = min(max, d->size);
	bvec_set_page(&bv, d->page, size, 0);
	iov_iter_bvec(&msg.msg_iter, ITER_DEST, &bv, 1, size);
	n = sock_recvmsg(src, &msg, MSG_DONTWAIT);
	if (n > 0) {
		d->off = 0;
		d->len = n;
	}
	return n;
}

static int nek_send(struct nek_dir *d)
{
	struct nek_end *dst = &d->r->end[1 - d->idx];
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	unsigned int left = d->len - d->off;
	struct bio_vec bv;
	int n;

	/* TCP keeps references to the pages instead of copying them. */
	if (dst->tcp)
		msg.msg_flags |= MSG_SPLICE_PAGES;
	bvec_set_page(&bv, d->page, left, d->off);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, &bv, 1, left);
	n = sock_sendmsg(dst->sock, &msg);
	if (n <= 0)
		return n ? n : -EAGAIN;
	d->off += n;
	WRITE_ONCE(d->bytes, d->bytes + n);
	if (d->off == d->len) {
		d->off = 0;
		d->len = 0;
		if (dst->tcp) {
			/* TCP holds the pages now: take fresh ones. */
			put_page(d->page);
			d->page = NULL;
		}
	}
	return n;
}

/*
 * Zero-copy receive for a TCP source with a non-TCP destination: the skbs
 * stay in the source's receive queue and the destination's sendmsg reads
 * them in place (tcp_read_sock, under the source's socket lock). The
 * destination is never TCP here, so the two directions never hold each
 * other's socket locks in opposite orders.
 */
struct nek_zc {
	struct nek_dir *d;
	int err;	/* from the destination; -EAGAIN when it is full */
};

/*
 * bvecs for [off, off + len) of skb, frag_list included; *covered gets
 * the bytes they hold (less than len when max runs out).
 */
static int nek_skb_bvec(struct sk_buff *skb, unsigned int off, unsigned int len,
			struct bio_vec *bv, int max, unsigned int *covered)
{
	unsigned int hl = skb_headlen(skb), take, sub;
	struct sk_buff *frag;
	int n = 0, i;

	*covered = 0;
	if (off < hl) {
		take = min(hl - off, len);
		bvec_set_virt(&bv[n++], skb->data + off, take);
		*covered += take;
		len -= take;
		off = 0;
	} else {
		off -= hl;
	}
	for (i = 0; i < skb_shinfo(skb)->nr_frags && len && n < max; i++) {
		const skb_frag_t *f = &skb_shinfo(skb)->frags[i];

		if (off >= skb_frag_size(f)) {
			off -= skb_frag_size(f);
			continue;
		}
		take = min(skb_frag_size(f) - off, len);
		bvec_set_page(&bv[n++], skb_frag_page(f), take, skb_frag_off(f) + off);
		*covered += take;
		len -= take;
		off = 0;
	}
	skb_walk_frags(skb, frag) {
		if (!len || n >= max)
			break;
		if (off >= frag->len) {
			off -= frag->len;
			continue;
		}
		n += nek_skb_bvec(frag, off, len, bv + n, max - n, &sub);
		*covered += sub;
		len -= sub;
		off = 0;
	}
	return n;
}

static int nek_zc_actor(read_descriptor_t *desc, struct sk_buff *skb, unsigned int off,
			size_t len)
{
	struct nek_zc *z = desc->arg.data;
	struct nek_dir *d = z->d;
	struct socket *dst = d->r->end[1 - d->idx].sock;
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct bio_vec bv[NEK_ZC_BVECS];
	unsigned int covered;
	int nb, n;

	if (!desc->count)
		return 0;
	len = min_t(size_t, len, desc->count);
	nb = nek_skb_bvec(skb, off, len, bv, NEK_ZC_BVECS, &covered);
	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, nb, covered);
	n = sock_sendmsg(dst, &msg);
	if (n <= 0) {
		z->err = n ? n : -EAGAIN;
		return 0;
	}
	desc->count -= n;
	WRITE_ONCE(d->bytes, d->bytes + n);
	return n;
}

/*
 * Bytes moved, 0 at end of stream, -EAGAIN (no data, or the destination is
 * full) or another negative errno.
 */
static int nek_zc_step(struct nek_dir *d, long budget)
{
	struct socket *src = d->r->end[d->idx].sock;
	struct nek_zc z = { .d = d };
	read_descriptor_t desc = { .count = budget, .arg.data = &z };
	struct sock *sk = src->sk;
	int n;

	lock_sock(sk);
	n = src->ops->read_sock(sk, &desc, nek_zc_actor);
	if (n == 0 && !z.err) {
		if (sk->sk_err)
			n = sock_error(sk);
		else if (!(sk->sk_shutdown & RCV_SHUTDOWN) ||
			 !skb_queue_empty(&sk->sk_receive_queue))
			n = -EAGAIN;
	}
	release_sock(sk);
	if (n == 0 && z.err)
		return z.err;
	return n;
}

static bool nek_zc(struct nek_dir *d)
{
	return d->r->end[d->idx].tcp && !d->r->end[1 - d->idx].tcp;
}

static void nek_dir_done(struct nek_dir *d)
{
	struct nek_relay *r = d->r;
	bool both;

	spin_lock(&r->lock);
	d->done = true;
	r->eof |= 1u << d->idx;
	both = r->dir[0].done && r->dir[1].done;
	spin_unlock(&r->lock);
	if (both)
		nek_stop(r, NEK_RELAY_DONE);
}

static void nek_dir_fail(struct nek_dir *d, int err)
{
	struct nek_relay *r = d->r;

	spin_lock(&r->lock);
	if (!r->err[d->idx])
		r->err[d->idx] = -err;
	spin_unlock(&r->lock);
	nek_stop(r, NEK_RELAY_ERROR);
}

/*
 * One step of a direction: send what is pending, receive more, pass end
 * of stream on; at most chunk bytes, then yield. Never blocks: -EAGAIN
 * waits for a callback to queue the work again.
 */
static void nek_dir_work(struct work_struct *work)
{
	struct nek_dir *d = container_of(work, struct nek_dir, work);
	struct nek_relay *r = d->r;
	long budget = r->chunk;
	int n = 0;

	if (READ_ONCE(r->stopping) || d->done)
		return;
	while (budget > 0) {
		if (d->len > d->off) {
			n = nek_send(d);
		} else if (!d->eof) {
			n = nek_zc(d) ? nek_zc_step(d, budget) : nek_recv(d, budget);
			if (n == 0)
				d->eof = true;
		} else {
			n = kernel_sock_shutdown(r->end[1 - d->idx].sock, SHUT_WR);
			if (!n)
				nek_dir_done(d);
			break;
		}
		if (n < 0)
			break;
		budget -= n;
	}
	if (n == -EAGAIN || d->done)
		return;
	if (n < 0)
		nek_dir_fail(d, n);
	else
		queue_work(nek_wq, work);
}

/*
 * Gives both sockets back as they were and drops the relay's references to
 * them: a relay's release and a start that failed both end here. The order
 * matters. Both ends are unhooked first, since each end's callbacks queue
 * the other end's direction too; after that only a direction's own requeue
 * can queue work, and cancel_work_sync() stops that. With no work left to
 * run, the pages and the sockets can go.
 */
static void nek_teardown(struct nek_relay *r)
{
	bool shut;
	int i;

	for (i = 0; i < 2; i++)
		nek_unhook(&r->end[i]);
	for (i = 0; i < 2; i++) {
		cancel_work_sync(&r->dir[i].work);
		if (r->dir[i].page)
			put_page(r->dir[i].page);
		r->dir[i].page = NULL;
	}
	spin_lock(&r->lock);
	shut = r->shut;
	spin_unlock(&r->lock);
	for (i = 0; i < 2; i++) {
		/* A start that failed at fget() has no file here. */
		if (!r->end[i].file)
			continue;
		if (shut)
			kernel_sock_shutdown(r->end[i].sock, SHUT_RDWR);
		fput(r->end[i].file);
		r->end[i].file = NULL;
	}
}

/* Ends a started relay and reports. Runs once. */
static void nek_release_work(struct work_struct *work)
{
	struct nek_relay *r = container_of(work, struct nek_relay, release_work);

	nek_teardown(r);
	spin_lock(&r->lock);
	r->state = r->final_state;
	spin_unlock(&r->lock);
	wake_up_interruptible_poll(&r->wq, EPOLLIN | EPOLLRDNORM);
	nek_relay_put(r);
}

/* ------------------------------------------------------------ relay handle */

static void nek_fill(struct nek_relay *r, struct nek_relay_report *rep)
{
	int i;

	memset(rep, 0, sizeof(*rep));
	rep->version = NEK_RELAY_VERSION;
	spin_lock(&r->lock);
	rep->state = r->state;
	rep->eof = r->eof;
	for (i = 0; i < 2; i++)
		rep->err[i] = r->err[i];
	spin_unlock(&r->lock);
	for (i = 0; i < 2; i++)
		rep->bytes[i] = READ_ONCE(r->dir[i].bytes);
}

static ssize_t nek_handle_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	struct nek_relay *r = file->private_data;
	struct nek_relay_report rep;

	if (len < sizeof(rep))
		return -EINVAL;
	if (!nek_ended(r)) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(r->wq, nek_ended(r)))
			return -ERESTARTSYS;
	}
	nek_fill(r, &rep);
	if (copy_to_user(buf, &rep, sizeof(rep)))
		return -EFAULT;
	return sizeof(rep);
}

static __poll_t nek_handle_poll(struct file *file, poll_table *wait)
{
	struct nek_relay *r = file->private_data;

	poll_wait(file, &r->wq, wait);
	return nek_ended(r) ? EPOLLIN | EPOLLRDNORM : 0;
}

static long nek_handle_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct nek_relay *r = file->private_data;
	struct nek_relay_report rep;

	switch (cmd) {
	case NEK_RELAY_IOC_STAT:
		nek_fill(r, &rep);
		if (copy_to_user((void __user *)arg, &rep, sizeof(rep)))
			return -EFAULT;
		return 0;
	case NEK_RELAY_IOC_ABORT:
		nek_stop(r, NEK_RELAY_ABORTED);
		return 0;
	}
	return -ENOTTY;
}

static int nek_handle_release(struct inode *inode, struct file *file)
{
	struct nek_relay *r = file->private_data;

	if (!(r->flags & NEK_RELAY_F_DETACH))
		nek_stop(r, NEK_RELAY_ABORTED);
	nek_relay_put(r);
	return 0;
}

static const struct file_operations nek_handle_fops = {
	.owner = THIS_MODULE,
	.read = nek_handle_read,
	.poll = nek_handle_poll,
	.unlocked_ioctl = nek_handle_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = nek_handle_release,
	.llseek = noop_llseek,
};

/* ------------------------------------------------------------ start */

/* 1 for TCP, 0 for vsock, or a negative errno. */
static int nek_sock_kind(struct socket *sock)
{
	struct sock *sk = sock->sk;
	int state;

	if (!sk || sock->type != SOCK_STREAM)
		return -EPROTONOSUPPORT;
	state = READ_ONCE(sk->sk_state);
	switch (sk->sk_family) {
	case AF_INET:
	case AF_INET6:
		if (sk->sk_protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT)
			return -ENOTCONN;
		return 1;
	case AF_VSOCK:
		return state == TCP_ESTABLISHED ? 0 : -ENOTCONN;
	}
	return -EPROTONOSUPPORT;
}

static int nek_end_init(struct nek_relay *r, int idx, int fd)
{
	struct nek_end *e = &r->end[idx];
	int kind;

	e->r = r;
	e->idx = idx;
	e->file = fget(fd);
	if (!e->file)
		return -EBADF;
	e->sock = sock_from_file(e->file);
	if (!e->sock)
		return -ENOTSOCK;
	kind = nek_sock_kind(e->sock);
	if (kind < 0)
		return kind;
	e->tcp = kind;
	return 0;
}

static struct nek_relay *nek_relay_new(const struct nek_relay_start *a)
{
	struct nek_relay *r = kzalloc(sizeof(*r), GFP_KERNEL);
	int i;

	if (!r)
		return ERR_PTR(-ENOMEM);
	kref_init(&r->ref);
	spin_lock_init(&r->lock);
	init_waitqueue_head(&r->wq);
	INIT_WORK(&r->release_work, nek_release_work);
	r->chunk = a->chunk ? a->chunk : NEK_RELAY_CHUNK_DEFAULT;
	r->flags = a->flags;
	for (i = 0; i < 2; i++) {
		r->dir[i].r = r;
		r->dir[i].idx = i;
		INIT_WORK(&r->dir[i].work, nek_dir_work);
	}
	mutex_lock(&relays_mutex);
	if (relays >= READ_ONCE(max_relays)) {
		mutex_unlock(&relays_mutex);
		kfree(r);
		return ERR_PTR(-ENOSPC);
	}
	relays++;
	total++;
	list_add(&r->node, &relays_list);
	mutex_unlock(&relays_mutex);
	return r;
}

static int nek_check_start(const struct nek_relay_start *a)
{
	if (a->version != NEK_RELAY_VERSION || (a->flags & ~NEK_RELAY_F_ALL) ||
	    memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	if (a->chunk && (a->chunk < NEK_RELAY_CHUNK_MIN || a->chunk > NEK_RELAY_CHUNK_MAX))
		return -EINVAL;
	return 0;
}

static long nek_start(struct nek_relay_start __user *arg)
{
	struct nek_relay_start a;
	struct nek_relay *r;
	struct file *file;
	int i, fd, err;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	err = nek_check_start(&a);
	if (err)
		return err;
	r = nek_relay_new(&a);
	if (IS_ERR(r))
		return PTR_ERR(r);
	for (i = 0; i < 2 && !err; i++)
		err = nek_end_init(r, i, a.fd[i]);
	if (!err && r->end[0].sock == r->end[1].sock)
		err = -EINVAL;
	for (i = 0; i < 2 && !err; i++)
		err = nek_claim(&r->end[i]);
	if (err)
		goto undo;
	fd = get_unused_fd_flags((a.flags & NEK_RELAY_F_CLOEXEC) ? O_CLOEXEC : 0);
	if (fd < 0) {
		err = fd;
		goto undo;
	}
	file = anon_inode_getfile("[nek_relay]", &nek_handle_fops, r,
				  O_RDWR | ((a.flags & NEK_RELAY_F_NONBLOCK) ? O_NONBLOCK : 0));
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		err = PTR_ERR(file);
		goto undo;
	}
	kref_get(&r->ref);
	/*
	 * Nothing fails from here on, so only now may the directions run.
	 * Data that came before the callbacks did is found by looking at both
	 * sources once.
	 */
	for (i = 0; i < 2; i++)
		nek_hook(&r->end[i]);
	queue_work(nek_wq, &r->dir[0].work);
	queue_work(nek_wq, &r->dir[1].work);
	fd_install(fd, file);
	return fd;
undo:
	/* No work was queued (nothing is hooked): the teardown finds none. */
	nek_teardown(r);
	nek_relay_put(r);
	return err;
}

static long nek_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (cmd == NEK_RELAY_IOC_START)
		return nek_start((struct nek_relay_start __user *)arg);
	return -ENOTTY;
}

static const struct file_operations nek_dev_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = nek_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice nek_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = NEK_RELAY_DEVNAME,
	.fops = &nek_dev_fops,
	.mode = 0600,
};

static int __init nek_init(void)
{
	int err;

	nek_wq = alloc_workqueue("nek_relay", WQ_UNBOUND, 0);
	if (!nek_wq)
		return -ENOMEM;
	err = misc_register(&nek_misc);
	if (err) {
		destroy_workqueue(nek_wq);
		return err;
	}
	return 0;
}

static bool nek_all_freed(void)
{
	bool empty;

	mutex_lock(&relays_mutex);
	empty = list_empty(&relays_list);
	mutex_unlock(&relays_mutex);
	return empty;
}

/*
 * Open handles pin the module, so only detached relays can be left: abort
 * them, shut their sockets down, and wait until every one is freed.
 *
 * The wait flushes the workqueue instead of letting destroy_workqueue()
 * drain it: until a relay's release work has unhooked its sockets, their
 * callbacks may still queue work from softirq, which a draining workqueue
 * refuses while leaving the work marked pending, and cancel_work_sync() in
 * the release work then spins on it for ever (a soft lockup under load).
 */
static void __exit nek_exit(void)
{
	struct nek_relay *r;

	misc_deregister(&nek_misc);
	mutex_lock(&relays_mutex);
	list_for_each_entry(r, &relays_list, node) {
		spin_lock(&r->lock);
		r->shut = true;
		spin_unlock(&r->lock);
		nek_stop(r, NEK_RELAY_ABORTED);
	}
	mutex_unlock(&relays_mutex);
	while (!nek_all_freed()) {
		flush_workqueue(nek_wq);
		if (!nek_all_freed())
			msleep(20);
	}
	destroy_workqueue(nek_wq);
}

module_init(nek_init);
module_exit(nek_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Relay a pair of connected stream sockets inside the kernel");
