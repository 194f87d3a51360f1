from django.db import models


class DemoEmail(models.Model):
    """A copy of a sent e-mail, shown in the demo mailbox."""

    sent_at = models.DateTimeField(auto_now_add=True)
    subject = models.CharField(max_length=998)
    to = models.TextField()
    headers = models.TextField()
    text = models.TextField()
    html = models.TextField(blank=True)
    reply_to = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # The whole message (RFC 822), as an MTA would deliver it.
    raw = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self):
        return self.subject

    @classmethod
    def record(cls, email):
        message = email.message()
        html = next(
            (
                content
                for content, mimetype in getattr(email, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        return cls.objects.create(
            subject=email.subject,
            to=", ".join(email.recipients()),
            headers=headers,
            text=email.body,
            html=html,
            reply_to=", ".join(email.reply_to),
            message_id=message["Message-ID"] or "",
            raw=message.as_bytes().decode("utf-8", "replace"),
        )
