"""A private RabbitMQ node on this machine, beside the district's, for fault drills.

The fault tests and `tongban chaos` stop, crash and restart "the district's broker". On a
machine whose main node other people use, that must be a node of our own: this starts
one with its own node name, AMQP, distribution and management ports, data and log
folders, enabled plugins file (the management plugin, through which the stations' broker
users are made) and feature-flags file, and its own config and env files (so nothing is
read from /etc/rabbitmq, whose listener is the main node's port).

    node = BrokerNode.start_new()        # a fresh node on free ports
    node.amqp_uri                        # amqp://guest:guest@127.0.0.1:<port>/<vhost>
    node.management_url                  # http://127.0.0.1:<management port>
    node = BrokerNode.start_new(tls=TlsFiles(ca, cert, key))   # also a TLS listener:
    node.amqps_uri                       # amqps://guest:guest@127.0.0.1:<TLS port>/<vhost>
    node.restart(down_seconds=3)         # stop the whole node, wait, start it again
    node.restart(hard=True)              # SIGKILL the node's VM, start it again
    node.destroy()                       # stop it and remove its folder

With `tls`, the node also listens for AMQP over TLS (as port 5671 in production,
deploy/compose/rabbitmq.conf): its certificate and key are `tls.cert` and `tls.key`, and
it verifies each client's certificate against `tls.ca`, refusing a client without one.
The plain port stays open on 127.0.0.1 for the administrator and the fault drills.

When run as root the folders (the copies of the TLS files included) are handed to the
`rabbitmq` user, as the packaged `rabbitmq-server` wrapper runs the node as that user.
Persistent messages in durable queues survive every kind of restart: the data folder is
kept until `destroy()`.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RABBITMQ_SERVER = os.environ.get("TONGBAN_RABBITMQ_SERVER", "rabbitmq-server")
RABBITMQCTL = os.environ.get("TONGBAN_RABBITMQCTL", "rabbitmqctl")


def _free_port(low, high):
    """A free port picked at random: a node that is down for a moment during a drill
    must not find its port taken by the next node someone else starts."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}..{high}")


def _port_open(port, host="127.0.0.1"):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class BrokerNodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class TlsFiles:
    """A node's TLS listener: the CA its clients' certificates must be signed by, and the
    node's own certificate (PEM, with any intermediate CAs after it) and private key."""
    ca: str
    cert: str
    key: str


class BrokerNode:
    def __init__(self, name, port, dist_port, base_dir, host="localhost", management_port=None, tls=None,
                 tls_port=None):
        self.name = name
        self.tls = tls
        self.tls_port = tls_port if tls else None
        self.management_port = management_port
        self.management_url = f"http://127.0.0.1:{management_port}" if management_port else None
        self.node = f"{name}@{host}"
        self.port = port
        self.dist_port = dist_port
        self.base_dir = Path(base_dir)
        # a virtual host of its own: should another node ever listen on this port while
        # this one is down, clients are refused there instead of talking to a stranger
        self.vhost = name
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{port}/{self.vhost}"
        self._watchdog = None

    @property
    def amqps_uri(self):
        """The TLS listener's URI (guest may log in: it is a connection from 127.0.0.1)."""
        if not self.tls:
            raise BrokerNodeError(f"{self.node} has no TLS listener: start it with tls=TlsFiles(...)")
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/{self.vhost}"

    @classmethod
    def start_new(cls, prefix="tongban_drill", timeout=90, watch_parent=True, tls=None):
        """Start a fresh node on free ports; with `watch_parent`, a small watchdog stops
        it if this process dies without cleaning up; with `tls` (TlsFiles), a TLS
        listener too (`amqps_uri`)."""
        name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        # the CLI tools talk to a node from ports dist_port+10000..+10010: keep below 55000
        port = _free_port(20000, 30000)
        dist_port = _free_port(30000, 45000)
        node = cls(name, port, dist_port, tempfile.mkdtemp(prefix=f"{name}-"),
                   management_port=_free_port(45000, 50000), tls=tls,
                   tls_port=_free_port(20000, 30000) if tls else None)
        node.write_files()
        node.start(timeout)
        node.ctl("add_vhost", node.vhost)
        node.ctl("set_permissions", "-p", node.vhost, "guest", ".*", ".*", ".*")
        if watch_parent:
            node.watch_parent()
        return node

    # -- files -----------------------------------------------------------------------
    @property
    def pid_file(self):
        return self.base_dir / "node.pid"

    def write_files(self):
        (self.base_dir / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.base_dir / "log").mkdir(exist_ok=True)
        plugins = "[rabbitmq_management]" if self.management_port else "[]"
        (self.base_dir / "enabled_plugins").write_text(f"{plugins}.\n")
        management = (f"management.tcp.port = {self.management_port}\nmanagement.tcp.ip = 127.0.0.1\n"
                      if self.management_port else "")
        (self.base_dir / "rabbitmq.conf").write_text(
            management + self._tls_config() +
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            # the default 50 MB disk alarm would block publishers on a nearly full disk
            "disk_free_limit.absolute = 10MB\n")
        (self.base_dir / "rabbitmq-env.conf").write_text(
            "ERL_EPMD_ADDRESS=127.0.0.1\n"
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n')
        self.base_dir.chmod(0o755)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.base_dir)], check=True)

    def _tls_config(self):
        """The TLS listener's lines of rabbitmq.conf, with copies of the TLS files in the
        node's folder (readable by the user the node runs as)."""
        if not self.tls:
            return ""
        folder = self.base_dir / "tls"
        folder.mkdir(exist_ok=True)
        copies = {}
        for kind, source, mode in (("ca", self.tls.ca, 0o644), ("cert", self.tls.cert, 0o644),
                                   ("key", self.tls.key, 0o600)):
            copies[kind] = folder / f"{kind}.pem"
            shutil.copyfile(source, copies[kind])
            copies[kind].chmod(mode)
        return (f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
                f"ssl_options.cacertfile = {copies['ca']}\n"
                f"ssl_options.certfile = {copies['cert']}\n"
                f"ssl_options.keyfile = {copies['key']}\n"
                # a client must show a certificate signed by the CA, or it is refused
                "ssl_options.verify = verify_peer\n"
                "ssl_options.fail_if_no_peer_cert = true\n")

    def env(self):
        env = dict(os.environ)
        b = self.base_dir
        env.update({
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(b / "mnesia"),
            "RABBITMQ_LOG_BASE": str(b / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(b / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(b / "feature_flags"),
            "RABBITMQ_CONFIG_FILE": str(b / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(b / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        })
        return env

    # -- control ---------------------------------------------------------------------
    def ctl(self, *args, timeout=60, check=True):
        result = subprocess.run([RABBITMQCTL, "-n", self.node, *args], env=self.env(),
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise BrokerNodeError(f"rabbitmqctl {' '.join(args)} on {self.node}: "
                                  f"{(result.stderr or result.stdout).strip()[-600:]}")
        return result

    def pid(self):
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def vm_alive(self):
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def running(self):
        return self.vm_alive() and _port_open(self.port)

    def start(self, timeout=90):
        """Start the node (its data is kept from any earlier run) and wait until it
        accepts AMQP connections."""
        if self.running():
            return
        try:
            self.pid_file.unlink()
        except OSError:
            pass
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=self.env(), check=True,
                       capture_output=True, timeout=30)
        # `await_startup` answers once this node (by name, so not some other node on the
        # port) has booted, listener included; it fails at once while the node has not
        # registered yet, hence the loop. A node that cannot boot (say, its port taken)
        # exits: reported with its log.
        deadline = time.monotonic() + timeout
        while True:
            left = int(deadline - time.monotonic())
            if left <= 0:
                raise BrokerNodeError(f"{self.node} did not start within {timeout} s:\n{self.log_tail(15)}")
            if self.pid_file.exists() and not self.vm_alive():
                raise BrokerNodeError(f"{self.node} exited while starting:\n{self.log_tail(15)}")
            if self.ctl("await_startup", "--timeout", str(left), timeout=left + 10, check=False).returncode == 0:
                return
            time.sleep(0.5)

    def stop(self, timeout=60):
        """Stop the whole node (the Erlang VM exits); its data stays for the next start."""
        if not self.vm_alive():
            return
        pid = self.pid()
        result = self.ctl("stop", str(self.pid_file), timeout=timeout, check=False)
        if result.returncode != 0 and pid is not None:
            self._kill_vm(pid)
        self._wait_vm_gone(pid, timeout)

    def kill(self):
        """Crash the node: SIGKILL its Erlang VM (unlike stop(), nothing is flushed
        politely; confirmed persistent messages are on disk all the same)."""
        pid = self.pid()
        if pid is not None and self.vm_alive():
            self._kill_vm(pid)
            self._wait_vm_gone(pid, 30)

    def restart(self, down_seconds=0.0, hard=False, timeout=90):
        """Stop (or, `hard`, kill) the node, keep it down `down_seconds`, start it again.
        Returns how long the broker was unreachable, in seconds."""
        began = time.monotonic()
        self.kill() if hard else self.stop()
        if down_seconds:
            time.sleep(down_seconds)
        self.start(timeout)
        return time.monotonic() - began

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")

    def destroy(self):
        """Stop the node and remove its folder."""
        try:
            self.stop()
        finally:
            if self._watchdog is not None and self._watchdog.poll() is None:
                self._watchdog.kill()
                self._watchdog.wait(5)
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def watch_parent(self):
        """Stop the node (and remove its folder) when this process is gone, however it
        ended; a small shell that polls for it every 2 seconds."""
        script = (f'while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; '
                  f'{RABBITMQCTL} -n {self.node} stop {self.pid_file} >/dev/null 2>&1; '
                  f'rm -rf "{self.base_dir}"')
        self._watchdog = subprocess.Popen(["sh", "-c", script], env=self.env(),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)

    @staticmethod
    def _kill_vm(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _wait_vm_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def log_tail(self, lines=30):
        path = self.base_dir / "log" / f"{self.node}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
