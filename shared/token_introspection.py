"""RFC 9701's names, for the AS that signs introspection answers and the APIs that verify them."""

# RFC 9701 §4, §5: the Accept a resource server sends and the Content-Type of the signed answer.
MEDIA_TYPE = "application/token-introspection+jwt"
# RFC 9701 §5: the JOSE "typ" of the signed answer.
TYPE = "token-introspection+jwt"
# RFC 9701 §5: the claim holding the RFC 7662 introspection object.
CLAIM = "token_introspection"
