#!/usr/bin/python3
"""kbench - kiln's benchmark: kiln against runc and crun, interleaved, on one busybox rootfs.

Run it through bench/run.sh (as root); `bench/run.sh -h` lists the options and
bench/README.md describes the method. In short:

* Everything runs in a private mount namespace. On a hybrid cgroup host the
  cgroup2 mount at /sys/fs/cgroup/unified is covered by an empty tmpfs there, so
  all runtimes (crun refuses hybrid hosts) and the reference see cgroup v1.
* Each timed command is forked by kbclock (kbclock.c), which moves it into an
  accounting cgroup first: cpu = the CPU charged to that cgroup and the
  containers' cgroups below it (the runtime, its helpers, the container
  processes), wall = fork to reap; faults and peak RSS are wait4's rusage.
* Per-op rounds rotate the order of the runtimes and the kernel reference
  kbref (kbref.c). Syscalls per op come from `strace -f -c`.
* Loads at scale: exec storm, N concurrent creates (memory, state size, exe copies),
  list/state with N containers, N deletes; every load is checked for failed ops and
  leftovers (containers, state dirs, cgroups, processes, mounts).
"""
import argparse
import collections
import json
import math
import signal
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OPS = ["run", "create", "state", "start", "delete", "exec", "kill", "run_masked"]
CHECK_SCRIPT = '[ $$ = 1 ] && [ "$(hostname)" = runc ] && [ -c /dev/null ] && [ -r /proc/self/status ] && exit 7'


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def sh(argv, **kw):
    """Run an untimed helper command quietly; returns CompletedProcess."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.run(argv, check=False, **kw)


def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p * len(s)) - 1))]


def median(values):
    s = sorted(values)
    n = len(s)
    return (s[(n - 1) // 2] + s[n // 2]) / 2


def read_kv(path):
    """'Key: value kB' lines (/proc/meminfo, /proc/PID/status, smaps_rollup) -> {key: int}."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                v = v.split()
                if v and v[0].isdigit():
                    out[k.strip()] = int(v[0])
    except OSError:
        pass
    return out


def busy_ms():
    """CPU busy time of the whole machine (all tenants), ms."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000 // os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------- cgroups ---
def mountinfo():
    """[(mount point, fstype, super options)] of this mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            post = post.split()
            out.append((pre.split()[4], post[0], post[2] if len(post) > 2 else ""))
    return out


def cgroup_mounts():
    return [(p, t, o) for p, t, o in mountinfo() if t in ("cgroup", "cgroup2")]


def hide_unified():
    """Hybrid host: give the bench's mount namespace a pure cgroup v1 view.

    /sys/fs/cgroup is unmounted (in this namespace only), a fresh tmpfs goes there
    and every v1 hierarchy is mounted again below it (the same hierarchies: same controllers), so there is no
    /sys/fs/cgroup/unified at all. An empty directory there is not enough: crun
    then writes cgroup.procs files into it as if it were a hierarchy. Private
    propagation: the host's mounts stay as they are."""
    ms = mountinfo()
    kinds = {p: t for p, t, _ in ms}
    if kinds.get("/sys/fs/cgroup") != "tmpfs" or kinds.get("/sys/fs/cgroup/unified") != "cgroup2":
        return None
    v1 = [(p, ",".join(o for o in opts.split(",") if o not in ("rw", "ro")))
          for p, t, opts in ms if t == "cgroup" and os.path.dirname(p) == "/sys/fs/cgroup"]
    steps = [["umount", "-R", "/sys/fs/cgroup"],
             ["mount", "-t", "tmpfs", "-o", "mode=755,size=64k", "kbench-cgroup", "/sys/fs/cgroup"]]
    for p, opts in v1:
        steps += [["mkdir", p], ["mount", "-t", "cgroup", "-o", opts, "cgroup", p]]
    for st in steps:
        r = sh(st, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            sys.exit("kbench: cannot set up the cgroup v1 view (%s): %s" % (" ".join(st), r.stderr.strip()))
    return "hybrid host: the bench's mount ns sees only the v1 hierarchies (no cgroup2 mount), so crun runs too"


def drop_foreign_cgroup_mounts():
    """Unmount (in the bench's namespace only) cgroup mounts outside /sys/fs/cgroup,
    e.g. a criu cgroup yard another tool left behind: runtimes that take every
    cgroup mount for a hierarchy of its own would otherwise do their cgroup work
    twice, and only on this host."""
    foreign = [p for p, t, _ in mountinfo()
               if t in ("cgroup", "cgroup2") and p != "/sys/fs/cgroup" and not p.startswith("/sys/fs/cgroup/")]
    for p in sorted(foreign, key=len, reverse=True):
        sh(["umount", "-l", p])
    return foreign


def cgroup_mode():
    ms = cgroup_mounts()
    if any(p == "/sys/fs/cgroup" and t == "cgroup2" for p, t, _ in ms):
        return "v2"
    return "hybrid" if any(t == "cgroup2" for _, t, _ in ms) else "v1"


def accounting_mount():
    for p, t, o in cgroup_mounts():
        if t == "cgroup2" and p == "/sys/fs/cgroup":
            return p
        if t == "cgroup" and "cpuacct" in o.split(","):
            return p
    return None


# ---------------------------------------------------------------- runtimes ---
class Runtime:
    def __init__(self, label, path, root):
        self.label, self.path, self.root = label, path, root

    def cmd(self, *args):
        return [self.path, "--root", self.root, *args]

    def version(self):
        r = sh(self.cmd("--version"), stdout=subprocess.PIPE, text=True)
        return (r.stdout or "?").splitlines()[0] if r.stdout else "?"

    def state(self, cid):
        r = sh(self.cmd("state", cid), stdout=subprocess.PIPE, text=True)
        if r.returncode:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def ids(self):
        r = sh(self.cmd("list", "-q"), stdout=subprocess.PIPE, text=True)
        return [x for x in r.stdout.split() if x]

    def force_delete(self, cid):
        sh(self.cmd("kill", cid, "KILL"))
        sh(self.cmd("delete", "-f", cid))

    def wait_status(self, cid, want, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.state(cid)
            if st and st.get("status") == want:
                return True
            time.sleep(0.002)
        return False


def parse_runtimes(specs, repo_kiln):
    """LABEL=PATH, a name in PATH or a path; default: kiln (build/kiln), crun, runc."""
    if not specs:
        specs = ["kiln=" + repo_kiln] + [n for n in ("crun", "runc") if shutil.which(n)]
    out = []
    for s in specs:
        label, _, path = s.partition("=") if "=" in s and "/" not in s.split("=")[0] else ("", "", s)
        if "/" not in path:
            path = shutil.which(path) or path
        path = os.path.abspath(path)
        if not os.access(path, os.X_OK):
            sys.exit("kbench: %s is not executable" % path)
        label = label or os.path.basename(path)
        while label in [l for l, _ in out]:
            label += "_"
        out.append((label, path))
    return out


# ------------------------------------------------------------------- bench ---
class Bench:
    def __init__(self, args):
        self.a = args
        self.w = tempfile.mkdtemp(prefix="kbench.", dir=os.environ.get("TMPDIR", "/tmp"))
        self.cg = "kbench-" + self.w.rsplit(".", 1)[-1]
        self.samples = {}      # (op, label) -> [sample dict]
        self.values = {}       # (metric, label) -> [number]
        self.scale = []        # rows of the loads-at-scale table
        self.failures = []     # "op label: reason"
        self.leftovers = {}    # (phase, label) -> {kind: count}
        self.notes = []
        self.tests = []        # (name, ok, detail) for the smoke mode
        self.exec_target = None  # (init pid, slot) of the container ref's exec joins
        self.bundles = {}
        self.runtimes = []
        self.acct = self.op_cg = None

    # ---- setup
    def setup(self):
        foreign = drop_foreign_cgroup_mounts()
        if foreign:
            self.notes.append("%d cgroup mounts outside /sys/fs/cgroup unmounted in the bench's namespace (%s)"
                              % (len(foreign), ", ".join(sorted(set(os.path.dirname(p) for p in foreign)))))
        note = None if self.a.keep_unified else hide_unified()
        self.mode = cgroup_mode()
        self.notes.append(note or "cgroups: %s (host view)" % self.mode)
        m = accounting_mount()
        if m:
            self.acct = os.path.join(m, self.cg)
            self.op_cg = os.path.join(self.acct, "op")
            os.makedirs(self.op_cg)
        else:
            self.notes.append("no cpuacct/cgroup2 accounting: cpu columns are -1")
        self.build_helpers()
        specs = parse_runtimes(self.a.runtimes, self.a.kiln)
        if self.mode == "hybrid":
            specs = [(l, p) for l, p in specs if os.path.basename(p) != "crun"] or specs
            self.notes.append("crun left out: it refuses hybrid cgroups (--keep-unified)")
        self.state_fs(os.path.join(self.w, "state"))
        for label, path in specs:
            root = os.path.join(self.w, "state", label)
            os.makedirs(root)
            self.runtimes.append(Runtime(label, path, root))
        self.make_rootfs()
        self.template = self.base_config()
        self.mount_baseline = collections.Counter((p, t) for p, t, _ in mountinfo())

    def read_acct(self):
        """CPU charged to the accounting cgroup so far, us (0 without one)."""
        if not self.acct:
            return 0
        ns = self.read_int(os.path.join(self.acct, "cpuacct.usage"))
        if ns:
            return ns // 1000
        try:
            with open(os.path.join(self.acct, "cpu.stat")) as f:
                return int(f.readline().split()[1])
        except (OSError, ValueError, IndexError):
            return 0

    def phase_tests(self, phase, first_failure):
        """One smoke test per runtime: no failure recorded since FIRST_FAILURE names it."""
        new = self.failures[first_failure:]
        for rt in self.runtimes:
            mine = [f for f in new if (" %s:" % rt.label) in f or (" %s-" % rt.label) in f]
            self.test("%s %s" % (phase, rt.label), not mine, "; ".join(mine[:3]) or "0 failed ops, 0 leftovers")

    def state_fs(self, d):
        """The runtimes' --root dirs on a private tmpfs, as /run is on most hosts (on
        ext4, creating and deleting the state dir and state.json costs ~1 ms per op)."""
        os.makedirs(d)
        if self.a.state_on_disk:
            self.notes.append("state dirs on %s (--state-on-disk)" % d)
            return
        if sh(["mount", "-t", "tmpfs", "-o", "mode=700,size=512m", "kbench-state", d]).returncode:
            sys.exit("kbench: cannot mount a tmpfs on " + d)
        self.notes.append("state dirs (--root) on a private tmpfs, like /run")

    def build_helpers(self):
        cc = os.environ.get("CC", "cc")
        for name in ("kbclock", "kbref"):
            out = os.path.join(self.w, name)
            r = sh([cc, "-O2", "-o", out, os.path.join(HERE, name + ".c")], stderr=subprocess.PIPE, text=True)
            if r.returncode:
                sys.exit("kbench: cannot build %s.c: %s" % (name, r.stderr.strip()))
            setattr(self, name, out)

    def make_rootfs(self):
        bb = self.a.busybox
        self.rootfs = os.path.join(self.w, "rootfs")
        for d in ("bin", "proc", "dev", "sys", "tmp", "etc", "root", "masked"):
            os.makedirs(os.path.join(self.rootfs, d))
        shutil.copy(bb, os.path.join(self.rootfs, "bin", "busybox"))
        applets = sh([bb, "--list"], stdout=subprocess.PIPE, text=True).stdout.split()
        for a in applets:
            if a != "busybox":
                os.symlink("busybox", os.path.join(self.rootfs, "bin", a))
        with open(os.path.join(self.rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        # maskedPaths that exist: half directories (tmpfs), half files (/dev/null)
        self.masked = []
        for i in range(self.a.masked):
            p = "/masked/%s%d" % ("d" if i % 2 == 0 else "f", i)
            if i % 2 == 0:
                os.mkdir(self.rootfs + p)
            else:
                open(self.rootfs + p, "w").close()
            self.masked.append(p)
        self.masked_file = os.path.join(self.w, "masked.txt")
        with open(self.masked_file, "w") as f:
            f.write("".join(p + "\n" for p in self.masked))

    def base_config(self):
        """`spec` of the first runtime that has it (kiln's equals runc's)."""
        d = os.path.join(self.w, "spec")
        os.makedirs(d)
        for rt in self.runtimes:
            if sh([rt.path, "spec", "--bundle", d]).returncode == 0:
                break
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        c["ociVersion"] = "1.0.2-dev"  # crun 1.8 rejects newer versions
        c["process"]["terminal"] = False
        c["root"] = {"path": self.rootfs, "readonly": True}
        return c

    def bundle(self, slot, args, masked=False):
        """Bundle directory for container SLOT, cgroupsPath /<bench cgroup>/<slot>."""
        d = os.path.join(self.w, "b", slot)
        if slot not in self.bundles:
            c = json.loads(json.dumps(self.template))
            c["process"]["args"] = args
            c["linux"]["cgroupsPath"] = "/%s/%s" % (self.cg, slot)
            if masked:
                c["linux"]["maskedPaths"] = c["linux"].get("maskedPaths", []) + self.masked
            os.makedirs(d)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(c, f)
            self.bundles[slot] = d
        return d

    # ---- measuring
    def clock(self, argv, out=None):
        """One timed command -> sample dict (rc, wall/cpu/user/sys in us, rss KiB, faults)."""
        err = os.path.join(self.w, "err.last")
        open(err, "w").close()
        r = self.kbclock_run(["-o", out or "/dev/null", "-e", err, "--"] + argv)
        s = r["C"][0] if r["C"] else {"rc": 126}
        s.update(cpu=r["T"]["cpu"], cpu_user=r["T"]["user"], cpu_sys=r["T"]["sys"])
        if s["rc"]:
            with open(err, errors="replace") as f:
                s["err"] = f.read().strip().splitlines()[-1:] or [""]
        return s

    def batch(self, cmds, par):
        """Commands run PAR at a time -> {"C": [sample], "T": totals}."""
        f = os.path.join(self.w, "batch.txt")
        with open(f, "w") as fh:
            fh.write("".join("\t".join(c) + "\n" for c in cmds))
        err = os.path.join(self.w, "err.batch")
        open(err, "w").close()
        r = self.kbclock_run(["-e", err, "-P", str(par), "-b", f])
        r["err"] = open(err, errors="replace").read().strip().splitlines()[-3:]
        return r

    def kbclock_run(self, opts):
        base = [self.kbclock] + (["-g", self.acct, "-j", self.op_cg] if self.acct else [])
        out = sh(base + opts, stdout=subprocess.PIPE, text=True).stdout
        res = {"C": [], "T": {"wall": 0, "cpu": -1, "user": -1, "sys": -1}}
        for line in out.splitlines():
            f = line.split()
            if f[0] == "C":
                v = [int(x) for x in f[1:]]
                res["C"].append(dict(i=v[0], rc=v[1], wall=v[2], user=v[3], sys=v[4], rss=v[5], faults=v[6] + v[7]))
            elif f[0] == "T":
                v = [int(x) for x in f[1:]]
                res["T"] = dict(wall=v[0], cpu=v[1], user=v[2], sys=v[3])
        return res

    def record(self, op, label, s):
        if s["rc"] == 0:
            self.samples.setdefault((op, label), []).append(s)
            return True
        self.failures.append("%s %s: exit %d %s" % (op, label, s["rc"], " ".join(s.get("err", []))))
        return False

    def value(self, metric, label, v):
        self.values.setdefault((metric, label), []).append(v)

    # ---- sanity
    def sanity(self):
        ok = []
        for rt in self.runtimes:
            cid = rt.label + "-chk"
            s = self.clock(rt.cmd("run", "--bundle", self.bundle(cid, ["sh", "-c", CHECK_SCRIPT]), cid))
            rt.force_delete(cid)
            if s["rc"] != 7:
                log("SANITY FAILED for %s: exit %d (want 7) %s" % (rt.label, s["rc"], s.get("err")))
                self.failures.append("sanity %s: exit %d" % (rt.label, s["rc"]))
            else:
                ok.append(rt)
        self.test("sanity", len(ok) == len(self.runtimes), "%d/%d runtimes" % (len(ok), len(self.runtimes)))
        s = self.clock([self.kbref, "-c", "/%s/ref-chk" % self.cg, self.rootfs, "/bin/sh", "-c", CHECK_SCRIPT])
        self.have_ref = s["rc"] == 7
        if not self.have_ref:
            log("reference kbref failed its check (exit %d %s): no ref column" % (s["rc"], s.get("err")))
        self.runtimes = ok
        return bool(ok)

    # ---- main phase: per-op rounds
    def actors(self):
        acts = [("rt", rt) for rt in self.runtimes]
        if self.have_ref:
            acts += [("ref", "ref"), ("ref", "ref-min")]
        return acts + [("ref", "noop")]

    def main_phase(self):
        f0 = len(self.failures)
        for rt in self.runtimes:
            cid = rt.label + "-exec"
            if sh(rt.cmd("run", "-d", "--bundle", self.bundle(cid, ["sleep", "100000"]), cid)).returncode:
                self.failures.append("exec container %s: run -d failed" % rt.label)
            elif self.exec_target is None:
                # ref's exec (kbref -e) joins the first runtime's container.
                r = sh(rt.cmd("state", cid), stdout=subprocess.PIPE, text=True)
                try:
                    self.exec_target = (json.loads(r.stdout)["pid"], cid)
                except (ValueError, KeyError):
                    pass
        acts = self.actors()
        warm = self.a.warmup
        t0, r = time.monotonic(), 0
        while True:
            if self.a.rounds:
                if r >= self.a.rounds + warm:
                    break
            elif r >= warm + 3 and time.monotonic() - t0 > self.a.time:
                break
            if r == warm:
                self.samples, t0 = {}, time.monotonic()  # failures of the warm-up rounds stay
            for j in range(len(acts)):
                kind, who = acts[(r + j) % len(acts)]
                if kind == "rt":
                    self.round_runtime(who)
                else:
                    self.round_ref(who)
            r += 1
        self.notes.append("per-op phase: %d rounds (+%d warm-up) in %.0f s" % (r - warm, warm, time.monotonic() - t0))
        for rt in self.runtimes:
            rt.force_delete(rt.label + "-exec")
        for rt in self.runtimes:
            self.check_leftovers("per-op", rt)
        self.phase_tests("per-op rounds", f0)

    def round_runtime(self, rt):
        L = rt.label
        cid = L + "-run"
        if not self.record("run", L, self.clock(rt.cmd("run", "--bundle", self.bundle(cid, ["true"]), cid))):
            rt.force_delete(cid)
        cid = L + "-mask"
        b = self.bundle(cid, ["true"], masked=True)
        if not self.record("run_masked", L, self.clock(rt.cmd("run", "--bundle", b, cid))):
            rt.force_delete(cid)
        cid = L + "-lc"
        if self.record("create", L, self.clock(rt.cmd("create", "--bundle", self.bundle(cid, ["true"]), cid))):
            self.record("state", L, self.clock(rt.cmd("state", cid)))
            if self.record("start", L, self.clock(rt.cmd("start", cid))) and rt.wait_status(cid, "stopped"):
                if not self.record("delete", L, self.clock(rt.cmd("delete", cid))):
                    rt.force_delete(cid)
            else:
                rt.force_delete(cid)
        else:
            rt.force_delete(cid)
        self.record("exec", L, self.clock(rt.cmd("exec", L + "-exec", "true")))
        cid = L + "-kill"
        if sh(rt.cmd("run", "-d", "--bundle", self.bundle(cid, ["sleep", "100000"]), cid)).returncode == 0:
            self.record("kill", L, self.clock(rt.cmd("kill", cid, "KILL")))
            rt.wait_status(cid, "stopped")
        else:
            self.failures.append("kill %s: run -d of the container failed" % L)
        rt.force_delete(cid)

    def ref_argv(self, who, slot, masked=False):
        if who == "noop":
            return ["/bin/true"]
        if who == "ref-min":
            return [self.kbref, "-m", self.rootfs, "/bin/true"]
        extra = ["-M", self.masked_file] if masked else []
        return [self.kbref, "-c", "/%s/%s" % (self.cg, slot)] + extra + [self.rootfs, "/bin/true"]

    def round_ref(self, who):
        self.record("run", who, self.clock(self.ref_argv(who, who + "-run")))
        if who == "ref":
            self.record("run_masked", who, self.clock(self.ref_argv(who, "ref-mask", masked=True)))
            if self.exec_target:
                pid, slot = self.exec_target
                self.record("exec", who, self.clock([self.kbref, "-e", str(pid), "-c", "/%s/%s" % (self.cg, slot), "true"]))

    # ---- syscall counts (strace -f -c)
    def strace(self, argv, wait_exit=False, then=None):
        """Total syscalls of ARGV and its descendants; THEN runs (untraced) once ARGV's
        own process has exited (create: the init stays traced until `start`)."""
        out = os.path.join(self.w, "strace.out")
        p = subprocess.Popen(["strace", "-f", "-qq", "-c", "-o", out, "--"] + argv,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if then:
            child = self.traced_command(p.pid, argv[0])
            while child and os.path.exists("/proc/%d" % child) and self.proc_state(child) not in ("Z", "X", None):
                time.sleep(0.002)
            then()
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None, {}
        return self.parse_strace(out)

    @staticmethod
    def traced_command(pid, exe):
        """The child of strace PID that runs EXE (strace first forks probes of its own)."""
        for _ in range(5000):
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    kids = f.read().split()
            except OSError:
                return None
            for k in kids:
                try:
                    with open("/proc/%s/cmdline" % k) as f:
                        if f.read().split("\0")[0] == exe:
                            return int(k)
                except OSError:
                    pass
            time.sleep(0.001)
        return None

    @staticmethod
    def proc_state(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return None

    @staticmethod
    def parse_strace(path):
        total, table = None, {}
        try:
            with open(path) as f:
                for line in f:
                    fs = line.split()
                    if len(fs) >= 5 and fs[3].isdigit():
                        if fs[-1] == "total":
                            total = int(fs[3])
                        else:
                            table[fs[-1]] = int(fs[3])
        except OSError:
            pass
        return total, table

    def counts_phase(self):
        f0 = len(self.failures)
        self.counts_all()
        for rt in self.runtimes:
            self.check_leftovers("counts", rt)
        self.phase_tests("syscall counts", f0)

    def counts_all(self):
        if not shutil.which("strace"):
            self.notes.append("no strace: no syscall counts")
            return
        self.syscall_tables = {}
        for rep in range(self.a.counts):
            for rt in self.runtimes:
                self.count_runtime(rt, rep)
            if self.have_ref:
                for who, masked, op in (("ref", False, "run"), ("ref", True, "run_masked"), ("ref-min", False, "run")):
                    n, t = self.strace(self.ref_argv(who, who + "-cnt", masked))
                    self.add_count(op, who, n, t)

    def add_count(self, op, label, n, table):
        if n is None:
            self.failures.append("strace %s %s: no count" % (op, label))
            return
        self.value("syscalls:" + op, label, n)
        # --phases without "counts" (list alone) has no tables yet.
        self.__dict__.setdefault("syscall_tables", {})[(op, label)] = table

    def count_runtime(self, rt, rep):
        L = rt.label
        cid = L + "-run"
        self.add_count("run", L, *self.strace(rt.cmd("run", "--bundle", self.bundle(cid, ["true"]), cid)))
        rt.force_delete(cid)
        cid = L + "-mask"
        self.add_count("run_masked", L, *self.strace(rt.cmd("run", "--bundle", self.bundle(cid, ["true"], True), cid)))
        rt.force_delete(cid)
        cid = L + "-lc"
        b = self.bundle(cid, ["true"])
        self.add_count("create", L, *self.strace(rt.cmd("create", "--bundle", b, cid),
                                                 then=lambda: sh(rt.cmd("start", cid))))
        rt.wait_status(cid, "stopped")
        rt.force_delete(cid)
        sh(rt.cmd("create", "--bundle", b, cid))
        self.add_count("state", L, *self.strace(rt.cmd("state", cid)))
        self.add_count("start", L, *self.strace(rt.cmd("start", cid)))
        rt.wait_status(cid, "stopped")
        self.add_count("delete", L, *self.strace(rt.cmd("delete", cid)))
        rt.force_delete(cid)
        cid = L + "-exec"
        sh(rt.cmd("run", "-d", "--bundle", self.bundle(cid, ["sleep", "100000"]), cid))
        self.add_count("exec", L, *self.strace(rt.cmd("exec", cid, "true")))
        rt.force_delete(cid)
        cid = L + "-kill"
        sh(rt.cmd("run", "-d", "--bundle", self.bundle(cid, ["sleep", "100000"]), cid))
        self.add_count("kill", L, *self.strace(rt.cmd("kill", cid, "KILL")))
        rt.force_delete(cid)

    # ---- list with N created containers (all runtimes at once, interleaved)
    def create_many(self, rt, n, par, tag):
        ids = ["%s-%s%d" % (rt.label, tag, k) for k in range(n)]
        cmds = [rt.cmd("create", "--bundle", self.bundle(i, ["true"]), i) for i in ids]
        return ids, self.batch(cmds, par)

    def list_phase(self):
        n, f0 = self.a.list, len(self.failures)
        ids = {}
        for rt in self.runtimes:
            m0 = read_kv("/proc/meminfo").get("MemAvailable", 0)
            ids[rt.label], r = self.create_many(rt, n, 4, "l")
            m1 = read_kv("/proc/meminfo").get("MemAvailable", 0)
            self.mem_per_container = getattr(self, "mem_per_container", {})
            self.mem_per_container[rt.label] = max(1, (m0 - m1) // max(1, n))
            bad = [c for c in r["C"] if c["rc"]]
            for c in bad:
                self.failures.append("list%d setup: create %s failed %s" % (n, ids[rt.label][c["i"]], r["err"]))
            got = len(rt.ids())
            if got != n:
                self.failures.append("list%d %s: list -q shows %d containers" % (n, rt.label, got))
        op = "list%d" % n
        for k in range(self.a.list_rounds):
            for j in range(len(self.runtimes)):
                rt = self.runtimes[(k + j) % len(self.runtimes)]
                self.record(op, rt.label, self.clock(rt.cmd("list")))
                self.record("state%d" % n, rt.label, self.clock(rt.cmd("state", ids[rt.label][k % n])))
            if self.have_ref:  # the files list must read, over the first runtime's root
                self.record(op, "ref", self.clock([self.kbref, "-l", self.runtimes[0].root]))
        if shutil.which("strace"):
            for rt in self.runtimes:
                self.add_count(op, rt.label, *self.strace(rt.cmd("list")))
        for rt in self.runtimes:
            r = self.batch([rt.cmd("delete", "-f", i) for i in ids[rt.label]], 4)
            for c in r["C"]:
                if c["rc"]:
                    self.failures.append("list%d cleanup: delete %s failed" % (n, ids[rt.label][c["i"]]))
            self.check_leftovers(op, rt)
        self.phase_tests("list/state with %d" % n, f0)

    # ---- N concurrent runs
    def conc_phase(self):
        n, f0 = self.a.conc, len(self.failures)
        for k in range(self.a.conc_rounds):
            for j in range(len(self.runtimes)):
                rt = self.runtimes[(k + j) % len(self.runtimes)]
                ids = ["%s-c%d" % (rt.label, i) for i in range(n)]
                r = self.batch([rt.cmd("run", "--bundle", self.bundle(i, ["true"]), i) for i in ids], n)
                bad = [c for c in r["C"] if c["rc"]]
                for c in bad:
                    self.failures.append("run%d %s: %s exit %d" % (n, rt.label, ids[c["i"]], c["rc"]))
                    rt.force_delete(ids[c["i"]])
                if not bad:
                    self.samples.setdefault(("run%d" % n, rt.label), []).append(
                        dict(rc=0, wall=r["T"]["wall"], cpu=r["T"]["cpu"], cpu_user=r["T"]["user"],
                             cpu_sys=r["T"]["sys"], rss=0, faults=0))
        for rt in self.runtimes:
            self.check_leftovers("run%d" % n, rt)
        self.phase_tests("%d concurrent runs" % n, f0)

    # ---- loads at scale, one runtime at a time
    def scale_phase(self):
        for rt in self.runtimes:
            self.exec_storm(rt)
            self.mass_create(rt)

    def exec_storm(self, rt):
        n, par = self.a.storm, self.a.storm_par
        cid = rt.label + "-storm"
        if sh(rt.cmd("run", "-d", "--bundle", self.bundle(cid, ["sleep", "100000"]), cid)).returncode:
            self.failures.append("storm %s: run -d failed" % rt.label)
            self.test("exec storm %s" % rt.label, False, "run -d failed")
            return
        files0 = self.count_files(rt.root)
        r = self.batch([rt.cmd("exec", cid, "true")] * n, par)
        fails = sum(1 for c in r["C"] if c["rc"])
        procs = self.cgroup_procs(cid)
        extra = {"procs left in container": max(0, procs - 1), "files added to state dir": self.count_files(rt.root) - files0}
        rt.force_delete(cid)
        left = self.check_leftovers("storm", rt)
        left.update({k: v for k, v in extra.items() if v})
        self.add_scale("exec storm %d (%d at a time)" % (n, par), rt, r, fails, left)
        if fails:
            self.failures.append("storm %s: %d of %d execs failed: %s" % (rt.label, fails, n, r["err"]))
        self.test("exec storm %s" % rt.label, fails == 0 and not any(left.values()),
                  "%d failed, leftovers %s" % (fails, left))

    def mass_create(self, rt):
        n, par = self.a.creates, self.a.create_par
        avail = read_kv("/proc/meminfo").get("MemAvailable", 0)
        per = getattr(self, "mem_per_container", {}).get(rt.label, 0)
        if per and per * n > avail // 2:
            n2 = max(10, int(avail // 2 // per))
            self.notes.append("%s: %d creates capped to %d (about %d KiB per container, %d MiB available)"
                              % (rt.label, n, n2, per, avail // 1024))
            n = n2
        m0, t0 = read_kv("/proc/meminfo"), busy_ms()
        ids, r = self.create_many(rt, n, par, "m")
        m1 = read_kv("/proc/meminfo")
        fails = sum(1 for c in r["C"] if c["rc"])
        mem = self.memory_of(rt, ids)
        mem["avail_delta_kib"] = m0.get("MemAvailable", 0) - m1.get("MemAvailable", 0)
        mem["shmem_delta_kib"] = m1.get("Shmem", 0) - m0.get("Shmem", 0)
        mem["state_bytes"], mem["state_files"] = self.dir_usage(rt.root)
        listed = len(rt.ids())
        if listed != n - fails:
            self.failures.append("create%d %s: list -q shows %d, want %d" % (n, rt.label, listed, n - fails))
        for k in range(self.a.list_rounds):
            self.record("list%d" % n, rt.label, self.clock(rt.cmd("list")))
            self.record("state%d" % n, rt.label, self.clock(rt.cmd("state", ids[(k * 37) % n])))
        d = self.batch([rt.cmd("delete", "-f", i) for i in ids], par)
        dfails = sum(1 for c in d["C"] if c["rc"])
        left = self.check_leftovers("create%d" % n, rt)
        self.add_scale("%d creates (%d at a time)" % (n, par), rt, r, fails, left, mem)
        self.add_scale("%d deletes -f (%d at a time)" % (n, par), rt, d, dfails, left)
        if fails or dfails:
            self.failures.append("create%d %s: %d creates, %d deletes failed: %s %s"
                                 % (n, rt.label, fails, dfails, r["err"], d["err"]))
        self.test("%d creates %s" % (n, rt.label), fails == 0 and listed == n, "%d failed, %d listed" % (fails, listed))
        self.test("%d deletes %s" % (n, rt.label), dfails == 0 and not any(left.values()),
                  "%d failed, leftovers %s" % (dfails, left))
        self.mem_detail = getattr(self, "mem_detail", {})
        self.mem_detail[rt.label] = mem

    def memory_of(self, rt, ids):
        """Memory of the parked inits: RSS/PSS/shmem sums and distinct executables."""
        out = {"inits": 0, "rss_kib": 0, "pss_kib": 0, "shmem_kib": 0, "exe_inodes": set(), "exe": ""}
        r = sh(rt.cmd("list", "--format", "json"), stdout=subprocess.PIPE, text=True)
        try:
            pids = [c.get("pid", 0) for c in json.loads(r.stdout or "[]") or []]
        except ValueError:
            pids = []
        for pid in pids:
            if not pid:
                continue
            roll = read_kv("/proc/%d/smaps_rollup" % pid)
            st = read_kv("/proc/%d/status" % pid)
            try:
                s = os.stat("/proc/%d/exe" % pid)
                out["exe_inodes"].add((s.st_dev, s.st_ino))
                out["exe_size"] = s.st_size
                out["exe"] = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                pass
            out["inits"] += 1
            out["rss_kib"] += roll.get("Rss", 0)
            out["pss_kib"] += roll.get("Pss", 0)
            out["shmem_kib"] += st.get("RssShmem", 0)
        out["exe_copies"] = len(out.pop("exe_inodes"))
        out["memcg_kib"] = self.memcg_usage() // 1024
        return out

    def memcg_usage(self):
        for p, t, o in cgroup_mounts():
            if t == "cgroup" and "memory" in o.split(","):
                return self.read_int(os.path.join(p, self.cg, "memory.usage_in_bytes"))
            if t == "cgroup2" and p == "/sys/fs/cgroup":
                return self.read_int(os.path.join(p, self.cg, "memory.current"))
        return 0

    @staticmethod
    def read_int(path):
        try:
            with open(path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def add_scale(self, load, rt, r, fails, left, mem=None):
        lat = [c["wall"] / 1000 for c in r["C"] if c["rc"] == 0] or [0]
        n = len(r["C"])
        self.scale.append(dict(load=load, label=rt.label, n=n, fails=fails, wall_s=r["T"]["wall"] / 1e6,
                               cpu_s=r["T"]["cpu"] / 1e6, cpu_per_op_ms=r["T"]["cpu"] / 1000 / max(1, n),
                               p50=pct(lat, .5), p90=pct(lat, .9), p99=pct(lat, .99),
                               rss=max(c["rss"] for c in r["C"]) if r["C"] else 0,
                               leftovers=sum(left.values()), mem=mem))

    # ---- leftovers
    def cgroup_procs(self, slot):
        n = 0
        for p, _, _ in cgroup_mounts():
            f = os.path.join(p, self.cg, slot, "cgroup.procs")
            if os.path.exists(f):
                with open(f) as fh:
                    n = max(n, len(fh.read().split()))
        return n

    @staticmethod
    def count_files(d):
        return sum(len(fs) + len(ds) for _, ds, fs in os.walk(d))

    @staticmethod
    def dir_usage(d):
        size = files = 0
        for base, _, fs in os.walk(d):
            for f in fs:
                st = os.lstat(os.path.join(base, f))
                size += st.st_blocks * 512
                files += 1
        return size, files

    def check_leftovers(self, phase, rt):
        """Containers, state entries, cgroups, processes and mounts left by RT."""
        prefix = rt.label + "-"
        cg_dirs = 0
        for p, _, _ in cgroup_mounts():
            top = os.path.join(p, self.cg)
            if os.path.isdir(top):
                cg_dirs += sum(1 for d in os.listdir(top) if d.startswith(prefix))
        procs = self.procs_in_cgroups(prefix)
        now = collections.Counter((p, t) for p, t, _ in mountinfo())
        mounts = sum((now - self.mount_baseline).values())  # mounts the bench did not make
        left = {"containers": len(rt.ids()), "state entries": len(os.listdir(rt.root)), "cgroups": cg_dirs,
                "processes": len(procs), "mounts": mounts}
        self.leftovers[(phase, rt.label)] = left
        if any(left.values()):
            self.failures.append("leftovers after %s %s: %s%s" % (phase, rt.label, left, " " + " ".join(procs) if procs else ""))
            for cid in rt.ids():
                rt.force_delete(cid)
        return left

    def procs_in_cgroups(self, prefix):
        """'pid:comm:state' of the live processes in a cgroup /<bench cgroup>/PREFIX*."""
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cgroup" % pid) as f:
                    if ("/%s/%s" % (self.cg, prefix)) not in f.read():
                        continue
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read()
                comm, state = st[st.index("(") + 1:st.rindex(")")], st[st.rindex(")") + 2]
                if state not in "ZX":
                    out.append("%s:%s:%s" % (pid, comm, state))
            except (OSError, ValueError, IndexError):
                pass
        return out

    def test(self, name, ok, detail=""):
        self.tests.append((name, ok, detail))

    # ---- cleanup
    def cleanup(self):
        for rt in self.runtimes:
            for cid in rt.ids():
                rt.force_delete(cid)
        for _ in range(10):
            left = False
            for p, _, _ in cgroup_mounts():
                top = os.path.join(p, self.cg)
                for base, dirs, _ in sorted(os.walk(top), key=lambda x: -len(x[0])):
                    try:
                        os.rmdir(base)
                    except OSError:
                        left = True
            if not left:
                break
            time.sleep(0.2)
        else:
            log("warning: could not remove cgroup %s everywhere" % self.cg)
        sh(["umount", os.path.join(self.w, "state")])
        shutil.rmtree(self.w, ignore_errors=True)


# ------------------------------------------------------------------ report ---
def fmt(v, digits=2):
    return "-" if v is None else ("%.*f" % (digits, v))


class Report:
    def __init__(self, b):
        self.b = b
        self.labels = [rt.label for rt in b.runtimes]
        self.kiln = next((l for l in self.labels if "kiln" in l), self.labels[0] if self.labels else None)
        self.crun = next((l for l in self.labels if l.startswith("crun")), None)

    def stat(self, op, label, key="cpu", p=None):
        s = [x[key] for x in self.b.samples.get((op, label), []) if x.get(key, -1) >= 0]
        if not s:
            return None
        return (pct(s, p) if p else median(s)) / 1000

    def count(self, metric, label):
        v = self.b.values.get((metric, label))
        return median(v) if v else None

    def ops(self):
        n = self.b.a
        ops = OPS + ["list%d" % n.list, "state%d" % n.list, "run%d" % n.conc, "list%d" % n.creates,
                     "state%d" % n.creates]
        return list(dict.fromkeys(ops))

    def summary(self):
        who = self.labels + (["ref"] if self.b.have_ref else [])
        hdr = ["op"] + ["%s cpu" % l for l in who] + ["%s wall" % l for l in self.labels]
        ratios = []
        if self.crun and self.kiln != self.crun:
            ratios.append((self.kiln, self.crun))
        if self.b.have_ref:
            ratios.append((self.kiln, "ref"))
        hdr += ["%s/%s cpu" % r for r in ratios] + ["%s/%s wall" % r for r in ratios if r[1] == "ref"]
        rows = []
        for op in self.ops():
            if not any((op, l) in self.b.samples for l in who):
                continue
            cpu = {l: self.stat(op, l) for l in who}
            wall = {l: self.stat(op, l, "wall") for l in who}
            row = [op] + [fmt(cpu[l]) for l in who] + [fmt(wall[l]) for l in self.labels]
            row += [fmt(cpu[a] / cpu[c]) if cpu.get(a) and cpu.get(c) else "-" for a, c in ratios]
            row += [fmt(wall[a] / wall[c]) if wall.get(a) and wall.get(c) else "-" for a, c in ratios if c == "ref"]
            rows.append(row)
        return table(hdr, rows)

    def detail(self):
        hdr = ["op", "runtime", "n", "cpu med", "p90", "p99", "wall med", "p90", "p99", "user %",
               "faults", "peak RSS KiB", "syscalls"]
        rows = []
        for op in self.ops():
            for l in self.labels + ["ref", "ref-min", "noop"]:
                s = self.b.samples.get((op, l))
                if not s:
                    continue
                u = sum(x["cpu_user"] for x in s if x["cpu_user"] >= 0)
                t = sum(x["cpu_user"] + x["cpu_sys"] for x in s if x["cpu_user"] >= 0)
                rows.append([op, l, str(len(s)), fmt(self.stat(op, l)), fmt(self.stat(op, l, p=.9)),
                             fmt(self.stat(op, l, p=.99)), fmt(self.stat(op, l, "wall")),
                             fmt(self.stat(op, l, "wall", .9)), fmt(self.stat(op, l, "wall", .99)),
                             fmt(100.0 * u / t, 0) if t and len(s) >= 20 else "-",
                             fmt(median([x["faults"] for x in s]), 0),
                             fmt(median([x["rss"] for x in s]), 0),
                             fmt(self.count("syscalls:" + op, l), 0)])
        return table(hdr, rows)

    def syscalls(self):
        ops = OPS + ["list%d" % self.b.a.list]
        who = self.labels + ["ref", "ref-min"]
        rows = []
        for op in ops:
            if not any(("syscalls:" + op, l) in self.b.values for l in who):
                continue
            rows.append([op] + [fmt(self.count("syscalls:" + op, l), 0) for l in who])
        return table(["syscalls (strace -f -c)"] + who, rows) if rows else ""

    def scale(self):
        hdr = ["load", "runtime", "ops", "failed", "wall s", "cpu s", "cpu/op ms", "latency p50/p90/p99 ms",
               "peak RSS KiB", "leftovers"]
        rows = [[r["load"], r["label"], str(r["n"]), str(r["fails"]), fmt(r["wall_s"]), fmt(r["cpu_s"]),
                 fmt(r["cpu_per_op_ms"]), "%s / %s / %s" % (fmt(r["p50"], 1), fmt(r["p90"], 1), fmt(r["p99"], 1)),
                 str(r["rss"]), str(r["leftovers"])] for r in self.b.scale]
        return table(hdr, rows) if rows else ""

    def memory(self):
        md = getattr(self.b, "mem_detail", {})
        if not md:
            return ""
        hdr = ["parked inits", "n", "memcg KiB/container", "init RSS KiB", "init PSS KiB", "init shmem KiB",
               "exe copies (size)", "init exe", "state dir B/container", "MemAvailable drop MiB (noisy)"]
        rows = []
        for l, m in md.items():
            n = max(1, m["inits"])
            rows.append([l, str(m["inits"]), fmt(m["memcg_kib"] / n, 0),
                         fmt(m["rss_kib"] / n, 0), fmt(m["pss_kib"] / n, 0), fmt(m["shmem_kib"] / n, 0),
                         "%d (%s KiB)" % (m["exe_copies"], m.get("exe_size", 0) // 1024), m["exe"] or "-",
                         fmt(m["state_bytes"] / n, 0), fmt(m["avail_delta_kib"] / 1024, 0)])
        return table(hdr, rows)

    def leftovers(self):
        hdr = ["after", "runtime", "containers", "state entries", "cgroups", "processes", "mounts"]
        rows = [[ph, l] + [str(v[k]) for k in ("containers", "state entries", "cgroups", "processes", "mounts")]
                for (ph, l), v in self.b.leftovers.items()]
        return table(hdr, rows) if rows else ""


def table(hdr, rows):
    out = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def render(b, cmdline, env):
    r = Report(b)
    parts = ["# kbench results", "", "Command: `%s`" % cmdline, ""]
    parts += ["* " + e for e in env + b.notes]
    parts += ["", "## Per op: median CPU and wall ms", "",
              "cpu = CPU charged to the accounting cgroup (the runtime's processes and the container's), "
              "wall = fork to reap; ref = kbref (kernel work only).", "", r.summary()]
    parts += ["## Per op in detail", "", r.detail()]
    for title, body in (("Syscalls per op (median)", r.syscalls()), ("Loads at scale", r.scale()),
                        ("Memory of N parked (created) containers", r.memory()), ("Leftovers", r.leftovers())):
        if body:
            parts += ["## " + title, "", body]
    if b.failures:
        parts += ["## Failures (%d)" % len(b.failures), ""] + ["* " + f for f in b.failures[:50]] + [""]
    return "\n".join(parts)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runtimes", nargs="*", help="LABEL=PATH, name or path (default: build/kiln, crun, runc)")
    p.add_argument("--smoke", action="store_true",
                   help="CI: 3 rounds, 10-exec storm, 20 creates, kiln only unless runtimes given; "
                        "prints ok/not ok lines and 'bench: N passed, N failed' (never fails on timing)")
    p.add_argument("-t", "--time", type=float, default=60, help="seconds of per-op rounds (default 60)")
    p.add_argument("-n", "--rounds", type=int, default=0, help="fixed number of per-op rounds instead of -t")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--storm", type=int, default=1000, help="execs in the exec storm (default 1000)")
    p.add_argument("--storm-par", type=int, default=10, help="execs at a time (default 10)")
    p.add_argument("--creates", type=int, default=1000, help="containers created at scale (default 1000)")
    p.add_argument("--create-par", type=int, default=100, help="creates/deletes at a time (default 100)")
    p.add_argument("--list", type=int, default=200, help="containers for the interleaved list test (default 200)")
    p.add_argument("--list-rounds", type=int, default=10)
    p.add_argument("--conc", type=int, default=50, help="concurrent runs (default 50)")
    p.add_argument("--conc-rounds", type=int, default=3)
    p.add_argument("--masked", type=int, default=200, help="extra maskedPaths of run_masked (default 200)")
    p.add_argument("--counts", type=int, default=1, help="strace repetitions per op (default 1)")
    p.add_argument("--phases", default="main,counts,list,conc,scale")
    p.add_argument("-o", "--out", help="directory for results.md and raw.json")
    p.add_argument("--state-on-disk", action="store_true",
                   help="keep the --root state dirs in the work dir's file system instead of a tmpfs")
    p.add_argument("--keep-unified", action="store_true", help="hybrid host: do not hide cgroup2 (crun left out)")
    p.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"), help=argparse.SUPPRESS)
    p.add_argument("--busybox", default=os.environ.get("BUSYBOX", "/bin/busybox"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.smoke:
        a.rounds, a.warmup = a.rounds or 3, 1
        a.storm, a.creates, a.create_par = min(a.storm, 10), min(a.creates, 20), min(a.create_par, 10)
        a.list, a.list_rounds, a.conc, a.conc_rounds, a.masked = 20, 2, 5, 1, 20
        if "counts" in a.phases and not shutil.which("strace"):
            a.phases = a.phases.replace("counts", "")
        if not a.runtimes:
            a.runtimes = ["kiln=" + a.kiln]
    return a


def main():
    a = parse_args(sys.argv[1:])
    if os.geteuid() != 0:
        sys.exit("kbench: must run as root")
    if os.environ.get("KBENCH_IN_NS") != "1":
        env = dict(os.environ, KBENCH_IN_NS="1")
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", "--", sys.executable,
                               os.path.abspath(__file__)] + sys.argv[1:], env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench(a)
    busy0, t0 = busy_ms(), time.monotonic()
    try:
        b.setup()
        env = ["host: %s, %d cpus, load %s" % (" ".join(os.uname()[2:3]), os.cpu_count(),
                                               open("/proc/loadavg").read().split()[0])]
        env += ["%s: %s (%s), %d KiB" % (rt.label, rt.path, rt.version(), os.path.getsize(rt.path) // 1024)
                for rt in b.runtimes]
        ours0 = b.read_acct()
        if b.sanity():
            phases = a.phases.split(",")
            for name in ("main", "counts", "list", "conc", "scale"):
                if name in phases:
                    log("phase " + name)
                    getattr(b, name + "_phase")()
        el = time.monotonic() - t0
        ours = (b.read_acct() - ours0) / 1000
        others = max(0.0, (busy_ms() - busy0 - ours) / (el * 1000))
        env.append("bench took %.0f s; CPU of other tenants meanwhile: %.2f of %d cores%s"
                   % (el, others, os.cpu_count(), " (NOISY: medians only, ratios compressed)" if others > 0.3 else ""))
        text = render(b, "bench/run.sh " + " ".join(sys.argv[1:]), env)
        print(text)
        if a.out:
            os.makedirs(a.out, exist_ok=True)
            with open(os.path.join(a.out, "results.md"), "w") as f:
                f.write(text)
            with open(os.path.join(a.out, "raw.json"), "w") as f:
                json.dump({"samples": {"%s %s" % k: v for k, v in b.samples.items()},
                           "values": {"%s %s" % k: v for k, v in b.values.items()},
                           "syscall_tables": {"%s %s" % k: v for k, v in getattr(b, "syscall_tables", {}).items()},
                           "scale": b.scale, "failures": b.failures, "notes": b.notes}, f, indent=1, default=str)
    finally:
        b.cleanup()
    if a.smoke:
        for name, ok, detail in b.tests:
            print("%s - bench %s (%s)" % ("ok" if ok else "not ok", name, detail))
        b.test("no failed ops or leftovers at all", not b.failures, "%d failures" % len(b.failures))
        for name, ok, detail in b.tests[-1:]:
            print("%s - bench %s (%s)" % ("ok" if ok else "not ok", name, detail))
        n_ok = sum(1 for _, ok, _ in b.tests if ok)
        n_bad = len(b.tests) - n_ok
        print("bench: %d passed, %d failed" % (n_ok, n_bad))
        sys.exit(1 if n_bad else 0)
    sys.exit(3 if b.failures else 0)


if __name__ == "__main__":
    main()
