"""A demo OpenID Connect relying party: a small web app that signs its users in at the AS.

It is no part of either server. It uses Authlib's Django client, a library nobody
here wrote, for discovery, the code flow with PKCE (S256) and nonce, ID token
verification against the JWKS, userinfo and RP-initiated logout, then calls the
first API with the access token. ``make demo`` serves it (``python -m tests.relying_party``).
"""
