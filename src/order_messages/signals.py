"""Signals for the host store. Sent after the transaction commits; the app never listens
to them itself.

- ``message_posted(sender=Message, message, conversation)``: any message, including the
  system messages of dispute events.
- ``dispute_opened(sender=Dispute, dispute, conversation)``
- ``dispute_closed(sender=Dispute, dispute, conversation)``
"""

from django.dispatch import Signal

message_posted = Signal()
dispute_opened = Signal()
dispute_closed = Signal()
