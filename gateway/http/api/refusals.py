"""What a Lua step's refusal (RoutingRefused) means at the HTTP edge."""

from __future__ import annotations

from channels.errors import Conflict, Forbidden, IntakeError, InvalidField, NotFound
from routing.errors import RoutingRefused

REFUSALS: dict[str, tuple[type[IntakeError], str]] = {
    "case_not_found": (NotFound, "There is no such case."),
    "contact_not_found": (NotFound, "There is no such contact."),
    "not_owner": (Forbidden, "Only the admin or the contact's owner may change the owner."),
    "operator_not_found": (NotFound, "There is no such operator."),
    "not_yours": (Forbidden, "This case is not assigned to you."),
    "not_assigned": (Conflict, "The case is not waiting for an accept."),
    "offer_expired": (Conflict, "The offer has expired or was given to someone else."),
    "already_resolved": (Conflict, "The case is already resolved."),
    "not_in_progress": (Conflict, "Only a case in progress can be paused."),
    "not_waiting": (Conflict, "Only a waiting case can be resumed."),
    "at_capacity": (Conflict, "The operator has no room for this case."),
    "already_assigned": (Conflict, "The case is already with that operator."),
    "no_callback": (Conflict, "The case has no callback to log an attempt of."),
    "no_outbound_channel": (Conflict, "Replies cannot be sent on this case's channel."),
    "no_recipient": (Conflict, "The contact has no address on this case's channel."),
    "missing_required_fields": (InvalidField, "The case lacks fields its service requires."),
    "invalid_combination": (InvalidField, "The classification does not fit the catalogue."),
    "edit_window_closed": (Conflict, "The case was resolved too long ago to change it."),
    "not_classifying": (Conflict, "The case is not waiting for classification."),
    "not_resolved": (Conflict, "Only a resolved case can be reopened."),
}


def refused(error: RoutingRefused) -> IntakeError:
    kind, message = REFUSALS.get(error.code, (Conflict, "The change was refused."))
    detail = error.detail
    field = detail.get("field")
    if field and detail.get("reason"):
        message = f"'{field}' does not fit: {detail['reason']}."
    extra = {"fields": detail["fields"]} if "fields" in detail else None
    return kind(message, code=error.code, field=field, extra=extra)
