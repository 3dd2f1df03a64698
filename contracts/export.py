"""JSON Schema of every bus message, so clients in other languages can talk to the bus."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import msgspec

from contracts import (
    applications,
    audit,
    broadcasts,
    errors,
    faq,
    health,
    insights,
    notifications,
    open311,
    payments,
    portal,
    principal,
    procedures,
    receipts,
    tenant_profile,
    uploads,
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
    "applications.GetAttachment": applications.GetAttachment,
    "applications.IssueCounterCode": applications.IssueCounterCode,
    "applications.CounterCode": applications.CounterCode,
    "uploads.Upload": uploads.Upload,
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
    "notifications.DeliveryFinished": notifications.DeliveryFinished,
    "notifications.GetPushKey": notifications.GetPushKey,
    "notifications.PushKey": notifications.PushKey,
    "notifications.PushSubscription": notifications.PushSubscription,
    "notifications.RemovePushSubscription": notifications.RemovePushSubscription,
    "notifications.PushSubscriptionSaved": notifications.PushSubscriptionSaved,
    "notifications.AddWebhook": notifications.AddWebhook,
    "notifications.Webhook": notifications.Webhook,
    "notifications.WebhookCreated": notifications.WebhookCreated,
    "notifications.ListWebhooks": notifications.ListWebhooks,
    "notifications.WebhookList": notifications.WebhookList,
    "notifications.DeleteWebhook": notifications.DeleteWebhook,
    "notifications.Removed": notifications.Removed,
    "notifications.WebhookMessage": notifications.WebhookMessage,
    "notifications.DeadLetter": notifications.DeadLetter,
    "notifications.ListDeadLetters": notifications.ListDeadLetters,
    "notifications.DeadLetterList": notifications.DeadLetterList,
    "broadcasts.NewBroadcast": broadcasts.NewBroadcast,
    "broadcasts.ApproveBroadcast": broadcasts.ApproveBroadcast,
    "broadcasts.ListBroadcasts": broadcasts.ListBroadcasts,
    "broadcasts.Broadcast": broadcasts.Broadcast,
    "broadcasts.BroadcastList": broadcasts.BroadcastList,
    "broadcasts.BroadcastReleased": broadcasts.BroadcastReleased,
    "broadcasts.GetBroadcast": broadcasts.GetBroadcast,
    "broadcasts.Approval": broadcasts.Approval,
    "broadcasts.AlertHealthQuery": broadcasts.AlertHealthQuery,
    "broadcasts.AlertHealth": broadcasts.AlertHealth,
    "broadcasts.PutNoticeRule": broadcasts.PutNoticeRule,
    "broadcasts.NoticeRule": broadcasts.NoticeRule,
    "broadcasts.NoticeRuleList": broadcasts.NoticeRuleList,
    "broadcasts.ListNoticeRules": broadcasts.ListNoticeRules,
    "broadcasts.NoticeRuleRef": broadcasts.NoticeRuleRef,
    "broadcasts.NoticePreview": broadcasts.NoticePreview,
    "broadcasts.NoticeRun": broadcasts.NoticeRun,
    "broadcasts.ListNews": broadcasts.ListNews,
    "broadcasts.News": broadcasts.News,
    "insights.MetricsQuery": insights.MetricsQuery,
    "insights.TownsMetrics": insights.TownsMetrics,
    "insights.Trends": insights.Trends,
    "insights.GetCharts": insights.GetCharts,
    "insights.Charts": insights.Charts,
    "payments.StartPayment": payments.StartPayment,
    "payments.PaymentPage": payments.PaymentPage,
    "payments.ConfirmPayment": payments.ConfirmPayment,
    "payments.CounterPayment": payments.CounterPayment,
    "payments.ProviderNotification": payments.ProviderNotification,
    "payments.Received": payments.Received,
    "payments.Reconcile": payments.Reconcile,
    "payments.Reconciliation": payments.Reconciliation,
    "payments.PaymentSettled": payments.PaymentSettled,
    "payments.Payment": payments.Payment,
    "portal.PageRequest": portal.PageRequest,
    "portal.PageReply": portal.PageReply,
    "faq.FaqSearch": faq.FaqSearch,
    "faq.FaqResults": faq.FaqResults,
    "faq.ListUnanswered": faq.ListUnanswered,
    "faq.UnansweredList": faq.UnansweredList,
}

SCHEMA_DIR = Path(__file__).parent / "schema"


def normalised(node: Any) -> Any:
    """The schema with every description's docstring indentation removed.

    msgspec copies docstrings into ``description``; before 0.23 it kept their indentation, from
    0.23 on it strips it. Cleaning them here makes the export the same bytes whichever msgspec
    version in the supported range wrote it.
    """
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else normalised(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [normalised(item) for item in node]
    return node


def render() -> dict[str, str]:
    """File name → JSON text, deterministic so that a stale committed copy shows as a diff."""
    return {
        f"{name}.json": json.dumps(normalised(msgspec.json.schema(type_)), ensure_ascii=False, indent=2, sort_keys=True)
        + "\n"
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
