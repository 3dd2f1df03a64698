"""A payment provider of our own on loopback, speaking Stripe's API, for development and tests.

The platform's payment adapter (``services/procedures/psp.py``) talks to it through Stripe's
official SDK exactly as it would talk to Stripe: Checkout Sessions with a hosted page where the
resident types a card, PaymentIntents, charges, refunds and balance transactions, and webhooks
signed the way Stripe signs them. It also does what a real provider does on a bad day, on
command: declines cards, delays, repeats, holds back and reorders its notifications, so that the
platform's handling of each can be tested.
"""

#: The development keys (never a real provider's): ``make dev`` and the tests use these.
SECRET_KEY = "sk_test_aizu_standin"
WEBHOOK_SECRET = "whsec_aizu_standin"
