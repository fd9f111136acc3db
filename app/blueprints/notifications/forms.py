"""Channel and mute forms (CSRF-protected through Flask-WTF).

The forms bound the size of what they take; what a channel may hold (URL schemes,
addresses, tenants of this workspace) is checked by app.notifications.channels.
"""

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.models.notifications import EVENT_KINDS
from app.notifications.channels import EVENT_LABELS, KIND_LABELS, MAX_MUTE_REASON, MAX_NAME


def options(pairs):
    """(value, label) pairs as wtforms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ChannelForm(FlaskForm):
    """Add or edit a channel. On edit the kind is fixed and an empty target keeps the
    stored one (it is never shown back)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)])
    kind = SelectField("Kind", choices=options(KIND_LABELS.items()), validators=[Optional()])
    target = TextAreaField("Target", validators=[Length(max=2000)])
    events = CheckboxesField(
        "Events",
        choices=options((k, EVENT_LABELS[k]) for k in EVENT_KINDS),
        validators=[Optional()],
    )
    tenant_choice = RadioField(
        "Tenants",
        choices=options(
            [("all", "All tenants (and workspace-level runs)"), ("some", "Only these tenants")]
        ),
        default="all",
        validators=[InputRequired()],
    )
    tenants = CheckboxesField("Tenants", coerce=int, choices=[], validators=[Optional()])

    def with_tenants(self, rows):
        """Offer ``rows`` (the workspace's tenants) as choices."""
        self.tenants.choices = options((row.id, row.name) for row in rows)
        return self

    def tenant_ids(self):
        """None for all tenants, else the chosen ids."""
        return None if self.tenant_choice.data == "all" else list(self.tenants.data or [])


class MuteForm(FlaskForm):
    """Mute one tenant until a time (UTC)."""

    tenant = SelectField("Tenant", coerce=int, choices=[], validators=[InputRequired()])
    until = DateTimeLocalField("Until (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    reason = StringField("Reason", validators=[Length(max=MAX_MUTE_REASON)])


class ActionForm(FlaskForm):
    """No fields: only the CSRF token (enable, disable, test, end a mute)."""
