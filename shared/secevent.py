"""The Security Event Tokens the AS pushes and the APIs receive (RFC 8417, RFC 8935): one vocabulary for both.

The event types are OpenID Shared Signals ones (CAEP, RISC, SSF); docs/revocation.md
says what each one revokes.
"""

# RFC 8417 §2.3: the JOSE "typ" of a SET.
TYPE = "secevent+jwt"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
STREAM_UPDATED = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
