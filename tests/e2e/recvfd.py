# recvfd.py SOCKET READY_FILE: accepts one connection on SOCKET, receives one
# fd (SCM_RIGHTS) and prints what it is: "<readlink> Pid:<pid from fdinfo>".
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(sys.argv[2], 'w').write('ready')
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 100, 1)
fd = fds[0]
pid = [l.split()[1] for l in open('/proc/self/fdinfo/%d' % fd) if l.startswith('Pid:')]
print(os.readlink('/proc/self/fd/%d' % fd), 'Pid:' + (pid[0] if pid else '?'))
