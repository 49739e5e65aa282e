"""`tongban dead-letters`: see the messages stations gave up on, and send them back.

    tongban dead-letters list [--station CODE] [--json]
    tongban dead-letters retry ID... [--station CODE]
    tongban dead-letters retry --all [--station CODE]

The messages stay in the broker's `<queue>.dead` queues (services/dead_letters.py); these
commands read them with the global `--amqp` and `--network` options. An ID may be
shortened to its first characters (at least 6) as long as it stays unambiguous.
"""
import json

import click


def _box(ctx, station):
    from services.config import load_network
    from services.dead_letters import DeadLetterBox, network_queues
    settings = ctx.obj
    network = load_network(settings.network_path)
    if station and station not in network.stations:
        raise click.BadParameter(f"station {station} is not in the network {settings.network_path}",
                                 param_hint="--station")
    return DeadLetterBox(settings.amqp_uri, network_queues(network, station), ssl=settings.amqp_ssl())


def _queue_label(letter):
    return letter.queue.rsplit(".", 1)[-1] if letter.queue.startswith("tongban.station.") else letter.queue


def format_table(letters):
    header = ("ID", "STATION", "QUEUE", "KIND", "CASE", "FAILED AT", "RETRIES", "REASON")
    rows = [(d.id[:12], d.station, _queue_label(d), d.kind or "?", d.case_no or "-",
             d.failed_at or "-", str(d.retries), " ".join(d.reason.split())[:100]) for d in letters]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header) - 1)]
    lines = []
    for row in [header] + rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def _broker_failure(ctx, exc):
    raise click.ClickException(f"the broker at {ctx.obj.amqp_uri} cannot be reached or refused: "
                               f"{type(exc).__name__}: {exc}")


@click.group("dead-letters")
def dead_letters():
    """Messages a station could not handle: list them, send them back."""


@dead_letters.command("list")
@click.option("--station", default=None, help="Only this station's queues (default: every station).")
@click.option("--json", "as_json", is_flag=True, help="JSON, with each message's full id and a preview.")
@click.option("--limit", type=int, default=1000, show_default=True)
@click.pass_context
def list_command(ctx, station, as_json, limit):
    """List the dead letters: id, station, queue, kind, case number, when and why."""
    box = _box(ctx, station)
    try:
        letters = box.list(limit=limit)
    except Exception as exc:  # the broker is unreachable or refused us
        _broker_failure(ctx, exc)
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in letters], ensure_ascii=False, indent=1))
        return
    if not letters:
        click.echo(f"no dead letters ({len(box.queues)} queues looked at)")
        return
    click.echo(format_table(letters))
    queues = len({(d.station, d.queue) for d in letters})
    click.echo(f"{len(letters)} dead letter(s) in {queues} queue(s); "
               f"`tongban dead-letters retry ID` sends one back")


@dead_letters.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Every dead letter (of --station, if given).")
@click.option("--station", default=None, help="Only this station's queues.")
@click.pass_context
def retry_command(ctx, ids, retry_all, station):
    """Send dead letters back to the queue they failed on. Consumers are idempotent, so
    a message already applied is not applied twice; one that fails again comes back here."""
    if bool(ids) == retry_all:
        raise click.UsageError("give the ids of the messages to retry, or --all")
    box = _box(ctx, station)
    try:
        retried = box.retry(None if retry_all else list(ids))
    except ValueError as exc:
        raise click.ClickException(str(exc))
    except Exception as exc:
        _broker_failure(ctx, exc)
    for letter in retried:
        click.echo(f"sent back {letter.id} ({letter.kind or '?'}"
                   f"{', case ' + letter.case_no if letter.case_no else ''}) to {letter.queue}")
    click.echo(f"{len(retried)} message(s) sent back")
