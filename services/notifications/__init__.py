"""The notifications service: the residents' inbox, their channel preferences, towns' templates, email.

Parts: ``consumer`` (the durable JetStream consumer ``notifications-applications`` of the
procedures' application events), ``inbox``, ``preferences``, ``town_templates`` and ``deliveries``
(the bus endpoints), ``templates`` (placeholders, regional defaults, rendering), ``mailer`` (the
SMTP sender) and ``smtp_sink`` (the development sink, ``aizu serve smtp-sink``).

Settings (environment): ``AIZU_NOTIFICATIONS_DATABASE_URL`` (default ``var/notifications.db``),
``AIZU_SMTP_HOST`` / ``AIZU_SMTP_PORT`` (the relay; default 127.0.0.1:2525, where ``aizu dev``
runs the sink), ``AIZU_SMTP_USER`` / ``AIZU_SMTP_PASSWORD``, ``AIZU_SMTP_STARTTLS`` (unset: when
offered; ``1``: required; ``0``: never), ``AIZU_SMTP_FROM`` (default ``noreply@{tenant}.<base
domain>``), ``AIZU_SMTP_TIMEOUT`` (seconds), ``AIZU_SMTP_RETRY_SECONDS`` (delays between attempts
after a temporary failure, comma-separated; default ``60,300,1800,7200``), and for the sink
``AIZU_MAIL_DIR`` (default ``var/mail``).
"""
