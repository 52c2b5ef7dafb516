#!/usr/bin/python3
"""tests/cri/cri_client.py - a small CRI v1 client: drives one pod through a
CRI server (containerd's CRI plugin) the way kubelet does, and checks what
the OCI runtime behind the runtime handler did.

  cri_client.py --gen DIR --socket SOCK --handler H --image IMG SCENARIO
  SCENARIO: pod  a sandbox, two containers (web: busybox httpd on the host's
                 loopback; worker: env, workdir, limits), ExecSync (probes,
                 exit codes, timeout), ContainerStats, UpdateContainerResources,
                 ListContainers/ContainerStatus, StopPodSandbox,
                 RemovePodSandbox
            km   the handler runs app containers under km: the app container
                 is, the sandbox (pause) container is not; ExecSync too

DIR holds cri_pb2.py/cri_pb2_grpc.py, compiled from tests/cri/cri.proto.
Prints "ok STEP" per step, "FAIL STEP: WHY" and exits 1 at the first
failure; the pod is stopped and removed in every case.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

import grpc

STEP = ["setup"]


class Failed(Exception):
    pass


def step(name):
    STEP[0] = name


def ok(detail=""):
    print("ok %s%s" % (STEP[0], (": " + detail) if detail else ""), flush=True)


def check(cond, why):
    if not cond:
        raise Failed(why)


class Client:
    def __init__(self, args, pb, pbg):
        self.a, self.pb = args, pb
        ch = grpc.insecure_channel("unix://" + args.socket)
        grpc.channel_ready_future(ch).result(timeout=20)
        self.rt = pbg.RuntimeServiceStub(ch)
        self.img = pbg.ImageServiceStub(ch)
        self.pod = None

    # ------------------------------------------------------------ helpers
    def sandbox_config(self, name):
        pb, a = self.pb, self.a
        logdir = os.path.join(a.log_dir, name)
        os.makedirs(logdir, exist_ok=True)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid="uid-" + name, namespace="kiln-cri", attempt=0),
            # host network: the host's UTS namespace too, so no hostname
            log_directory=logdir,
            labels={"app": name},
            annotations=dict(kv.split("=", 1) for kv in a.pod_annotation),
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=a.cgroup_parent + "/" + name,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD))))

    def run_pod(self, name):
        self.cfg = self.sandbox_config(name)
        r = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=self.cfg, runtime_handler=self.a.handler),
                                  timeout=60)
        self.pod = r.pod_sandbox_id
        return self.pod

    def create(self, name, cmd, env=None, workdir="", resources=None, mounts=()):
        pb = self.pb
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name),
            image=pb.ImageSpec(image=self.a.image),
            command=cmd,
            working_dir=workdir,
            envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            mounts=[pb.Mount(container_path=c, host_path=h) for c, h in mounts],
            labels={"container": name},
            log_path=name + ".log",
            linux=pb.LinuxContainerConfig(resources=resources))
        r = self.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=self.pod, config=cfg,
                                                              sandbox_config=self.cfg), timeout=60)
        return r.container_id

    def exec_sync(self, cid, cmd, timeout=10):
        r = self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                             timeout=timeout + 30)
        return r.exit_code, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def containers(self):
        f = self.pb.ContainerFilter(pod_sandbox_id=self.pod)
        return self.rt.ListContainers(self.pb.ListContainersRequest(filter=f), timeout=30).containers

    def state(self, cid):
        s = self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid), timeout=30).status
        return s

    def sandbox_info(self):
        r = self.rt.PodSandboxStatus(self.pb.PodSandboxStatusRequest(pod_sandbox_id=self.pod, verbose=True),
                                     timeout=30)
        return r.status, json.loads(r.info.get("info", "{}"))

    def cleanup(self):
        if not self.pod:
            return
        try:
            self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=self.pod), timeout=60)
            self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=self.pod), timeout=60)
        except grpc.RpcError as e:
            print("# cleanup of pod %s: %s" % (self.pod, e.details()), flush=True)
        self.pod = None

    # ------------------------------------------------- what the runtime did
    def runtime_list(self):
        """ids the handler's runtime binary knows in its state root"""
        if not self.a.runtime_bin:
            return None
        out = subprocess.run([self.a.runtime_bin, "--root", self.a.runtime_root, "list", "--format", "json"],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, "%s list: %s" % (self.a.runtime_bin, out.stderr.strip()))
        return {c["id"]: c for c in (json.loads(out.stdout or "[]") or [])}

    def runtime_state(self, cid):
        out = subprocess.run([self.a.runtime_bin, "--root", self.a.runtime_root, "state", cid],
                             capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, "%s state %s: %s" % (self.a.runtime_bin, cid, out.stderr.strip()))
        return json.loads(out.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LIMITS = ('c=/sys/fs/cgroup; if [ -f $c/memory/memory.limit_in_bytes ]; then m=$(cat $c/memory/memory.limit_in_bytes);'
          ' else m=$(cat $c/memory.max); fi; for d in $c/cpu $c/cpu,cpuacct; do [ -f $d/cpu.cfs_quota_us ] &&'
          ' q=$(cat $d/cpu.cfs_quota_us)/$(cat $d/cpu.cfs_period_us); done; [ -n "$q" ] || q=$(tr " " / <$c/cpu.max);'
          ' echo "mem=$m cpu=$q"')


def host_cgroup_file(parent, cid, v1, v2):
    """a container's cgroup file on the host, v1 (memory controller) or v2"""
    for p in ("/sys/fs/cgroup/memory%s/%s/%s" % (parent, cid, v1), "/sys/fs/cgroup%s/%s/%s" % (parent, cid, v2)):
        if os.path.exists(p):
            return open(p).read().strip()
    return None


def scenario_pod(c, pb, a):
    step("Version")
    v = c.rt.Version(pb.VersionRequest(version="v1"), timeout=30)
    check(v.runtime_api_version == "v1", "runtime_api_version %r" % v.runtime_api_version)
    ok("%s %s" % (v.runtime_name, v.runtime_version))

    step("ImageStatus")
    im = c.img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=a.image)), timeout=30).image
    check(im.id, "image %s not known to the CRI server" % a.image)
    ok()

    step("RunPodSandbox")
    pod = c.run_pod(a.name)
    st, info = c.sandbox_info()
    check(st.state == pb.SANDBOX_READY, "sandbox state %s" % pb.PodSandboxState.Name(st.state))
    check(st.runtime_handler == a.handler, "handler %r" % st.runtime_handler)
    ok(pod[:12])

    step("CreateContainer x2")
    port = free_port()
    web = c.create("web", ["sh", "-c", "echo web-up; exec httpd -f -p 127.0.0.1:%d -h /var/www" % port])
    res = pb.LinuxContainerResources(cpu_period=100000, cpu_quota=50000, memory_limit_in_bytes=64 << 20)
    worker = c.create("worker", ["sh", "-c", "echo worker-up; trap 'exit 0' TERM; while :; do sleep 0.2; done"],
                      env={"KFOO": "bar"}, workdir="/tmp", resources=res)
    check(len(c.containers()) == 2, "ListContainers: %d containers" % len(c.containers()))
    check(c.state(worker).state == pb.CONTAINER_CREATED, "worker not CREATED")
    ok()

    step("StartContainer")
    for cid in (web, worker):
        c.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
    states = {x.id: x.state for x in c.containers()}
    check(states == {web: pb.CONTAINER_RUNNING, worker: pb.CONTAINER_RUNNING}, "states %s" % states)
    ok()

    step("runtime state")
    if a.runtime_bin:
        known = c.runtime_list()
        for cid, what in ((pod, "sandbox"), (web, "web"), (worker, "worker")):
            check(cid in known, "%s (%s) not in %s --root %s list" % (what, cid[:12], a.runtime_bin, a.runtime_root))
            check(known[cid]["status"] == "running", "%s is %s" % (what, known[cid]["status"]))
        ok("sandbox and both containers run by %s" % os.path.basename(a.runtime_bin))

    step("ExecSync")
    rc, out, err = c.exec_sync(worker, ["sh", "-c", "echo $KFOO:$PWD:$(id -u); echo to-err >&2; exit 3"])
    check((rc, out, err) == (3, "bar:/tmp:0\n", "to-err\n"), "got rc=%d out=%r err=%r" % (rc, out, err))
    ok()

    step("ExecSync probe")
    rc1 = c.exec_sync(worker, ["test", "-e", "/tmp/ready"])[0]
    c.exec_sync(worker, ["touch", "/tmp/ready"])
    rc2 = c.exec_sync(worker, ["test", "-e", "/tmp/ready"])[0]
    check((rc1, rc2) == (1, 0), "probe exit codes %s, want (1, 0)" % ((rc1, rc2),))
    for i in range(50):
        rc, out, _ = c.exec_sync(worker, ["wget", "-q", "-O", "-", "http://127.0.0.1:%d/" % port])
        if rc == 0:
            break
        time.sleep(0.2)
    check(rc == 0 and "kiln-engines httpd" in out, "http probe of web from worker: rc=%d %r" % (rc, out))
    ok("exec probe 1 then 0; web answers on 127.0.0.1:%d" % port)

    step("ExecSync timeout")
    t0 = time.time()
    try:
        rc, _, _ = c.exec_sync(worker, ["sleep", "30"], timeout=1)
        timed_out = False
    except grpc.RpcError as e:
        timed_out = "timeout" in (e.details() or "").lower() or e.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    dt = time.time() - t0
    check(timed_out and dt < 15, "exec of sleep 30 with timeout 1: timed_out=%s after %.1fs" % (timed_out, dt))
    ok("%.1fs" % dt)

    step("ContainerStats")
    s = c.rt.ContainerStats(pb.ContainerStatsRequest(container_id=worker), timeout=30).stats
    check(s.attributes.id == worker, "stats of %r" % s.attributes.id)
    check(s.memory.working_set_bytes.value > 0, "memory working set 0")
    check(s.cpu.usage_core_nano_seconds.value > 0, "cpu usage 0")
    ok("mem %d B, cpu %d ns" % (s.memory.working_set_bytes.value, s.cpu.usage_core_nano_seconds.value))

    step("limits")
    rc, out, _ = c.exec_sync(worker, ["sh", "-c", LIMITS])
    check(out.strip() == "mem=67108864 cpu=50000/100000", "inside: %r" % out)
    hm = host_cgroup_file(a.cgroup_parent + "/" + a.name, worker, "memory.limit_in_bytes", "memory.max")
    check(hm == "67108864", "host cgroup of worker under %s/%s: %r" % (a.cgroup_parent, a.name, hm))
    ok()

    step("UpdateContainerResources")
    c.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=worker, linux=pb.LinuxContainerResources(cpu_period=100000, cpu_quota=100000,
                                                              memory_limit_in_bytes=32 << 20)), timeout=30)
    rc, out, _ = c.exec_sync(worker, ["sh", "-c", LIMITS])
    check(out.strip() == "mem=33554432 cpu=100000/100000", "after update: %r" % out)
    ok()

    step("ContainerStatus")
    s = c.state(worker)
    check(s.state == pb.CONTAINER_RUNNING and s.started_at > 0, "worker %s" % pb.ContainerState.Name(s.state))
    log = open(s.log_path).read() if s.log_path and os.path.exists(s.log_path) else ""
    check("worker-up" in log, "no worker-up in the CRI log %s: %r" % (s.log_path, log[:200]))
    ok()

    step("StopPodSandbox")
    c.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=60)
    states = {x.id: x.state for x in c.containers()}
    check(set(states.values()) == {pb.CONTAINER_EXITED}, "states after stop %s" % states)
    st, _ = c.sandbox_info()
    check(st.state == pb.SANDBOX_NOTREADY, "sandbox %s after stop" % pb.PodSandboxState.Name(st.state))
    ok()

    step("RemovePodSandbox")
    c.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=60)
    c.pod = None
    left = c.rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=pod)),
                               timeout=30).containers
    check(not left, "%d containers left" % len(left))
    pods = c.rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(id=pod)), timeout=30).items
    check(not pods, "sandbox still listed")
    if a.runtime_bin:
        known = c.runtime_list()
        check(not {pod, web, worker} & set(known), "runtime still knows %s" % ({pod, web, worker} & set(known)))
    ok()


def scenario_km(c, pb, a):
    share = a.km_share
    log = os.path.join(share, "km.log")
    if os.path.exists(log):
        os.unlink(log)

    step("RunPodSandbox (km handler)")
    pod = c.run_pod(a.name)
    ok(pod[:12])

    step("app container under km")
    app = c.create("app", ["sh", "-c", "echo app-up; exec sleep 300"], env={"FAKE_KM_LOG": "/mnt/km.log"},
                   mounts=[("/mnt", share)])
    c.rt.StartContainer(pb.StartContainerRequest(container_id=app), timeout=60)
    rc, out, _ = c.exec_sync(app, ["ls", "/opt/kontain/bin"])
    check(rc == 0 and out.strip() == "km", "ls /opt/kontain/bin in the app: rc=%d %r" % (rc, out))
    text = open(log).read() if os.path.exists(log) else ""
    check("argv[1]=/bin/sh" in text.splitlines(), "km log has no argv[1]=/bin/sh: %r" % text[:300])
    st = c.runtime_state(app)
    check(st.get("annotations", {}).get("run.oci.handler") == "km", "app state annotations %s" % st.get("annotations"))
    ok()

    step("sandbox not under km")
    st = c.runtime_state(pod)
    ann = st.get("annotations", {})
    check(ann.get("io.kubernetes.cri.container-type") == "sandbox", "sandbox annotations %s" % ann)
    check(ann.get("run.oci.handler") != "km", "the sandbox has run.oci.handler=km")
    root = "/proc/%d/root" % st["pid"]
    check(not os.path.exists(root + "/opt/kontain/bin/km"), "km is mounted in the sandbox")
    cmd = open("/proc/%d/cmdline" % st["pid"], "rb").read().split(b"\0")[0].decode()
    check("km" not in os.path.basename(cmd), "sandbox pid 1 is %s" % cmd)
    ok("sandbox pid 1: %s" % cmd)

    step("ExecSync under km")
    n0 = open(log).read().count("argv[0]=")
    rc, out, _ = c.exec_sync(app, ["sh", "-c", "echo exec-ok; exit 4"])
    n1 = open(log).read().count("argv[0]=")
    check(rc == 4 and out.strip() == "exec-ok", "exec rc=%d out=%r" % (rc, out))
    check(n1 == n0 + 1, "exec not under km (km runs %d -> %d)" % (n0, n1))
    ok()

    step("StopPodSandbox, RemovePodSandbox")
    c.cleanup()
    ok()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--handler", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--name", default="kiln-pod")
    ap.add_argument("--cgroup-parent", default="/kiln-cri")
    ap.add_argument("--log-dir", default="/tmp")
    ap.add_argument("--runtime-bin", default="")
    ap.add_argument("--runtime-root", default="")
    ap.add_argument("--km-share", default="")
    ap.add_argument("--pod-annotation", action="append", default=[])
    ap.add_argument("scenario", choices=["pod", "km"])
    a = ap.parse_args()
    sys.path.insert(0, a.gen)
    import cri_pb2 as pb
    import cri_pb2_grpc as pbg
    c = None
    try:
        c = Client(a, pb, pbg)
        {"pod": scenario_pod, "km": scenario_km}[a.scenario](c, pb, a)
        return 0
    except Failed as e:
        print("FAIL %s: %s" % (STEP[0], e), flush=True)
    except grpc.RpcError as e:
        print("FAIL %s: %s: %s" % (STEP[0], e.code().name, e.details()), flush=True)
    except grpc.FutureTimeoutError:
        print("FAIL %s: no CRI server at %s" % (STEP[0], a.socket), flush=True)
    finally:
        if c:
            c.cleanup()
    return 1


if __name__ == "__main__":
    sys.exit(main())
