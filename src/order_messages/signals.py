"""Signals for the host store. Sent after the transaction commits; the app never listens
to them itself.

- ``message_posted(sender=Message, message, conversation)``: any message, including the
  system messages of dispute events.
- ``dispute_opened(sender=Dispute, dispute, conversation)``
- ``dispute_escalated(sender=Dispute, dispute, conversation)``: the seller did not answer
  by the deadline; the store's staff are told.
- ``dispute_closed(sender=Dispute, dispute, conversation)``: resolved, ``dispute.outcome``
  says how (the adapter's ``dispute_resolved`` hook is called as well).
"""

from django.dispatch import Signal

message_posted = Signal()
dispute_opened = Signal()
dispute_escalated = Signal()
dispute_closed = Signal()
