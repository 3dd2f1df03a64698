"""Every route of the API that asks one service one thing, in one table (see ``declared.py``).

A new capability's routes are rows here: path, method, service and verb, the contracts of the
request, body and reply, and who may call. Routes that do more than pass a contract through (a
file, a CSV, a printable page, the provider's signed webhook, Open311, sign-in) are handlers of
their own beside this table.
"""

from __future__ import annotations

from contracts import applications as apps
from contracts import broadcasts as bc
from contracts import notifications as notes
from contracts import payments as pay
from contracts import procedures as procs
from contracts import receipts
from contracts.subjects import NOTIFICATIONS, PROCEDURES
from gateway.ratelimit import limited
from gateway.routes.declared import (
    BusRoute, broadcaster, handler_of, resident, resident_or_staff, staff, tenant_admin,
)

APPLICATION = "/api/v1/applications/{application_id:str}"
_APPLICATION_ID = {"application_id": "id"}

ROUTES: list[BusRoute] = [
    # The catalog
    BusRoute("GET", "/api/v1/procedures", PROCEDURES, procs.LIST, procs.ListProcedures, procs.ProcedureList,
             "The town's catalog", "procedures", None, name="list_procedures"),
    BusRoute("GET", "/api/v1/procedures/{code:str}", PROCEDURES, procs.GET, procs.GetProcedure, procs.ProcedureDetail,
             "One procedure and its form", "procedures", None, name="get_procedure"),
    BusRoute("GET", "/api/v1/procedures/{code:str}/prefill", PROCEDURES, procs.PREFILL, procs.Prefill, procs.PrefilledForm,
             "The form, filled once only", "procedures", resident, name="prefill_procedure",
             doc="For a signed-in resident: the fields filled from the verified identity and earlier answers."),
    # Applications
    BusRoute("POST", "/api/v1/applications", PROCEDURES, apps.SUBMIT, apps.SubmitApplication, apps.Submitted,
             "Accepted, with its receipt", "applications", resident_or_staff, status=201, body=apps.SubmitApplication,
             idempotent=True, name="submit_application",
             doc="A resident submits online; a caseworker files at the counter with ``counter_applicant``."),
    BusRoute("POST", "/api/v1/applications/check", PROCEDURES, apps.CHECK, apps.SubmitApplication, apps.CheckedApplication,
             "The answers as they would be filed, and the fee", "applications", resident_or_staff,
             body=apps.SubmitApplication, name="check_application",
             doc="Check your answers: the same checks as filing, and the fee, with nothing filed."),
    BusRoute("POST", "/api/v1/me/counter-code", PROCEDURES, apps.COUNTER_CODE, apps.IssueCounterCode, apps.CounterCode,
             "Eight digits to show at the desk, valid 30 minutes", "applications", resident, status=201,
             name="counter_code", doc="A resident asks their own town for a code that links a counter filing to their account."),
    BusRoute("GET", "/api/v1/applications", PROCEDURES, apps.LIST, apps.ListApplications, apps.ApplicationList,
             "Own (resident) or the town's (staff)", "applications", resident_or_staff, name="list_applications"),
    BusRoute("GET", APPLICATION, PROCEDURES, apps.GET, apps.GetApplication, apps.ApplicationDetail,
             "With its status history", "applications", resident_or_staff, path_fields=_APPLICATION_ID,
             name="get_application"),
    BusRoute("POST", f"{APPLICATION}/transitions", PROCEDURES, apps.TRANSITION, apps.Transition, apps.ApplicationDetail,
             "After the move", "applications", resident_or_staff, body=apps.Move, path_fields=_APPLICATION_ID,
             name="transition_application",
             doc="Staff move an application on; a resident withdraws it or answers a request for information."),
    BusRoute("GET", f"{APPLICATION}/receipt", PROCEDURES, apps.RECEIPT, apps.GetApplication, apps.Receipt,
             "The town's signed receipt", "applications", resident_or_staff, path_fields=_APPLICATION_ID,
             name="get_receipt"),
    BusRoute("GET", f"{APPLICATION}/document", PROCEDURES, apps.DOCUMENT, apps.GetApplication, apps.IssuedDocument,
             "The issued document (電子交付)", "applications", resident_or_staff, path_fields=_APPLICATION_ID,
             name="get_document", doc="The document issued for an application: its signed token and a printable page."),
    # Payments
    BusRoute("POST", f"{APPLICATION}/payment", PROCEDURES, pay.PAY, pay.StartPayment, pay.PaymentPage,
             "The provider's page to pay on (the open one again, if any)", "payments", resident, status=201,
             body=pay.PaymentReturn, name="start_payment",
             doc="A resident pays their application's fee online, on the payment provider's page."),
    BusRoute("POST", f"{APPLICATION}/payment/confirm", PROCEDURES, pay.CONFIRM, pay.ConfirmPayment, apps.ApplicationDetail,
             "The application, its payment looked up at the provider", "payments", resident_or_staff,
             name="confirm_payment",
             doc="Back from the provider's page: the payment is looked up there at once."),
    BusRoute("POST", f"{APPLICATION}/counter-payment", PROCEDURES, pay.RECORD, pay.CounterPayment, apps.ApplicationDetail,
             "The application with the payment recorded", "payments", staff, body=pay.CounterRecord,
             name="record_counter_payment",
             doc="A caseworker records a fee paid (or a refund handed back) at the counter, in cash or by card."),
    BusRoute("GET", "/api/v1/payments/reconciliation", PROCEDURES, pay.RECONCILIATION, pay.Reconcile, pay.Reconciliation,
             "The town's payments and refunds of one day (Japan's time)", "payments", staff, name="reconciliation"),
    # Receipts
    BusRoute("POST", "/api/v1/verify", PROCEDURES, receipts.VERIFY, receipts.VerifyRequest, receipts.Verification,
             "Genuine or not, and who issued it", "receipts", None, body=receipts.VerifyRequest,
             guards=(limited("anonymous_post"),), name="verify",
             doc="Anyone may check a receipt or document: genuine or not, which town issued it, and when."),
    # The inbox, preferences and templates
    BusRoute("GET", "/api/v1/inbox", NOTIFICATIONS, notes.INBOX, notes.ListInbox, notes.InboxList,
             "The resident's own messages in this town, newest first", "inbox", resident, name="list_inbox"),
    BusRoute("POST", "/api/v1/inbox/{message_id:str}/read", NOTIFICATIONS, notes.READ, notes.MarkRead, notes.InboxMessage,
             "The message, marked read", "inbox", resident, path_fields={"message_id": "id"}, name="mark_read"),
    BusRoute("GET", "/api/v1/preferences", NOTIFICATIONS, notes.PREFERENCES, notes.GetPreferences, notes.Preferences,
             "How the resident is reached in this town", "inbox", resident, name="get_preferences"),
    BusRoute("PUT", "/api/v1/preferences", NOTIFICATIONS, notes.SET_PREFERENCES, notes.Preferences, notes.Preferences,
             "As saved: the inbox first, then the other channels in order", "inbox", resident, body=notes.Preferences,
             name="set_preferences", doc="Channels in fallback order (the inbox is always on) and the email address to use."),
    BusRoute("GET", "/api/v1/templates", NOTIFICATIONS, notes.TEMPLATES, notes.ListTemplates, notes.TemplateList,
             "Every kind of message: the town's template or the regional default", "templates", staff,
             name="list_templates"),
    BusRoute("PUT", "/api/v1/templates/{kind:str}", NOTIFICATIONS, notes.PUT_TEMPLATE, notes.PutTemplate, notes.Template,
             "As saved", "templates", tenant_admin, body=notes.TemplateText, name="put_template",
             doc="A town's own template for one kind of message; unknown or missing placeholders are refused by name."),
    # Channels: web push, webhooks, deliveries, dead letters
    BusRoute("GET", "/api/v1/push/key", NOTIFICATIONS, notes.PUSH_KEY, notes.GetPushKey, notes.PushKey,
             "The VAPID public key (applicationServerKey)", "push", None, name="push_key"),
    BusRoute("PUT", "/api/v1/push/subscription", NOTIFICATIONS, notes.PUT_PUSH_SUBSCRIPTION, notes.PushSubscription,
             notes.PushSubscriptionSaved, "The browser's subscription, saved", "push", resident, body=notes.PushSubscription,
             name="put_push_subscription", doc="The browser's ``PushSubscription.toJSON()``: endpoint and keys (p256dh, auth)."),
    BusRoute("DELETE", "/api/v1/push/subscription", NOTIFICATIONS, notes.DELETE_PUSH_SUBSCRIPTION,
             notes.RemovePushSubscription, notes.Removed, "Whether the subscription was there", "push", resident,
             body=notes.RemovePushSubscription, name="delete_push_subscription"),
    BusRoute("GET", "/api/v1/webhooks", NOTIFICATIONS, notes.WEBHOOKS, notes.ListWebhooks, notes.WebhookList,
             "The town's webhooks (no secrets)", "webhooks", tenant_admin, name="list_webhooks"),
    BusRoute("POST", "/api/v1/webhooks", NOTIFICATIONS, notes.ADD_WEBHOOK, notes.AddWebhook, notes.WebhookCreated,
             "The webhook and its signing secret, shown this once", "webhooks", tenant_admin, status=201,
             body=notes.AddWebhook, name="add_webhook"),
    BusRoute("DELETE", "/api/v1/webhooks/{webhook_id:str}", NOTIFICATIONS, notes.DELETE_WEBHOOK, notes.DeleteWebhook,
             notes.Removed, "Whether the webhook was there", "webhooks", tenant_admin,
             path_fields={"webhook_id": "id"}, name="delete_webhook"),
    BusRoute("GET", "/api/v1/deliveries", NOTIFICATIONS, notes.DELIVERIES, notes.ListDeliveries, notes.DeliveryList,
             "The town's outbound deliveries, newest first", "deliveries", staff, name="list_deliveries"),
    BusRoute("GET", "/api/v1/dead-letters", NOTIFICATIONS, notes.DEAD_LETTERS, notes.ListDeadLetters, notes.DeadLetterList,
             "What the town's notifications gave up on, oldest first", "deliveries", tenant_admin,
             name="list_dead_letters"),
    # Broadcasts (the council's host: region-wide ones) and push-type notice rules
    BusRoute("POST", "/api/v1/broadcasts", NOTIFICATIONS, bc.BROADCAST, bc.NewBroadcast, bc.Broadcast,
             "Written; an emergency alert or a region-wide one waits for approval", "broadcasts", broadcaster,
             status=201, body=bc.NewBroadcast, council_too=True, name="create_broadcast",
             doc="An announcement (goes at once) or an emergency alert (needs a second admin's approval)."),
    BusRoute("POST", "/api/v1/broadcasts/{broadcast_id:str}/approve", NOTIFICATIONS, bc.APPROVE_BROADCAST,
             bc.ApproveBroadcast, bc.Broadcast, "Approved and released: the fan-out has begun", "broadcasts", broadcaster,
             body=bc.Approval, body_optional=True, path_fields={"broadcast_id": "id"}, council_too=True,
             name="approve_broadcast",
             doc="The second person's approval; the author's own is refused. When nobody would receive it, "
                 "``zero_recipients_reason`` must say why it goes out anyway (422 naming it otherwise)."),
    BusRoute("GET", "/api/v1/broadcasts", NOTIFICATIONS, bc.BROADCASTS, bc.ListBroadcasts, bc.BroadcastList,
             "Newest first, with status and reach", "broadcasts", broadcaster, council_too=True, name="list_broadcasts"),
    BusRoute("GET", "/api/v1/broadcasts/{broadcast_id:str}", NOTIFICATIONS, bc.GET_BROADCAST, bc.GetBroadcast, bc.Broadcast,
             "With its progress town by town and channel by channel", "broadcasts", broadcaster,
             path_fields={"broadcast_id": "id"}, council_too=True, name="get_broadcast"),
    BusRoute("GET", "/api/v1/notice-rules", NOTIFICATIONS, bc.NOTICE_RULES, bc.ListNoticeRules, bc.NoticeRuleList,
             "The town's push-type notice rules, their runs and reach", "notices", staff, name="list_notice_rules"),
    BusRoute("POST", "/api/v1/notice-rules", NOTIFICATIONS, bc.PUT_NOTICE_RULE, bc.PutNoticeRule, bc.NoticeRule,
             "Saved (a new rule without ``id``, else the change)", "notices", tenant_admin, status=201,
             body=bc.PutNoticeRule, name="put_notice_rule"),
    BusRoute("GET", "/api/v1/notice-rules/{rule_id:str}/preview", NOTIFICATIONS, bc.PREVIEW_NOTICE_RULE, bc.NoticeRuleRef,
             bc.NoticePreview, "Who the rule reaches now; nothing is sent", "notices", staff,
             path_fields={"rule_id": "id"}, name="preview_notice_rule"),
    BusRoute("POST", "/api/v1/notice-rules/{rule_id:str}/runs", NOTIFICATIONS, bc.RUN_NOTICE_RULE, bc.NoticeRuleRef,
             bc.NoticeRun, "Run: matching consented residents not notified before are notified", "notices", tenant_admin,
             status=201, path_fields={"rule_id": "id"}, name="run_notice_rule"),
]

HANDLERS = [handler_of(route) for route in ROUTES]
