"""The actions support staff take on one customer account (or a selection), as the admin offers them.

Each names the permission it needs and the ``support.services`` function that
takes it; the admin (``support.admin_accounts``) asks for the reason, then calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from support import services as support_services
from users.models import Profile

# Accounts one bulk action may take: each is a call to a service, some over HTTP.
BULK_ACTION_LIMIT = 200


@dataclass(frozen=True)
class AccountAction:
    """An action on one account, offered as a button on its page and confirmed on a page of its own."""

    name: str
    label: str
    permission: str
    perform: Callable[..., object]
    reason_required: bool
    explanation: str
    done: str
    offered: Callable[[Profile], bool] = lambda profile: True


ACCOUNT_ACTIONS = {
    action.name: action
    for action in (
        AccountAction(
            name="deactivate",
            label="Deactivate",
            permission="support.deactivate_account",
            perform=support_services.account_deactivate,
            reason_required=True,
            explanation=(
                "The customer can no longer log in, and every token they hold stops working within seconds. "
                "Their data stays; reactivating gives the account back."
            ),
            done="deactivated: login is refused and every token stops working within seconds.",
            offered=lambda profile: profile.is_active,
        ),
        AccountAction(
            name="reactivate",
            label="Reactivate",
            permission="support.reactivate_account",
            perform=support_services.account_reactivate,
            reason_required=False,
            explanation="The customer can log in again (with a fresh login: old tokens stay revoked).",
            done="reactivated: the customer can log in again within seconds.",
            offered=lambda profile: not profile.is_active,
        ),
        AccountAction(
            name="end-sessions",
            label="End all sessions",
            permission="support.end_account_sessions",
            perform=support_services.account_sessions_end,
            reason_required=True,
            explanation=(
                "Every device the customer is signed in on is signed out at once. "
                "Their password stays: they can log in again straight away."
            ),
            done="every session ended: each token the customer held has stopped working.",
        ),
        AccountAction(
            name="unlock",
            label="Unlock",
            permission="support.unlock_account",
            perform=support_services.account_unlock,
            reason_required=False,
            explanation=(
                "After too many wrong passwords an account is locked for a while. "
                "Unlocking lets the customer try again now."
            ),
            done="unlocked: the customer can log in now.",
        ),
        AccountAction(
            name="delete",
            label="Delete account",
            permission="support.delete_account",
            perform=support_services.account_delete,
            reason_required=True,
            explanation=(
                "The account is erased from every service: profile, preferences and sign-in activity here at "
                "once, the login and every token at the sign-in service within seconds. This cannot be undone."
            ),
            done="deleted: the account is erased from every service.",
        ),
    )
}
