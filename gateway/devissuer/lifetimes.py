"""How long each credential the development issuer hands out stays valid, in seconds.

The same numbers as the Keycloak realm (IDENTITY.md): a signing key must outlive every token it
signed, so key retention is derived from the longest of these.
"""

from __future__ import annotations

ACCESS_TOKEN = 300
ID_TOKEN = 300
REFRESH_TOKEN = 1800
AUTHORIZATION_CODE = 60
#: Time a person has to pick a user on the sign-in page before the request must be restarted.
SIGN_IN = 600

#: A retired key stays in the JWKS this long: a refresh token signed just before rotation lives 30 min.
KEY_RETENTION = max(ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN)
