"""Run a command with a RabbitMQ node of its own.

    python -m deploy.drills.own_broker -- .venv/bin/python -m pytest ...

Starts a private node on free ports (deploy/drills/harness.BrokerNode, with its management
API), points the command at it (TONGBAN_TEST_AMQP_URI, TONGBAN_AMQP_URI,
TONGBAN_MANAGEMENT_URL), passes SIGTERM and SIGINT on to the command, stops the node when
the command ends, and exits with the command's status. The node's watchdog stops it too,
should this process be killed. Set-up uses it to run the PostgreSQL pass of the tests beside
the SQLite pass: both passes start stations of the same codes, whose queues and broker
users must not meet on one broker.
"""
import os
import signal
import subprocess
import sys

from deploy.drills.harness import BrokerNode


def main(argv):
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: python -m deploy.drills.own_broker -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    node = BrokerNode.start_new(prefix="tongban_pass")
    try:
        env = dict(os.environ, TONGBAN_TEST_AMQP_URI=node.amqp_uri, TONGBAN_AMQP_URI=node.amqp_uri,
                   TONGBAN_MANAGEMENT_URL=node.management_url)
        child = subprocess.Popen(command, env=env)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda received, frame: child.send_signal(received))
        return child.wait()
    finally:
        node.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
