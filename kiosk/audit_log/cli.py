"""``flask audit verify``: the audit log's hash chain, checked from the first row to the last."""

import click
from flask.cli import with_appcontext

from .. import audit


@click.group("audit")
def audit_group():
    """The audit log (hub)."""


@audit_group.command("verify")
@with_appcontext
def verify():
    """Check every row's link to the one before and its contents; exit 1 at the first break."""
    verdict = audit.verify()
    if verdict.ok:
        click.echo(f"ok {verdict.rows} rows")
        return
    click.echo(f"broken at id {verdict.broken_at}: {verdict.reason}")
    raise SystemExit(1)
