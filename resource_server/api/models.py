from django.db import models


class Note(models.Model):
    """A note kept by the resource server, owned by the token's subject (``sub``)."""

    owner = models.CharField(max_length=255, db_index=True)
    text = models.TextField(max_length=10_000)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.text[:50]
