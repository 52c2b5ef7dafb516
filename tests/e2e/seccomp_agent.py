# seccomp_agent.py SOCKET DIR: a tiny seccomp notify agent for the e2e tests.
# Accepts one connection on SOCKET (DIR/ready once listening), receives the
# container state JSON and the listener fd (SCM_RIGHTS), writes DIR/state.json
# and DIR/fd (readlink of the fd). For each notification it writes
# DIR/notified, waits for DIR/go, then answers "success, return 0" without
# running the syscall. Ends when the listener reports the filter gone.
import ctypes, fcntl, os, socket, struct, sys, time

RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)   (80 bytes)
SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes)
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(os.path.join(out, 'ready'), 'w').write('ready')
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1 << 16, 1)
open(os.path.join(out, 'state.json'), 'wb').write(msg)
fd = fds[0]
open(os.path.join(out, 'fd'), 'w').write(os.readlink('/proc/self/fd/%d' % fd))
while True:
    notif = bytearray(80)
    try:
        fcntl.ioctl(fd, RECV, notif)
    except OSError:
        break
    nid, pid, _flags, nr = struct.unpack_from('=QIIi', notif)
    with open(os.path.join(out, 'notified'), 'a') as f:
        f.write('%d %d\n' % (nr, pid))
    while not os.path.exists(os.path.join(out, 'go')):
        time.sleep(0.05)
    try:
        fcntl.ioctl(fd, SEND, bytearray(struct.pack('=QqiI', nid, 0, 0, 0)))
    except OSError:
        pass
