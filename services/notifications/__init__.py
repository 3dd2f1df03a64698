"""The notifications service: the residents' inbox, their channel preferences, towns' templates, email.

Sub-packages, one per sub-domain (``app.py`` assembles them; ``models.py`` holds the inbox's and
the deliveries' tables; ``access.py`` who may do what):

- ``inbox``: the resident's messages (``messages``), news, the regional and town templates, and ``application_events`` (the durable consumer ``notifications-applications``
  of the procedures' application events, which writes the applicant's message);
- ``delivery``: the resident's channel ``preferences``, ``routing`` (which channel, falling back to the next), the ``sender`` (drains
  deliveries fairly across towns under ``ratelimit``'s per-town buckets and ``quiet_hours``),
  ``outgoing``, the staff's delivery tracking (``deliveries``) and ``dead_letters``;
- ``channels``: ``mailer`` (SMTP), ``webpush`` and ``push`` (subscriptions, the VAPID key),
  ``webhooks`` and ``webhook_address``, and ``smtp_sink`` (the development sink, ``aizu serve smtp-sink``);
- ``broadcasts``: ``authoring`` (announcements and emergency alerts, approved by a second person),
  ``tables``, ``residents`` (the residents a town imported), ``fanout`` and ``lanes`` (written to
  every targeted resident exactly once, alerts on a lane of their own), ``notice_rules``
  (push-type notices) and ``alert_watch``.

Settings (environment): ``AIZU_NOTIFICATIONS_DATABASE_URL`` (default ``var/notifications.db``),
``AIZU_SMTP_HOST`` / ``AIZU_SMTP_PORT`` (the relay; default 127.0.0.1:2525, where ``aizu dev``
runs the sink), ``AIZU_SMTP_USER`` / ``AIZU_SMTP_PASSWORD``, ``AIZU_SMTP_STARTTLS`` (unset: when
offered; ``1``: required; ``0``: never), ``AIZU_SMTP_FROM`` (default ``noreply@{tenant}.<base
domain>``), ``AIZU_SMTP_TIMEOUT`` (seconds), ``AIZU_SMTP_RETRY_SECONDS`` (delays between attempts
after a temporary failure, comma-separated; default ``60,300,1800,7200``),
``AIZU_SMTP_CONNECTIONS`` (kept open to the relay, default 8), and for the sink ``AIZU_MAIL_DIR``
(default ``var/mail``). Web push: ``AIZU_VAPID_DIR`` (the deployment's key pair, default
``var/vapid``), ``AIZU_VAPID_CONTACT``, ``AIZU_PUSH_HOSTS`` (push services allowed, host suffixes),
``AIZU_PUSH_ALLOW_HTTP`` (tests only), ``AIZU_PUSH_TIMEOUT``. Webhooks: ``AIZU_WEBHOOK_ALLOW_HTTP``
(tests only). Rate limits per town and channel: ``AIZU_RATE_EMAIL`` / ``AIZU_RATE_PUSH`` /
``AIZU_RATE_WEBHOOK`` as ``rate,burst`` per second.
"""
