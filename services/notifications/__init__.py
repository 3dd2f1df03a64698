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

Settings: ``settings.py`` (``NotificationsSettings``, read from the environment once at start;
every variable is listed in ``deploy/README.md``).
"""
