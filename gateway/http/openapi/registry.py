"""Every route the gateway serves, one line each: a route added to `app.router` without a line
here fails tests/test_openapi.py."""

from __future__ import annotations

from typing import Any

from channels.phone.body import PhoneBody
from channels.sms.body import SmsBody
from channels.webform.body import FormJson
from gateway.http.openapi.operation import FORM, Media, Op, Query
from gateway.http.schemas import answers as a
from gateway.http.schemas.actions import Accept, Pause, Transfer
from gateway.http.schemas.admin import Explain
from gateway.http.schemas.callbacks import Attempt, Callback
from gateway.http.schemas.cases import CaseText, NewCase
from gateway.http.schemas.contacts import ContactChange
from gateway.http.schemas.operators import PresenceChange
from gateway.http.schemas.workflow import CasePatch, Classify, MoveEntry
from gateway.views import STATUSES

TEXT, HTML, XML = Media("text/plain"), Media("text/html"), Media("text/xml")
JS, CSS = Media("text/javascript"), Media("text/css")
SSE = Media("text/event-stream")
BYTES = Media("application/octet-stream", {"type": "string", "format": "binary"})
OBJECT = Media("application/json", {"type": "object"})
HISTORY = Media("application/json", {"type": "object"}, ("application/x-ndjson", "text/csv"))
TWILIO_FORM = Media(FORM, {"type": "object", "additionalProperties": {"type": "string"}})
MANGO_FORM = Media(FORM, {"type": "object", "required": ["vpbx_api_key", "sign", "json"],
                          "properties": {n: {"type": "string"}
                                         for n in ("vpbx_api_key", "sign", "json")}})  # fmt: skip
ACTED = (403, 404, 409)  # not yours, no such case, wrong state
CASE_ID = {"case_id": "$response.body#/id"}


def _case_links(*actions: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from an answer holding a case to the actions on it (schemathesis follows
    them in its stateful phase)."""
    links = {"GetCase": {"operationId": "get_api_cases_case_id", "parameters": CASE_ID}}
    for action in actions:
        target = f"post_api_cases_case_id_{action.replace('/', '_')}"
        links[action.replace("/", "_").title().replace("_", "")] = {
            "operationId": target,
            "parameters": CASE_ID,
        }
    return links


OPERATOR_ID = {"operator_id": "$response.body#/operators/0/id"}
OPERATOR_LINKS = {
    "GetOperator": {"operationId": "get_api_operators_operator_id", "parameters": OPERATOR_ID},
    "SetPresence": {"operationId": "put_api_operators_operator_id_presence",
                    "parameters": OPERATOR_ID},
}  # fmt: skip
ACTIONS = ("accept", "decline", "reply", "note", "pause", "resume", "resolve", "transfer",
           "callback", "callback/attempt")  # fmt: skip
CASES_QUERY = (
    Query("status", {"type": "string", "enum": list(STATUSES)}),
    Query("service", {"type": "string"}),
    Query("assignee", {"type": "string"}),
    Query("contact", {"type": "string"}, "A contact id."),
    Query("sla", {"type": "string", "enum": ["breached", "at_risk"]}),
    Query("created_by", {"type": "string"}, "`me`, an operator id or a channel."),
    Query("owner", {"type": "string"}, "`me` or an operator id: the contact's owner."),
    Query("priority", {"type": "integer", "minimum": 1}),
    Query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
    Query("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
)
HISTORY_QUERY = (
    Query("kind", {"type": "string"}, "Entry kinds, comma-separated."),
    Query("by", {"type": "string"}, "`me`, an operator id, `admin` or a sender."),
    Query("since", {"type": "string", "format": "date-time"}),
    Query("until", {"type": "string", "format": "date-time"}),
    Query("format", {"type": "string", "enum": ["json", "jsonl", "csv"], "default": "json"}),
)
CONTACT_QUERY = (
    Query("phone", {"type": "string"}, "Any format; give `phone` or `email`."),
    Query("email", {"type": "string"}),
)

# fmt: off
OPERATIONS: tuple[Op, ...] = (
    Op("GET", "/healthz", "Liveness", "none", (200, a.Health), storage=False),
    Op("GET", "/readyz", "Readiness: Redis reachable", "none", (200, a.Health)),
    Op("GET", "/metrics", "Prometheus text format", "admin", (200, TEXT)),
    Op("GET", "/api/openapi.json", "This document", "none", (200, OBJECT), storage=False),
    Op("GET", "/api/docs", "This document as a page", "none", (200, HTML), storage=False),
    Op("GET", "/api/docs/docs.js", "The page's script", "none", (200, JS), storage=False),
    Op("POST", "/hooks/sms", "Generic SMS webhook", "intake", (200, a.SmsStored), SmsBody),
    Op("POST", "/hooks/phone", "Softphone/PBX call event", "intake", (200, a.ScreenPop), PhoneBody),
    Op("POST", "/hooks/twilio/sms", "Twilio Messaging webhook", "twilio", (200, XML), TWILIO_FORM),
    Op("POST", "/hooks/twilio/voice", "Twilio Voice webhook", "twilio", (200, XML), TWILIO_FORM),
    Op("POST", "/hooks/twilio/voice/status", "Twilio status", "twilio", (200, XML), TWILIO_FORM),
    Op("POST", "/hooks/mango/events/call", "Mango Office call event", "none", (200, OBJECT),
       MANGO_FORM, errors=(401,)),
    Op("POST", "/hooks/mango/events/summary", "Mango Office call summary", "none", (200, OBJECT),
       MANGO_FORM, errors=(401,)),
    Op("POST", "/forms/{form_id}", "Web form submission (also urlencoded or multipart; "
       "browsers get 303 to the form's redirect)", "none", (201, a.FormStored), FormJson,
       errors=(303,)),
    Op("GET", "/forms/{form_id}", "The hosted form page", "none", (200, HTML), storage=False),
    Op("GET", "/chat/ws", "Chat WebSocket, visitor side", "none", (101, None), errors=(403,)),
    Op("GET", "/chat/widget.js", "Embeddable chat widget", "none", (200, JS), storage=False),
    Op("GET", "/console", "The operator console", "none", (200, HTML), storage=False),
    Op("GET", "/console/{name}", "A console file", "none", (200, CSS), storage=False),
    Op("GET", "/api/me", "Who the token is; operators and services", "operator", (200, a.Me),
       links=OPERATOR_LINKS),
    Op("GET", "/api/operators/{operator_id}", "An operator's state", "operator",
       (200, a.Operator), errors=(403,)),
    Op("PUT", "/api/operators/{operator_id}/presence", "Set presence", "operator",
       (200, a.PresenceSet), PresenceChange, errors=ACTED),
    Op("GET", "/api/operators/{operator_id}/events", "Server-Sent Events", "operator",
       (200, SSE), errors=(403,)),
    Op("GET", "/api/cases", "A page of cases, newest first", "operator", (200, a.CasePage),
       errors=(422,), query=CASES_QUERY),
    Op("POST", "/api/cases", "Open a manual case", "operator", (201, a.Case), NewCase,
       links=_case_links(*ACTIONS)),
    Op("GET", "/api/cases/{case_id}", "A case with its timeline", "operator", (200, a.Case),
       links=_case_links(*ACTIONS)),
    Op("GET", "/api/cases/{case_id}/attachments/{n}", "An attachment's bytes", "operator",
       (200, BYTES)),
    Op("POST", "/api/cases/{case_id}/accept", "Accept (an offer by its id)", "operator",
       (200, a.Case), Accept, ACTED, body_optional=True),
    Op("POST", "/api/cases/{case_id}/decline", "Give an offer back", "operator", (200, a.Case),
       errors=ACTED),
    Op("POST", "/api/cases/{case_id}/resolve", "Resolve", "operator", (200, a.Case), errors=ACTED),
    Op("POST", "/api/cases/{case_id}/resume", "Resume a waiting case", "operator", (200, a.Case),
       errors=ACTED),
    Op("POST", "/api/cases/{case_id}/pause", "Pause (waiting)", "operator", (200, a.Case), Pause,
       ACTED),
    Op("POST", "/api/cases/{case_id}/transfer", "Transfer to an operator or a service",
       "operator", (200, a.Case), Transfer, ACTED),
    Op("POST", "/api/cases/{case_id}/note", "Internal note", "operator", (201, a.Case), CaseText,
       ACTED),
    Op("POST", "/api/cases/{case_id}/reply", "Reply through the case's channel", "operator",
       (202, a.Queued), CaseText, ACTED),
    Op("POST", "/api/cases/{case_id}/callback", "Schedule a callback", "operator",
       (201, a.Case), Callback, ACTED),
    Op("POST", "/api/cases/{case_id}/callback/attempt", "Log a callback attempt", "operator",
       (200, a.Case), Attempt, ACTED),
    Op("GET", "/api/contacts", "A contact by phone or e-mail, with its open cases", "operator",
       (200, a.ContactLookup), errors=(404, 422), query=CONTACT_QUERY),
    Op("PATCH", "/api/contacts/{contact_id}", "Set a contact's owner or category", "operator",
       (200, a.Contact), ContactChange, errors=(403,)),
    Op("GET", "/api/admin/config", "The running config, secrets redacted", "admin",
       (200, a.RunningConfig)),
    Op("POST", "/api/admin/config/reload", "Re-read config.toml", "admin", (200, a.Version),
       errors=(422,)),
    Op("POST", "/api/admin/explain", "Why a message (or a case) goes where it goes", "admin",
       (200, a.Explanation), Explain, errors=(404,)),
    Op("GET", "/api/admin/queues", "Queues per service, load per operator", "admin",
       (200, a.Queues)),
    Op("POST", "/api/admin/queues/{queue}/failed/{job_id}/retry", "Requeue a failed RQ job",
       "admin", (200, OBJECT), errors=(404,)),
    Op("PATCH", "/api/cases/{case_id}", "Change classification, fields or subject", "operator",
       (200, a.Case), CasePatch, (*ACTED, 422)),
    Op("POST", "/api/cases/{case_id}/classify", "Classify a triage case and route it",
       "operator", (200, a.Case), Classify, (*ACTED, 422)),
    Op("POST", "/api/cases/{case_id}/reopen", "Reopen a resolved case (edit window)",
       "operator", (200, a.Case), errors=ACTED),
    Op("POST", "/api/cases/{case_id}/timeline/{entry}/move", "Move an entry to another case",
       "operator", (200, OBJECT), MoveEntry, (*ACTED, 422)),
    Op("POST", "/api/cases/{case_id}/timeline/{entry}/note", "A note on one entry", "operator",
       (201, OBJECT), CaseText, ACTED),
    Op("PATCH", "/api/cases/{case_id}/timeline/{entry}", "Edit one's own note", "operator",
       (200, OBJECT), CaseText, ACTED),
    Op("GET", "/api/cases/{case_id}/history", "The timeline filtered (json, jsonl or csv)",
       "operator", (200, HISTORY), errors=(422,), query=HISTORY_QUERY),
    Op("POST", "/hooks/twilio/sms/status", "Twilio SMS delivery status", "twilio", (200, XML),
       TWILIO_FORM, errors=(422,)),
)
# fmt: on
