"""`tongban users`: the people who work at a station, in that station's database.

    tongban users add --station 445203001001 chenxy --name 陈晓燕 --role village_agent
    tongban users add --station 445203 mz.li --name 李明 --role reviewer --department civil_affairs
    tongban users list --station 445203
    tongban users passwd --station 445203 mz.li        # ends the user's sessions
    tongban users deactivate --station 445203 mz.li    # users are never deleted
    tongban users seed                                  # the sample staff, every station

Passwords are asked for at the prompt (twice), or read from TONGBAN_USER_PASSWORD for
scripts; they are stored as Argon2id hashes.
"""
import click

from shared.auth import roles
from shared.auth.accounts import Accounts
from shared.auth.staffing import SAMPLE_PASSWORD, seed_station
from shared.db.database import get_database
from shared.exceptions import TongbanError


def _station(settings, code):
    from services.config import load_network
    network = load_network(settings.network_path)
    if code not in network.stations:
        raise click.BadParameter(f"no station {code} in {settings.network_path}", param_hint="--station")
    return network.station(code), network


def _accounts_do(settings, code, action):
    station, network = _station(settings, code)
    database = get_database(settings.database_for(code))
    try:
        with database.transaction() as session:
            return action(Accounts(session, station, network))
    except TongbanError as exc:
        raise click.ClickException(exc.message) from None


station_option = click.option("--station", "code", required=True, metavar="CODE",
                              help="The station the user works at.")
password_option = click.option("--password", envvar="TONGBAN_USER_PASSWORD", prompt=True, hide_input=True,
                               confirmation_prompt=True, help="Asked for when not given.")


@click.group("users")
def users():
    """The users of a station: village agents, township staff, reviewers, approvers,
    administrators, supervisors."""


@users.command("add")
@station_option
@click.argument("username")
@click.option("--name", required=True, help="The person's name, as case histories show it.")
@click.option("--role", required=True, type=click.Choice(roles.ROLES),
              help="; ".join(f"{r}: {roles.LABELS[r]}" for r in roles.ROLES))
@click.option("--department", default=None, help="For reviewers and approvers: their department's code.")
@password_option
@click.pass_obj
def add(settings, code, username, name, role, department, password):
    """Create USERNAME at a station."""
    user = _accounts_do(settings, code, lambda a: a.add({"username": username, "name": name, "role": role,
                                                          "department": department, "password": password}))
    click.echo(f"added {user['username']} ({user['name']}, {user['role_label']}) at station {code}")


@users.command("list")
@station_option
@click.pass_obj
def list_users(settings, code):
    """The users of a station."""
    for user in _accounts_do(settings, code, lambda a: a.list()):
        click.echo(f"{user['username']:<28} {user['name']:<10} {user['role_label']:<10} "
                   f"{user['department'] or '':<20} {'' if user['active'] else '（已停用）'}")


@users.command("passwd")
@station_option
@click.argument("username")
@password_option
@click.pass_obj
def passwd(settings, code, username, password):
    """Set a new password (the user's sessions end)."""
    _accounts_do(settings, code, lambda a: a.set_password(username, password))
    click.echo(f"password of {username} at station {code} changed; their sessions have ended")


@users.command("deactivate")
@station_option
@click.argument("username")
@click.pass_obj
def deactivate(settings, code, username):
    """Stop a user from logging in (their name stays in the histories)."""
    _accounts_do(settings, code, lambda a: a.set_active(username, False))
    click.echo(f"{username} at station {code} can no longer log in")


@users.command("seed")
@click.option("--station", "codes", multiple=True, metavar="CODE", help="Only these stations (repeatable).")
@click.option("--names", "names_path", default=None, help="Names file (default: district/data/users.yaml).")
@click.option("--password", envvar="TONGBAN_SAMPLE_PASSWORD", default=SAMPLE_PASSWORD, show_default=True,
              help="The sample accounts' first password.")
@click.pass_obj
def seed(settings, codes, names_path, password):
    """Create the sample staff at every station (or --station) that lacks them."""
    from deploy.settings import SAMPLE_USERS
    from services.config import load_network
    network = load_network(settings.network_path)
    made = 0
    for code in codes or list(network.stations):
        station, _ = _station(settings, code)
        made += seed_station(get_database(settings.database_for(code)), station, network,
                             names_path or str(SAMPLE_USERS), password)
    click.echo(f"{made} sample users created")
