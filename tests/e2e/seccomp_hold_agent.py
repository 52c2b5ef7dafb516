# seccomp_hold_agent.py SOCKET DIR: a seccomp notify agent that holds a
# process of `exec` in a system call, so that a test can probe it from inside
# the container while it sits in the container's pid namespace.
# Accepts any number of connections (one per listener: the container's init,
# then each exec'd process). Notifications from the first listener (the
# init and its payload) are let through at once (SECCOMP_USER_NOTIF_FLAG_CONTINUE);
# from any later one, the first notification is written to DIR/held
# ("NR PID") and let through only once DIR/go exists. DIR/ready once listening.
import fcntl, os, socket, struct, sys, threading, time

RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)   (80 bytes)
SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes)
CONTINUE = 1
path, out = sys.argv[1], sys.argv[2]


def serve(fd, hold):
    while True:
        notif = bytearray(80)
        try:
            fcntl.ioctl(fd, RECV, notif)
        except OSError:
            return
        nid, pid, _flags, nr = struct.unpack_from('=QIIi', notif)
        if hold:
            with open(os.path.join(out, 'held'), 'a') as f:
                f.write('%d %d\n' % (nr, pid))
            while not os.path.exists(os.path.join(out, 'go')):
                time.sleep(0.05)
            hold = False
        try:
            fcntl.ioctl(fd, SEND, bytearray(struct.pack('=QqiI', nid, 0, 0, CONTINUE)))
        except OSError:
            pass


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
open(os.path.join(out, 'ready'), 'w').write('ready')
n = 0
while True:
    c, _ = s.accept()
    msg, fds, flags, addr = socket.recv_fds(c, 1 << 16, 1)
    c.close()
    if not fds:
        continue
    threading.Thread(target=serve, args=(fds[0], n > 0), daemon=True).start()
    n += 1
