"""A second RabbitMQ node on this machine, for tests that stop, crash or restart "the
district's broker". Never the shared broker at 127.0.0.1:5672, which other test runs use
at the same time.

The node itself is deploy/broker_node.py (`tongban chaos` starts one too): its own node
name, ports, data, log, plugins and feature-flags files, started with
`rabbitmq-server -detached` and stopped with `rabbitmqctl stop`.

    with private_broker() as node:
        node.amqp_uri
        node.restart(down_seconds=3)      # stop the node, wait, start it again
        node.restart(hard=True)           # SIGKILL its Erlang VM, start it again

    with private_broker(tls=TlsFiles(ca, cert, key)) as node:
        node.amqps_uri                    # a TLS listener too, verifying client certificates
"""
import contextlib

from deploy.broker_node import BrokerNode, BrokerNodeError, TlsFiles  # noqa: F401


@contextlib.contextmanager
def private_broker(prefix="tongban_test", timeout=90, tls=None):
    """A fresh node on free ports (with `tls`, a TlsFiles, a TLS listener too); stopped
    and its folder removed afterwards (or, should the test process die, by the node's
    watchdog)."""
    node = BrokerNode.start_new(prefix=prefix, timeout=timeout, tls=tls)
    try:
        yield node
    finally:
        node.destroy()
