"""The notifications service assembled: its endpoints, database, event consumers, fan-out and sender.

Everything the service runs beside its endpoints is built here, in :func:`assemble`, once the
connection and the database are known, and handed to whoever uses it; the runtime begins the
workers in :attr:`Notifications.workers`' order and stops them in the reverse one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext

from contracts.tenants import COUNCIL_SLUG, Region, load_region
from services.notifications.broadcasts import alert_watch
from services.notifications.broadcasts.alert_watch import AlertWatch, OfficeMail
from services.notifications.broadcasts.authoring import Broadcasts
from services.notifications.broadcasts.lanes import ALERTS, ANNOUNCEMENTS, AlertsFirst, FanoutWorker
from services.notifications.broadcasts.notice_rules import NoticeRules
from services.notifications.broadcasts.tables import BroadcastOutbox
from services.notifications.channels import push, webhooks
from services.notifications.channels.mailer import EmailChannel
from services.notifications.channels.webhooks import WebhookChannel
from services.notifications.channels.webpush import VapidKeys, WebPushChannel
from services.notifications.delivery import dead_letters, deliveries, preferences
from services.notifications.delivery.ratelimit import Limits
from services.notifications.delivery.sender import Sender
from services.notifications.inbox import messages, news, town_templates
from services.notifications.inbox.application_events import ApplicationEvents
from services.notifications.models import OutboxRow
from services.notifications.settings import NotificationsSettings
from services.runtime import streams
from services.runtime.outbox import OutboxRelay
from services.runtime.service import Resources, ServiceApp, Worker

NAME = "notifications"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Notifications:
    js: JetStreamContext
    #: Delivery outcomes and dead letters, committed with the delivery, relayed town by town.
    outbox: OutboxRelay
    sender: Sender
    #: The procedures' application events, turned into the applicants' messages.
    events: ApplicationEvents
    #: Released broadcasts' work items (the towns' and the council's), relayed.
    broadcast_relay: OutboxRelay
    #: The fan-out lanes: alerts bound before announcements.
    alerts: FanoutWorker
    announcements: FanoutWorker
    alert_watch: AlertWatch
    office_mail: OfficeMail

    @property
    def workers(self) -> Sequence[Worker]:
        # Stopped in the reverse order: the fan-out and the consumer (which queue deliveries and
        # wake the sender) before the sender finishes its pass, the outbox relays last.
        return (self.office_mail, self.outbox, self.sender, self.events, self.broadcast_relay,
                self.alerts, self.announcements, self.alert_watch)


def build(settings: NotificationsSettings, region: Region | None = None) -> ServiceApp[Notifications]:
    """``region``: None: the towns of ``settings.runtime.tenants``."""
    region = region or load_region(settings.runtime.tenants)
    smtp, push_settings = settings.smtp, settings.push
    vapid = VapidKeys.load_or_create(push_settings.vapid_dir)

    async def assemble(app: ServiceApp[Notifications], res: Resources) -> Notifications:
        await streams.ensure(res.js, streams.EVENTS, streams.DEAD_LETTERS, replicas=settings.runtime.stream_replicas)
        towns = [t.slug for t in region.towns]
        outbox = OutboxRelay(res.sessions, OutboxRow, res.js, tenants=towns)
        channels = {"email": EmailChannel(region, smtp), "push": WebPushChannel(push_settings, vapid),
                    "webhook": WebhookChannel(allow_local=settings.webhook_allow_http)}
        sender = Sender(res.sessions, region, channels, smtp.retry_backoff,
                        Limits(settings.rate_limits, settings.emergency_rate_limits),
                        poll_seconds=settings.sender_poll_seconds, on_outbox=outbox.notify)
        relay = OutboxRelay(res.sessions, BroadcastOutbox, res.js, tenants=[*towns, COUNCIL_SLUG])
        mail = OfficeMail(region, smtp)
        priority = AlertsFirst()
        lanes = [FanoutWorker(res.sessions, region, lane, priority, on_delivery=sender.notify, chunk=settings.broadcast_chunk)
                 for lane in (ALERTS, ANNOUNCEMENTS)]
        parts = Notifications(
            js=res.js, outbox=outbox, sender=sender,
            events=ApplicationEvents(res.sessions, region, on_delivery=sender.notify),
            broadcast_relay=relay, alerts=lanes[0], announcements=lanes[1],
            alert_watch=AlertWatch(res.sessions, region, mail, settings.alert_deadline), office_mail=mail,
        )
        Broadcasts(region, relay, on_pending=mail.approval_needed).register(app)
        NoticeRules(region, sender).register(app)
        alert_watch.register(app, parts.alert_watch, settings.alert_deadline)
        dead_letters.register(app, res.js)
        return parts

    app: ServiceApp[Notifications] = ServiceApp(
        NAME, VERSION, "Residents' inbox, channel preferences, towns' templates and email", assemble=assemble,
        transaction_pooling=settings.runtime.transaction_pooling)
    messages.register(app)
    preferences.register(app)
    town_templates.register(app)
    deliveries.register(app)
    push.register(app, push_settings, vapid)
    webhooks.register(app, allow_http=settings.webhook_allow_http)
    news.register(app)
    return app
