"""The portal service: each town's resident pages, the staff console and the council's dashboard,
rendered as HTML on the server (they work without JavaScript), and the regional FAQ.

The gateway forwards every page request (``aizu.<tenant>.portal.page``) with the caller's
principal; the portal reads what a page shows from the other services over the bus, never from
their databases.
"""
