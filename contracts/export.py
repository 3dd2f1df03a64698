"""JSON Schema of every bus message, so clients in other languages can talk to the bus."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from contracts import (
    applications,
    audit,
    errors,
    health,
    notifications,
    open311,
    portal,
    principal,
    procedures,
    receipts,
    tenant_profile,
)

#: Every message shape on the bus, by the name its schema file carries.
MESSAGES: dict[str, type] = {
    "ErrorEnvelope": errors.ErrorEnvelope,
    "Principal": principal.Principal,
    "Readiness": health.Readiness,
    "TenantProfile": tenant_profile.TenantProfile,
    "procedures.ListProcedures": procedures.ListProcedures,
    "procedures.GetProcedure": procedures.GetProcedure,
    "procedures.ProcedureList": procedures.ProcedureList,
    "procedures.ProcedureDetail": procedures.ProcedureDetail,
    "procedures.Prefill": procedures.Prefill,
    "procedures.PrefilledForm": procedures.PrefilledForm,
    "AuditRecord": audit.AuditRecord,
    "applications.SubmitApplication": applications.SubmitApplication,
    "applications.Submitted": applications.Submitted,
    "applications.ListApplications": applications.ListApplications,
    "applications.ApplicationList": applications.ApplicationList,
    "applications.GetApplication": applications.GetApplication,
    "applications.ApplicationDetail": applications.ApplicationDetail,
    "applications.Transition": applications.Transition,
    "applications.Receipt": applications.Receipt,
    "applications.IssuedDocument": applications.IssuedDocument,
    "applications.ApplicationEvent": applications.ApplicationEvent,
    "receipts.VerifyRequest": receipts.VerifyRequest,
    "receipts.Verification": receipts.Verification,
    "open311.ListServices": open311.ListServices,
    "open311.ServiceList": list[open311.Service],
    "open311.GetServiceDefinition": open311.GetServiceDefinition,
    "open311.ServiceDefinition": open311.ServiceDefinition,
    "open311.ListServiceRequests": open311.ListServiceRequests,
    "open311.GetServiceRequest": open311.GetServiceRequest,
    "open311.ServiceRequests": list[open311.ServiceRequest],
    "open311.PostServiceRequest": open311.PostServiceRequest,
    "open311.RequestsCreated": list[open311.RequestCreated],
    "notifications.ListInbox": notifications.ListInbox,
    "notifications.InboxList": notifications.InboxList,
    "notifications.InboxMessage": notifications.InboxMessage,
    "notifications.MarkRead": notifications.MarkRead,
    "notifications.GetPreferences": notifications.GetPreferences,
    "notifications.Preferences": notifications.Preferences,
    "notifications.ListTemplates": notifications.ListTemplates,
    "notifications.TemplateList": notifications.TemplateList,
    "notifications.Template": notifications.Template,
    "notifications.PutTemplate": notifications.PutTemplate,
    "notifications.ListDeliveries": notifications.ListDeliveries,
    "notifications.DeliveryList": notifications.DeliveryList,
    "notifications.Delivery": notifications.Delivery,
    "portal.PageRequest": portal.PageRequest,
    "portal.PageReply": portal.PageReply,
}

SCHEMA_DIR = Path(__file__).parent / "schema"


def render() -> dict[str, str]:
    """File name → JSON text, deterministic so that a stale committed copy shows as a diff."""
    return {
        f"{name}.json": json.dumps(msgspec.json.schema(type_), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        for name, type_ in MESSAGES.items()
    }


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render()
    for stale in directory.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
