"""The access policy: the one place that decides who may read and write an order's
conversations, in which role, who sees the customer's contact details, who handles
disputes, and who is told of a message.

Pages, the API, the back office, e-mails, replies by e-mail, the live stream and the
participant bookkeeping all ask it. It asks the store (the adapter) about the present:
the order's customer and e-mail address now, the vendor's staff now, never a copy stored
when a conversation began. Guests are people holding a link or a reply address issued to
an e-mail address; they stay the customer only while the order still names that address.

``access_*`` functions raise ``Http404`` when the person may not see the thing at all (so
its existence is not revealed); ``check_*`` functions raise ``PermissionDenied`` when they
may see it but not do the action. Actions trust what these return.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from .adapter import STORE, Order, SubOrder, get_adapter
from .conf import app_settings
from .errors import InvalidTransition
from .models import (
    ApiToken,
    Attachment,
    Conversation,
    Mute,
    Participant,
    Role,
    SavedReply,
    WebhookEndpoint,
)
from .routing import conversation_targets, vendors_take_part


@dataclass(frozen=True)
class Actor:
    """Who does something: a user (None for a guest), the role they act in, their name."""

    user: object
    role: str
    name: str


def _signed_in(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def is_store_staff(user) -> bool:
    """Store staff: those who read every conversation and handle disputes (the adapter's
    ``can_manage_conversations``)."""
    return _signed_in(user) and get_adapter().can_manage_conversations(user)


def vendor_keys_of(user) -> frozenset[str]:
    """The vendors this person answers for now. ``STORE`` is the store's own sub-order,
    answered by store staff: never a vendor's, whatever the adapter says."""
    if not _signed_in(user):
        return frozenset()
    return frozenset(get_adapter().get_user_vendor_keys(user)) - {STORE}


def same_address(a: str, b: str) -> bool:
    """E-mail addresses compared as mail systems treat them in practice: case aside."""
    return bool(a) and bool(b) and a.strip().lower() == b.strip().lower()


def is_order_customer(*, order: Order, user=None, guest_email: str = "") -> bool:
    """Whether this person is the order's customer now: its account, or for an order placed
    without one, the holder of the address it names."""
    if _signed_in(user):
        return order.customer_id is not None and order.customer_id == user.pk
    return order.customer_id is None and same_address(guest_email, order.customer_email)


@dataclass(frozen=True)
class Viewer:
    """What one person may do with one order's conversations, as the store says now.

    ``sub_orders`` are the conversations they may read, in display order."""

    order: Order
    user: object  # None for a guest
    is_customer: bool
    vendor_keys: frozenset[str]
    is_store_staff: bool
    sub_orders: list[SubOrder]

    def may_read(self, vendor_key: str) -> bool:
        return any(s.vendor_key == vendor_key for s in self.sub_orders)

    def sub_order(self, vendor_key: str) -> SubOrder:
        found = next((s for s in self.sub_orders if s.vendor_key == vendor_key), None)
        if found is None:
            raise Http404("No such conversation.")
        return found

    def role_in(self, sub_order: SubOrder) -> str:
        if sub_order.vendor_key in self.vendor_keys:
            return Role.VENDOR
        if self.is_customer:
            return Role.CUSTOMER
        return Role.STAFF

    def actor_in(self, sub_order: SubOrder) -> Actor:
        role = self.role_in(sub_order)
        if role == Role.CUSTOMER and self.order.customer_name:
            # The name this order gives its customer: what the store shows the seller.
            return Actor(self.user, role, self.order.customer_name)
        if self.user is not None:
            return Actor(self.user, role, get_adapter().get_display_name(self.user))
        return Actor(None, role, self.order.customer_name)

    def wrote(self, message) -> bool:
        """Whether a message is this person's own: written from their account, or, for the
        guest customer (no account), written as the customer without one."""
        if self.user is not None:
            return message.author_id is not None and message.author_id == self.user.pk
        return (
            self.is_customer and message.author_role == Role.CUSTOMER and message.author_id is None
        )

    def sees_contacts(self, sub_order: SubOrder) -> bool:
        """The customer's e-mail address: the customer and the store see it; vendors only
        where ``ORDER_MESSAGES_MASK_CONTACTS`` is off (B2)."""
        return self.role_in(sub_order) != Role.VENDOR or not app_settings.MASK_CONTACTS

    def shows_customer_contact(self, sub_order: SubOrder) -> bool:
        """Whether a page shows the customer's address (customers know their own)."""
        return self.role_in(sub_order) != Role.CUSTOMER and self.sees_contacts(sub_order)

    @property
    def sees_order_contacts(self) -> bool:
        """The order's contact details, shown once for all its conversations."""
        return any(self.sees_contacts(s) for s in self.sub_orders)

    def may_handle_disputes(self, sub_order: SubOrder) -> bool:
        """Customers and store staff open and close disputes; vendors do not (S7, S8, B2)."""
        return self.role_in(sub_order) in (Role.CUSTOMER, Role.STAFF)

    def may_open_dispute(self, sub_order: SubOrder, conversation: Conversation | None) -> bool:
        """Whether this person may open a dispute in this conversation now (the page offers
        "Open dispute" exactly then; ``check_may_open_dispute`` says why not)."""
        return _dispute_refusal(self, sub_order, conversation) is None

    def may_open_dispute_once_begun(self, sub_order: SubOrder) -> bool:
        """Whether this person may open a dispute here once the conversation has begun:
        the page keeps the dialog ready for the first message sent from it."""
        return _refusal_here(self, sub_order) is None

    def may_resolve_disputes(self, sub_order: SubOrder) -> bool:
        """Store staff resolve a dispute with an outcome; a customer can only withdraw."""
        return self.role_in(sub_order) == Role.STAFF


def viewer_of_order(*, order: Order, user=None, guest_email: str = "") -> Viewer | None:
    """What this person may do with the order, or None when they may see nothing of it.

    Someone signed in who holds the guest link of an order placed without an account is
    its customer as that guest: they write under the order's name, not their account's."""
    by_account = _signed_in(user) and is_order_customer(order=order, user=user)
    by_link = is_order_customer(order=order, guest_email=guest_email)
    if by_link and not by_account:
        user = None
    signed_in = _signed_in(user)
    is_customer = by_account or by_link
    vendor_keys = vendor_keys_of(user) if signed_in else frozenset()
    store_staff = is_store_staff(user)
    targets = conversation_targets(order)
    if not (is_customer or store_staff):
        targets = [t for t in targets if t.vendor_key in vendor_keys]
    if not targets:
        return None
    return Viewer(
        order=order,
        user=user if signed_in else None,
        is_customer=is_customer,
        vendor_keys=vendor_keys,
        is_store_staff=store_staff,
        sub_orders=targets,
    )


def access_order(*, user, order_number: str, guests: Mapping[str, str] | None = None) -> Viewer:
    """The conversations of an order this person may see, or Http404. ``guests`` maps the
    order numbers of the guest links this browser followed to the address each link was
    issued to."""
    if "\x00" in order_number:  # no order has one, and PostgreSQL could not look it up
        raise Http404("No such order.")
    order = get_adapter().get_order(order_number)
    if order is None:
        raise Http404("No such order.")
    guest_email = (guests or {}).get(order.number, "")
    viewer = viewer_of_order(order=order, user=user, guest_email=guest_email)
    if viewer is None:
        raise Http404("No such order.")
    return viewer


def check_may_handle_disputes(*, viewer: Viewer, sub_order: SubOrder) -> None:
    if not viewer.may_handle_disputes(sub_order):
        raise PermissionDenied(gettext("Only the customer and the store handle disputes."))


def _dispute_refusal(
    viewer: Viewer, sub_order: SubOrder, conversation: Conversation | None
) -> Exception | None:
    """Why this person may not open a dispute in this conversation now, or None.

    A dispute brings the store into a conversation with a seller: in the store's own
    conversation the store is already the one answering, so there is no one to call in.
    And it follows a question the seller was given the chance to answer: before the
    first message there is nothing to dispute yet."""
    if refusal := _refusal_here(viewer, sub_order):
        return refusal
    if conversation is None or conversation.last_seq == 0:
        return InvalidTransition(
            gettext(
                "Write to %(seller)s first: a dispute can be opened once the conversation "
                "has begun."
            )
            % {"seller": sub_order.vendor_name}
        )
    return None


def _refusal_here(viewer: Viewer, sub_order: SubOrder) -> PermissionDenied | None:
    """Why this person may never open a dispute in this conversation, or None."""
    if not viewer.may_handle_disputes(sub_order):
        return PermissionDenied(gettext("Only the customer and the store handle disputes."))
    if sub_order.vendor_key == STORE:
        return PermissionDenied(
            gettext("The store answers this conversation itself: write to it here.")
        )
    return None


def check_may_open_dispute(
    *, viewer: Viewer, sub_order: SubOrder, conversation: Conversation | None
) -> None:
    """Refuse opening a dispute where ``Viewer.may_open_dispute`` does not offer it:
    PermissionDenied for who may never do it here, InvalidTransition (409) before the
    conversation's first message. Whether one is open already is the transition table's
    to say (``actions.disputes``)."""
    refusal = _dispute_refusal(viewer, sub_order, conversation)
    if refusal is not None:
        raise refusal


# -- one conversation ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationAccess:
    viewer: Viewer
    sub_order: SubOrder

    @property
    def role(self) -> str:
        return self.viewer.role_in(self.sub_order)


def viewer_of_conversation(
    *, conversation: Conversation, user=None, guest_email: str = "", order: Order | None = None
) -> ConversationAccess | None:
    """This person's access to one conversation now, or None. ``order``: the store's order,
    when the caller already asked for it."""
    order = order or get_adapter().get_order(conversation.order_number)
    if order is None:
        return None
    viewer = viewer_of_order(order=order, user=user, guest_email=guest_email)
    if viewer is None or not viewer.may_read(conversation.vendor_key):
        return None
    return ConversationAccess(viewer, viewer.sub_order(conversation.vendor_key))


def may_read_conversations(*, user, conversation_ids: Collection[int]) -> set[int]:
    """Those of these conversations the user may read now (the live stream asks before it
    passes an event on)."""
    if not _signed_in(user) or not conversation_ids:
        return set()
    conversations = list(Conversation.objects.filter(pk__in=list(conversation_ids)))
    orders = get_adapter().get_orders({c.order_number for c in conversations})
    return {
        c.pk
        for c in conversations
        if c.order_number in orders
        and viewer_of_conversation(conversation=c, user=user, order=orders[c.order_number])
    }


def access_attachment(
    *, user, attachment_id: int, guests: Mapping[str, str] | None = None
) -> Attachment:
    """A file this person may open now, or Http404: a posted one to those who may read its
    conversation, an upload not yet posted to the person who uploaded it."""
    attachment = _attachment(attachment_id)
    guest_email = (guests or {}).get(attachment.order_number, "")
    if attachment.conversation is not None:
        found = viewer_of_conversation(
            conversation=attachment.conversation, user=user, guest_email=guest_email
        )
        if found is None:
            raise Http404("No such file.")
        return attachment
    viewer = access_order(user=user, order_number=attachment.order_number, guests=guests)
    if viewer.user is None:
        uploaded_here = attachment.by_guest
    else:
        uploaded_here = attachment.uploaded_by_id == viewer.user.pk
    if not viewer.may_read(attachment.vendor_key) or not uploaded_here:
        raise Http404("No such file.")
    return attachment


def access_attachment_by_address(*, attachment_id: int, email: str) -> Attachment:
    """A posted file opened from the link in an e-mail to a guest's address
    (``attachments.links``), or Http404: it works while the order still names it."""
    attachment = _attachment(attachment_id)
    if attachment.conversation is None:
        raise Http404("No such file.")
    found = viewer_by_address(conversation=attachment.conversation, email=email)
    if found is None:
        raise Http404("No such file.")
    return attachment


def _attachment(attachment_id: int) -> Attachment:
    found = (
        Attachment.objects.select_related("conversation")
        .filter(pk=attachment_id, discarded_at__isnull=True)
        .first()
    )
    if found is None:
        raise Http404("No such file.")
    return found


# -- who takes part ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    """Who takes part in a conversation by right now, with the role they post in: the
    customer (an account), those who answer for the vendor (or the store), and for a
    vendor's conversation the store's staff, who join when they post or a dispute opens."""

    customer_id: int | None
    answerers: Mapping[int, str]
    vendor_key: str

    @cached_property
    def store_staff(self) -> frozenset[int]:
        """The store's staff, for a vendor's conversation; asked of the store only when a
        participant's place depends on it (most conversations have no staff in them)."""
        if self.vendor_key == STORE:
            return frozenset()
        return frozenset(user.pk for user in get_adapter().get_store_staff() if user.is_active)

    def may_stay(self, user_id: int, role: str) -> bool:
        """Whether a participant who took part in this role still does: a customer only
        while the order is theirs, the others while they answer for it or are store staff."""
        if role == Role.CUSTOMER:
            return user_id == self.customer_id
        return user_id in self.answerers or user_id in self.store_staff

    def by_right(self) -> dict[int, str]:
        """Those who are participants without having to join: customer and answerers."""
        found = dict(self.answerers)
        if self.customer_id is not None:
            found[self.customer_id] = Role.CUSTOMER
        return found


def seller_role(vendor_key: str) -> str:
    """The role of those who answer for a conversation's seller: the vendor's staff, or
    the store's staff in the store's own conversation. Their replies stop a dispute's
    clock and end a customer's wait."""
    return Role.STAFF if vendor_key == STORE else Role.VENDOR


def answerers(vendor_key: str) -> tuple[list, str]:
    """The users who answer a conversation, and the role they post with."""
    adapter = get_adapter()
    if vendor_key == STORE:
        return adapter.get_store_staff(), Role.STAFF
    return adapter.get_vendor_staff(vendor_key), Role.VENDOR


def members_of(*, order: Order | None, vendor_key: str) -> Members:
    """Who takes part in the conversation of this order and vendor now. An order the store
    no longer has keeps those who answer for it, and no customer."""
    staff, role = answerers(vendor_key)
    customer_id = order.customer_id if order is not None else None
    if vendor_key != STORE and not vendors_take_part():
        # Left over from a mode where vendors took part: only store staff read it now.
        staff, customer_id = [], None
    return Members(
        customer_id=customer_id,
        answerers={user.pk: role for user in staff if user.is_active},
        vendor_key=vendor_key,
    )


def departed_answerers(*, vendor_key: str) -> QuerySet:
    """Participants of a vendor's conversations who answered for it and no longer do."""
    staff = {user.pk for user in answerers(vendor_key)[0] if user.is_active}
    return Participant.objects.filter(
        conversation__vendor_key=vendor_key, role=Role.VENDOR
    ).exclude(user_id__in=staff)


def store_staff_members() -> dict[int, str]:
    """The store's staff, who join a conversation when a dispute opens in it."""
    staff, role = answerers(STORE)
    return {user.pk: role for user in staff if user.is_active}


# -- who is told --------------------------------------------------------------------------------


def viewer_by_address(
    *, conversation: Conversation, user=None, email: str, order: Order | None = None
) -> ConversationAccess | None:
    """The access of a person known by an e-mail address (a recipient, the sender of a
    reply): an account whose address it still is, or the guest customer while the order
    still names it. None when that person may no longer read the conversation."""
    if user is not None:
        if not same_address(email, user.email):
            return None  # the account's address changed since
        return viewer_of_conversation(conversation=conversation, user=user, order=order)
    return viewer_of_conversation(conversation=conversation, guest_email=email, order=order)


def may_receive_email(
    *,
    conversation: Conversation,
    user=None,
    email: str,
    is_store_inbox: bool = False,
    order: Order | None = None,
) -> bool:
    """Whether an e-mail about this conversation may still go to this address: to a person
    who may read it now (``viewer_by_address``), or to the store's own orders address."""
    if is_store_inbox:
        return same_address(email, app_settings.STORE_EMAIL)
    found = viewer_by_address(conversation=conversation, user=user, email=email, order=order)
    return found is not None


def guest_recipient(*, conversation: Conversation) -> tuple[str, str] | None:
    """(address, name) of the guest customer to tell of a new message, or None when the
    order has an account. Read from the conversation's copy of the order's customer, which
    the posting action has just brought up to date with the store."""
    if conversation.customer_id is not None or not conversation.customer_email:
        return None
    return conversation.customer_email, conversation.customer_name


# -- the back office ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The conversations one person answers for: a vendor's, or all of them for the store."""

    user: object
    vendor_keys: frozenset[str]
    is_store: bool

    def conversations(self) -> QuerySet[Conversation]:
        if self.is_store:
            return Conversation.objects.all()
        if not vendors_take_part():  # left over from a mode where vendors took part
            return Conversation.objects.none()
        return Conversation.objects.filter(vendor_key__in=self.vendor_keys)

    def role_in(self, conversation: Conversation) -> str:
        return Role.VENDOR if conversation.vendor_key in self.vendor_keys else Role.STAFF

    @property
    def sees_contacts(self) -> bool:
        return self.is_store or not app_settings.MASK_CONTACTS

    @property
    def figure_keys(self) -> frozenset[str] | None:
        """The sellers whose response figures this person sees: None for every one (the
        store's staff), else their own vendors' (none where vendors take no part)."""
        if self.is_store:
            return None
        return self.vendor_keys if vendors_take_part() else frozenset()

    def sees_figures_of(self, vendor_key: str) -> bool:
        keys = self.figure_keys
        return keys is None or vendor_key in keys


def access_backoffice(*, user) -> Scope:
    """The back-office scope of a logged-in user, or PermissionDenied for customers and for
    staff without ``manage_conversations``."""
    is_store = is_store_staff(user)
    vendor_keys = vendor_keys_of(user)
    if not (is_store or vendor_keys):
        raise PermissionDenied(gettext("Only vendors and store staff have a back office."))
    return Scope(user=user, vendor_keys=vendor_keys, is_store=is_store)


def access_vendor_figures(*, user, vendor_key: str) -> Scope:
    """The scope of someone who may see this seller's response figures: store staff for
    every seller, a vendor's staff for their own. Another vendor's do not exist for them
    (Http404); customers have no back office (PermissionDenied)."""
    scope = access_backoffice(user=user)
    # No vendor key has a NUL, and PostgreSQL could not look it up.
    if "\x00" in vendor_key or not scope.sees_figures_of(vendor_key):
        raise Http404("No such vendor.")
    return scope


def access_scope_conversation(*, scope: Scope, conversation_id: int) -> Conversation:
    """One conversation of the back-office scope, or Http404 for one outside it (another
    vendor's does not exist for them)."""
    found = scope.conversations().filter(pk=conversation_id).first()
    if found is None:
        raise Http404("No such conversation.")
    return found


def in_backoffice(user) -> bool:
    """True for users whose Messages page is the back office."""
    if not _signed_in(user):
        return False
    return is_store_staff(user) or bool(vendor_keys_of(user))


# -- saved replies -----------------------------------------------------------------------------


def may_share_replies(scope: Scope) -> bool:
    """Only store staff make a reply everyone may use."""
    return scope.is_store


def check_may_share_reply(*, scope: Scope, shared: bool) -> None:
    if shared and not may_share_replies(scope):
        raise PermissionDenied(gettext("Only the store's staff share replies."))


def may_edit_saved_reply(scope: Scope, reply: SavedReply) -> bool:
    """A person's own unshared reply is theirs to change; a shared one is the store's."""
    if reply.shared:
        return scope.is_store
    return reply.owner_id == scope.user.pk


def access_saved_reply(*, scope: Scope, reply_id: int) -> SavedReply:
    """A reply this person may change, or Http404 when they may not even see it (someone
    else's own), PermissionDenied when they may see it but not change it (a shared one,
    for a vendor)."""
    reply = SavedReply.objects.filter(Q(owner=scope.user) | Q(shared=True), pk=reply_id).first()
    if reply is None:
        raise Http404("No such saved reply.")
    if not may_edit_saved_reply(scope, reply):
        raise PermissionDenied(gettext("Only the store's staff change shared replies."))
    return reply


# -- a person's own settings -------------------------------------------------------------------


def access_mute(*, user, conversation_id: int) -> Mute:
    """The mute of one conversation's e-mails to this person's address, or Http404: the
    mute is theirs by the address it was made for, whoever may read the conversation now."""
    if not _signed_in(user) or not user.email:
        raise Http404("No such muted conversation.")
    found = (
        Mute.objects.select_related("conversation")
        .filter(conversation_id=conversation_id, email__iexact=user.email.strip())
        .first()
    )
    if found is None:
        raise Http404("No such muted conversation.")
    return found


def access_api_token(*, user, token_id: int) -> ApiToken:
    """One of this person's own active tokens, or Http404 (someone else's does not exist
    for them)."""
    found = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if found is None:
        raise Http404("No such token.")
    return found


# -- outgoing webhooks ----------------------------------------------------------------------


def check_manages_webhooks(*, user) -> None:
    """Only the store's staff choose where the store's events go (the admin's rule too)."""
    if not is_store_staff(user):
        raise PermissionDenied(gettext("Only the store's staff manage webhooks."))


def access_webhook_endpoint(*, user, endpoint_id: int) -> WebhookEndpoint:
    check_manages_webhooks(user=user)
    found = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if found is None:
        raise Http404("No such webhook endpoint.")
    return found
