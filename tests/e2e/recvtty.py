# recvtty.py SOCKET READY_FILE: accepts one connection on SOCKET, receives the
# pty master (SCM_RIGHTS) like containerd/conmon do, prints what the terminal
# shows for 5 s (or until it closes) as a Python bytes literal.
import socket, os, sys, time, select
path = sys.argv[1]
try: os.unlink(path)
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path); s.listen(1)
open(sys.argv[2], 'w').write('ready')
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 100, 1)
m = fds[0]
out = b''
end = time.time() + 5
while time.time() < end:
    r, _, _ = select.select([m], [], [], 0.2)
    if r:
        try: d = os.read(m, 4096)
        except OSError: break
        if not d: break
        out += d
print(repr(out))
