import os

from introspection import revocations

# No thread follows the revocation log while unit tests run: tests clear the token cache,
# which such a thread would read as a flush and answer by clearing the local layer at
# random moments. Tests of the log run followers of their own.
revocations.poller.pid = os.getpid()
# Its first read, which a process makes before it trusts an answer from the shared cache.
revocations.follower.poll()
