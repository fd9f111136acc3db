"""/admin/notifications: owners list, add, edit, disable and test channels, mute tenants
and read the delivery log. Anyone else, and any channel of another workspace, is 404."""

from flask import abort, redirect, render_template, url_for
from flask_login import login_required

from app.blueprints.context import current_scope
from app.blueprints.notifications import bp
from app.blueprints.notifications.forms import ActionForm, ChannelForm, MuteForm, options
from app.extensions import db
from app.models import NotificationMute
from app.notifications import channels
from app.notifications.channels import ChannelError
from app.notifications.sender import send_test
from app.notifications.status import channel_view, delivery_views
from app.operations.clock import now


def _owner_scope():
    scope = current_scope()
    if not channels.manages_channels(scope):
        abort(404)
    return scope


def _channel(scope, channel_id):
    channel = channels.channel_for(scope, channel_id)
    if channel is None:
        abort(404)
    return channel


def _names(tenants):
    return {row.id: row.name for row in tenants}


def _list(scope, mute_form=None, status=200):
    tenants = scope.tenant_rows()
    if mute_form is None:
        mute_form = MuteForm()
    mute_form.tenant.choices = options((row.id, row.name) for row in tenants)
    views = [channel_view(c, _names(tenants)) for c in channels.channels_of(scope.workspace_id)]
    mutes = [
        (mute.id, tenant.name, f"{mute.until:%Y-%m-%d %H:%M} UTC", mute.reason)
        for mute, tenant in channels.active_mutes(scope.workspace_id, now())
    ]
    page = render_template(
        "notifications/channels.html",
        channels=views,
        mutes=mutes,
        mute_form=mute_form,
        action=ActionForm(),
        has_tenants=bool(tenants),
    )
    return page, status


@bp.get("/admin/notifications", endpoint="channels")
@login_required
def channel_list():
    """The workspace's channels and current mutes."""
    return _list(_owner_scope())


def _form_page(form, channel=None, status=200):
    return render_template("notifications/form.html", form=form, channel=channel), status


def _refuse(form, exc):
    db.session.rollback()
    field = getattr(form, exc.field, None) or form.tenants
    field.errors = [*(field.errors or []), exc.message]


@bp.route("/admin/notifications/new", methods=["GET", "POST"], endpoint="new_channel")
@login_required
def new_channel():
    """Add a channel; a webhook's signing secret is shown this once."""
    scope = _owner_scope()
    form = ChannelForm().with_tenants(scope.tenant_rows())
    if not form.is_submitted():
        return _form_page(form)
    if form.validate():
        try:
            channel = channels.create_channel(
                workspace_id=scope.workspace_id,
                name=form.name.data,
                kind=form.kind.data,
                target=form.target.data,
                events=form.events.data,
                tenant_ids=form.tenant_ids(),
                now=now(),
            )
        except ChannelError as exc:
            _refuse(form, exc)
        else:
            secret = channel.signing_secret
            db.session.commit()
            view = channel_view(channel, _names(scope.tenant_rows()))
            return render_template("notifications/created.html", channel=view, secret=secret), 201
    return _form_page(form, status=422)


@bp.route("/admin/notifications/<int:channel_id>/edit", methods=["GET", "POST"])
@login_required
def edit_channel(channel_id):
    """Change a channel's name, target, events or tenants."""
    scope = _owner_scope()
    channel = _channel(scope, channel_id)
    form = ChannelForm().with_tenants(scope.tenant_rows())
    view = channel_view(channel, _names(scope.tenant_rows()))
    if not form.is_submitted():
        form.name.data, form.events.data = channel.name, list(channel.events)
        form.tenant_choice.data = "all" if channel.tenant_ids is None else "some"
        form.tenants.data = list(channel.tenant_ids or [])
        return _form_page(form, view)
    if form.validate():
        try:
            channels.update_channel(
                channel,
                name=form.name.data,
                target=form.target.data,
                events=form.events.data,
                tenant_ids=form.tenant_ids(),
                now=now(),
            )
        except ChannelError as exc:
            _refuse(form, exc)
        else:
            db.session.commit()
            return redirect(url_for("notifications.channels"), code=303)
    return _form_page(form, view, status=422)


def _toggle(channel_id, enabled):
    scope = _owner_scope()
    channel = _channel(scope, channel_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    channels.set_enabled(channel, enabled, now())
    db.session.commit()
    return redirect(url_for("notifications.channels"), code=303)


@bp.post("/admin/notifications/<int:channel_id>/disable")
@login_required
def disable_channel(channel_id):
    """Stop sending to a channel (waiting deliveries wait)."""
    return _toggle(channel_id, False)


@bp.post("/admin/notifications/<int:channel_id>/enable")
@login_required
def enable_channel(channel_id):
    """Send to a channel again."""
    return _toggle(channel_id, True)


@bp.post("/admin/notifications/<int:channel_id>/test")
@login_required
def test_channel(channel_id):
    """Send a test message now; its result is at the top of the delivery log."""
    scope = _owner_scope()
    channel = _channel(scope, channel_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    send_test(channel, now())
    return redirect(url_for("notifications.delivery_log", channel_id=channel.id), code=303)


@bp.get("/admin/notifications/<int:channel_id>/log")
@login_required
def delivery_log(channel_id):
    """The channel's latest deliveries, each with every attempt."""
    scope = _owner_scope()
    channel = _channel(scope, channel_id)
    view = channel_view(channel, _names(scope.tenant_rows()))
    return render_template(
        "notifications/log.html", channel=view, deliveries=delivery_views(channel.id)
    )


@bp.post("/admin/notifications/mutes")
@login_required
def add_mute():
    """Mute a tenant's notifications until a time (maintenance)."""
    scope = _owner_scope()
    form = MuteForm()
    form.tenant.choices = options((row.id, row.name) for row in scope.tenant_rows())
    if form.validate_on_submit():
        try:
            channels.mute_tenant(
                workspace_id=scope.workspace_id,
                tenant_id=form.tenant.data,
                until=form.until.data,
                reason=form.reason.data,
                now=now(),
            )
        except ChannelError as exc:
            db.session.rollback()
            target = form.until if exc.field == "until" else form.tenant
            target.errors = [*(target.errors or []), exc.message]
        else:
            db.session.commit()
            return redirect(url_for("notifications.channels"), code=303)
    return _list(scope, form, status=422)


@bp.post("/admin/notifications/mutes/<int:mute_id>/end")
@login_required
def end_mute(mute_id):
    """End a mute now."""
    scope = _owner_scope()
    mute = db.session.get(NotificationMute, mute_id)
    if mute is None or mute.workspace_id != scope.workspace_id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    channels.end_mutes(scope.workspace_id, mute.tenant_id, now())
    db.session.commit()
    return redirect(url_for("notifications.channels"), code=303)
