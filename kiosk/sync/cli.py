"""Command-line groups: ``stations`` and ``sync import`` at the hub,
``station enroll`` and ``sync once|run|status|export|import-answer`` at a station."""

import sys
import time
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import format_local
from . import bundles, enrolment, hub, registry
from .loop import SyncLoop
from .station import status as station_status
from .station import sync_once

# --- hub --------------------------------------------------------------------


@click.group()
def stations():
    """Stations registered with this hub, their keys and tokens."""


@stations.command("add")
@click.option("--code", required=True, help="2 to 8 capital letters or digits, e.g. LC07")
@click.option("--name", required=True)
@click.option("--township", required=True, help="the township's Chinese name, e.g. 罗城街道")
@click.option("--level", required=True, type=click.Choice(["center", "station", "point"]))
@with_appcontext
def add_station(code, name, township, level):
    """Register a station; the last line printed is its one-time enrolment token (24 h)."""
    try:
        token = registry.register_station(code, name, township, level)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(f"已登记 {code} {name}。把下面的登记码交给该站，24 小时内有效，只能用一次：")
    click.echo(token)


@stations.command("token")
@click.argument("code")
@with_appcontext
def token(code):
    """Print a fresh one-time enrolment token for a registered station (a new or replaced box)."""
    try:
        value = registry.issue_token(code)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(f"{code} 的登记码，24 小时内有效，只能用一次：")
    click.echo(value)


@stations.command("revoke")
@click.argument("code")
@with_appcontext
def revoke(code):
    """Refuse this station's key from now on (a stolen or retired box)."""
    try:
        registry.revoke_station(code)
    except ValueError as error:
        raise click.ClickException(str(error))
    click.echo(f"已吊销 {code} 的密钥。该站的记录仍保留；新机器需要新的登记码。")


@stations.command("list")
@click.option("--all", "show_all", is_flag=True, help="also stations never enrolled")
@with_appcontext
def list_stations(show_all):
    """Every station: last contact, reported backlog, software version, printer."""
    rows = [r for r in registry.station_overview() if show_all or r.state != "未登记"]
    click.echo(f"{'code':<8} {'state':<6} {'last contact':<17} {'backlog':>7}  {'version':<12} {'printer':<12} name")
    for r in rows:
        last = format_local(r.last_contact_at) if r.last_contact_at else "从未联系"
        line = (
            f"{r.code:<8} {r.state:<6} {last:<17} {'' if r.backlog is None else r.backlog:>7}  "
            f"{r.version or '':<12} {r.printer or '':<12} {r.name}"
        )
        if r.silent:
            line = click.style("! " + line + "  (超过一天没有联系)", fg="red", bold=True)
        click.echo(line)
    silent = sum(r.silent for r in rows)
    click.echo(f"{len(rows)} stations, {silent} silent for more than a day")


@click.group("sync")
def hub_sync():
    """Bundles carried by hand from stations without a link; backups and restores."""


@hub_sync.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--answer", "answer_path", type=click.Path(dir_okay=False), help="where to write the answer bundle")
@click.option("--accept-revoked", is_flag=True, help="accept a bundle from a revoked station (audited)")
@click.option("--decided-by", help="who decided to accept a revoked station's bundle")
@click.option("--reason", help="why")
@with_appcontext
def import_bundle(bundle, answer_path, accept_revoked, decided_by, reason):
    """Ingest a station's bundle and write the signed answer bundle next to it."""
    answer_path = answer_path or bundle + ".answer"
    decision = None
    if accept_revoked:
        if not decided_by or not reason:
            raise click.ClickException("--accept-revoked needs --decided-by and --reason (it is recorded)")
        decision = (decided_by, reason)
    try:
        with click.progressbar(length=1, label="导入中") as bar:
            summary = bundles.import_bundle(bundle, answer_path, decision, progress=bar.update)
    except bundles.BundleRefused as error:
        raise click.ClickException(str(error))
    click.echo(
        f"{summary['station']}: {summary['acknowledged']} 条已确认, {summary['refused']} 条被拒收; 回执文件: {answer_path}"
        + (f"; 录音 {summary['voices']} 段已收妥" if summary["voices"] else "")
    )


@hub_sync.command("backed-up")
@click.option("--snapshot-at", required=True, help="UTC time the backup's snapshot began, e.g. 2026-12-06T03:00:00Z")
@with_appcontext
def backed_up(snapshot_at):
    """Record a backup that succeeded (the backup timer runs this after pg_dump)."""
    try:
        moment = datetime.fromisoformat(snapshot_at.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("a UTC time such as 2026-12-06T03:00:00Z", param_hint="--snapshot-at")
    if moment.tzinfo is None:
        raise click.BadParameter("give the time zone (Z for UTC)", param_hint="--snapshot-at")
    moved = hub.record_backup(moment.astimezone(timezone.utc))
    click.echo(f"backup of {format_local(moment)} recorded" if moved else "a newer backup is recorded already")


@hub_sync.command("restored")
@with_appcontext
def restored():
    """Say this database was just restored from a backup: stations send again and pull from the start."""
    generation = hub.mark_restored()
    click.echo(f"restored: generation {generation}; each station sends again and pulls anew at its next sync")


# --- station ----------------------------------------------------------------


@click.group()
def station():
    """This box's enrolment with its township hub."""


@station.command("enroll")
@click.option("--hub", "hub_url", required=True, help="the hub's address, e.g. https://rd.example.gov.cn")
@click.option("--token", required=True, help="the one-time token from `stations add` or `stations token`")
@with_appcontext
def enroll(hub_url, token):
    """Make this box's key pair and register it with the hub."""
    try:
        link = enrolment.enroll(hub_url, token)
    except enrolment.EnrolmentRefused as error:
        raise click.ClickException(str(error))
    click.echo(f"本机已登记为 {link.station_code}，镇人大办: {link.hub_url}，回执二维码地址: {link.public_base_url}")


@click.group("sync")
def station_sync():
    """Sending records to the hub and taking its answers."""


@station_sync.command("once")
@click.option("--no-wait", is_flag=True, help="return at once if another sync is running")
@with_appcontext
def once(no_wait):
    """One push and pull; prints counts; exit status 1 on failure, 75 if busy."""
    result = sync_once(wait=0 if no_wait else None, progress=lambda m: click.echo(m, err=True))
    if result.busy:
        click.echo("另一次同步正在进行，本次没有同步。")
        sys.exit(75)
    click.echo(
        f"pushed {result.pushed}, acknowledged {result.acknowledged}, set aside {result.refused}, "
        f"pulled {result.pulled}, cursor {result.cursor}" + (f", voice messages {result.voices}" if result.voices else "")
    )
    if not result.ok:
        click.echo(f"同步失败: {result.error}", err=True)
        sys.exit(1)


@station_sync.command("run")
@with_appcontext
def run():
    """Sync on a timer, with back-off up to 30 minutes while the link fails (for a service manager)."""
    loop = SyncLoop(current_app._get_current_object())
    click.echo("sync loop started; Ctrl-C stops it")
    try:
        while True:
            delay = loop.step()
            click.echo(f"next sync in {delay:.0f} s", err=True)
            time.sleep(delay)
    except KeyboardInterrupt:
        pass


@station_sync.command("status")
@with_appcontext
def show_status():
    """Records waiting, last success, last error, records set aside, clock offset."""
    st = station_status()
    when = lambda m: format_local(m) if m else "从未"  # noqa: E731
    if st.enrolled is None:
        click.echo("本站还没有登记到镇人大办 (not enrolled)")
    else:
        click.echo(f"station {st.enrolled.station_code}, hub {st.enrolled.hub_url}")
    click.echo(f"waiting: {st.waiting}" + (f" (and {st.voices_waiting} voice messages)" if st.voices_waiting else ""))
    click.echo(f"set aside: {len(st.set_aside)}")
    for r in st.set_aside:
        click.echo(f"  {r.record_type} {r.uuid}: {r.reason} {r.detail or ''}")
    click.echo(f"last success: {when(st.last_success_at)}")
    click.echo(f"last attempt: {when(st.last_attempt_at)}")
    click.echo(f"last error: {st.last_error or '-'}")
    click.echo(f"hub clock offset: {st.clock_offset_ms / 1000:+.1f} s")
    click.echo(f"cursor: {st.cursor}")
    if st.restored_at:
        click.echo(f"restored from a backup {when(st.restored_at)}: 与镇人大办同步之前不接受新的提交")


@station_sync.command("export")
@click.argument("bundle", type=click.Path(dir_okay=False))
@with_appcontext
def export(bundle):
    """Write every unacknowledged record to a signed bundle for a USB stick."""
    with click.progressbar(length=1, label="导出中") as bar:
        count = bundles.export_bundle(bundle, progress=bar.update)
    click.echo(f"{count} 条记录已写入 {bundle}")


@station_sync.command("import-answer")
@click.argument("answer", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_answer(answer):
    """Apply the hub's signed answer bundle (acknowledgements and updates)."""
    try:
        summary = bundles.import_answer(answer)
    except bundles.BundleRefused as error:
        raise click.ClickException(str(error))
    click.echo(
        f"{summary['acknowledged']} 条已确认, {summary['refused']} 条被拒收, {summary['pulled']} 项更新"
        + (f", 录音 {summary['voices']} 段已由镇人大办收妥" if summary["voices"] else "")
    )
