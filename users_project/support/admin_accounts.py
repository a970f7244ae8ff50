"""Customer accounts in the staff admin: support staff's tool (docs/support.md).

Support staff find an account, read everything about it but its password, and
act on it. Nothing here writes a profile itself: every change goes through a
``support.services`` action, which calls the users service's own functions (so
the auth service follows through their events) or the auth service's internal
endpoints, and records who did what and why (``support.StaffAction``).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from common.emails import canonical_email
from support import selectors as support_selectors
from support import services as support_services
from support.account_actions import ACCOUNT_ACTIONS, BULK_ACTION_LIMIT, AccountAction
from support.forms import ProfileChangeForm, ReasonForm
from support.services import SupportActionFailed
from users.models import Profile
from users.selectors import user_activity_get, user_activity_recent, user_preferences_get

# The largest id a database can hold (a longer number searched for is no id).
MAX_ID = 2**63 - 1
PASSWORD_KINDS = {
    "current": "set in this system",
    "legacy": "still the old system's (bcrypt); replaced at the user's next login",
    "unusable": "none that works: the user must set a new one",
}


def _titled(filter_class, title: str):
    """``filter_class`` shown under ``title`` instead of the field's name."""

    class Titled(filter_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


class MonolithPasswordFilter(admin.SimpleListFilter):
    """Accounts whose password is still the monolith's bcrypt hash (``support.selectors``)."""

    title = "password from the old system"
    parameter_name = "old_password"

    def lookups(self, request, model_admin):
        return [("yes", "Yes: not replaced yet"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return support_selectors.profiles_with_monolith_password(queryset, still=self.value() == "yes")
        return queryset


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileChangeForm
    change_form_template = "support/profile_change_form.html"
    list_display = ["id", "email", "name", "active", "joined", "last_login"]
    list_display_links = ["id", "email"]
    list_filter = [
        ("is_active", _titled(admin.BooleanFieldListFilter, "active")),
        ("created_at", _titled(admin.DateFieldListFilter, "joined")),
        ("activity__last_login_at", _titled(admin.DateFieldListFilter, "last login")),
        MonolithPasswordFilter,
    ]
    list_select_related = ["activity"]
    list_per_page = 50
    # Counting every account on each search is a full scan: say "N results" only.
    show_full_result_count = False
    ordering = ["-id"]
    search_fields = ["email", "name"]  # shows the search box; get_search_results says what matches
    search_help_text = (
        "An email address in any case (Gmail dots and +tags are matched as the sign-in matches them), "
        "a name or part of one, or an account id."
    )
    actions = ["deactivate_selected", "end_sessions_selected"]
    readonly_fields = [
        "id",
        "account_state",
        "joined",
        "sign_in",
        "activity_summary",
        "recent_activity",
        "preferences_summary",
    ]

    # WHAT SUPPORT SEES
    # --------------------------------------------------------------------------

    def get_queryset(self, request):
        # Registered accounts only: an unfinished registration is the cleanup's (users.services).
        return super().get_queryset(request).filter(status=Profile.Status.ACTIVE)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(email__icontains=term) | Q(name__icontains=term)
        canonical = canonical_email(term)
        if canonical:
            condition |= Q(email_canonical=canonical)
        if term.isdigit() and int(term) <= MAX_ID:
            condition |= Q(pk=int(term))
        return queryset.filter(condition), False

    def get_fieldsets(self, request, obj=None):
        editable = self.has_change_permission(request, obj)
        account = ["id", "email", "name", *(["reason"] if editable else []), "account_state", "joined"]
        return [
            (None, {"fields": account}),
            ("Sign-in, as the sign-in service says now", {"fields": ["sign_in"]}),
            ("Sign-in activity", {"fields": ["activity_summary", "recent_activity"]}),
            ("Preferences", {"fields": ["preferences_summary"]}),
        ]

    @admin.display(description="Active", boolean=True, ordering="is_active")
    def active(self, profile):
        return profile.is_active

    @admin.display(description="Joined", ordering="created_at")
    def joined(self, profile):
        return profile.created_at

    @admin.display(description="Last login", ordering="activity__last_login_at")
    def last_login(self, profile):
        activity = getattr(profile, "activity", None)
        return activity.last_login_at if activity else None

    @admin.display(description="State")
    def account_state(self, profile):
        if profile.is_active:
            return "Active"
        return "Deactivated: login refused, every token revoked"

    @admin.display(description="Sign-in")
    def sign_in(self, profile):
        try:
            state = support_selectors.account_sign_in_state(user_id=profile.pk)
        except support_selectors.SignInStateUnavailable:
            return "Unknown for now: the sign-in service did not answer. Reload the page to ask again."
        if state is None:
            return "The sign-in service holds no login for this account."
        if not state.is_active:
            can_log_in = "No: deactivated"
        elif state.locked:
            can_log_in = format_html(
                "No: <strong>locked</strong> until {} (too many wrong passwords)", _cell(state.locked_until)
            )
        else:
            can_log_in = "Yes"
        rows = [
            ("Can log in", can_log_in),
            ("Password", PASSWORD_KINDS.get(state.password, state.password)),
            ("Wrong passwords since the last login", state.failed_login_count),
            ("Last login", state.last_login_at or "never"),
            ("Password last changed", state.password_changed_at or "never"),
        ]
        if state.is_active != profile.is_active:
            rows.append(("Note", "The last (de)activation is still on its way to the sign-in service."))
        return _table(rows)

    @admin.display(description="Summary")
    def activity_summary(self, profile):
        activity = user_activity_get(user_id=profile.pk)
        if activity is None:
            return "No sign-in yet."
        return _table(
            [
                ("Last login", activity.last_login_at or "never"),
                ("Last failed login", activity.last_failed_login_at or "never"),
                ("Last logout", activity.last_logout_at or "never"),
                ("Password last changed", activity.password_changed_at or "never"),
                ("Logins", activity.login_count),
                ("Failed logins", activity.failed_login_count),
            ]
        )

    @admin.display(description="Recent")
    def recent_activity(self, profile):
        entries = user_activity_recent(user_id=profile.pk)
        if not entries:
            return "Nothing yet."
        return _table(
            [(entry.occurred_at, entry.get_kind_display(), entry.reason, entry.request_id) for entry in entries],
            header=("When", "What", "Why it failed", "Request id"),
        )

    @admin.display(description="Preferences")
    def preferences_summary(self, profile):
        preferences = user_preferences_get(profile=profile)
        return _table(
            [
                ("Theme", preferences.get_theme_display()),
                ("Language", preferences.language),
                ("Notifications", "on" if preferences.notifications_enabled else "off"),
            ]
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Customer accounts", **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        extra_context = {"title": "Customer account", **(extra_context or {})}
        if profile is not None:
            extra_context["account_actions"] = [
                {"label": action.label, "url": self._action_url(profile, action), "name": action.name}
                for action in ACCOUNT_ACTIONS.values()
                if action.offered(profile) and request.user.has_perm(action.permission)
            ]
            if request.user.has_perm("support.view_staffaction"):
                extra_context["staff_trail"] = support_selectors.account_staff_actions(user_id=profile.pk)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        """The staff trail of the account (Django's own history is not kept for accounts: see ``log_change``)."""
        profile = self.get_object(request, object_id)
        if profile is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return HttpResponseRedirect(f"{reverse('admin:support_staffaction_changelist')}?user_id={profile.pk}")

    # WHO MAY DO WHAT
    # --------------------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # customers register; support never creates an account

    def has_delete_permission(self, request, obj=None):
        return False  # Django's delete would skip the other services: the "Delete account" action does it

    def has_change_permission(self, request, obj=None):
        # The users service edits only active accounts: a deactivated one is read-only until reactivated.
        if obj is not None and not obj.is_active:
            return False
        return super().has_change_permission(request, obj)

    def has_deactivate_permission(self, request):
        return request.user.has_perm("support.deactivate_account")

    def has_end_sessions_permission(self, request):
        return request.user.has_perm("support.end_account_sessions")

    # EDITING NAME AND EMAIL
    # --------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in ("email", "name") if field in form.changed_data}
        if not changes:
            return
        if "name" in changes:
            changes["name"] = changes["name"] or None
        try:
            support_services.account_profile_update(
                staff=request.user, user_id=obj.pk, reason=form.cleaned_data.get("reason", ""), **changes
            )
        except SupportActionFailed as exc:
            # Checked by the form first; this is a race (the email taken or the account closed meanwhile).
            request._support_edit_failed = exc.message

    def response_change(self, request, obj):
        failure = getattr(request, "_support_edit_failed", None)
        if failure:
            self.message_user(request, f"Nothing was changed: {failure}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def log_change(self, request, obj, message):
        """Nothing: the staff trail records edits, with their reason and without personal data.

        Django's LogEntry would keep the account's email after the account is deleted.
        """
        return None

    # ACTIONS ON ONE ACCOUNT
    # --------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/account/<slug:action>/",
                self.admin_site.admin_view(self.account_action_view),
                name="users_profile_account_action",
            ),
            *super().get_urls(),
        ]

    def _action_url(self, profile, action: AccountAction) -> str:
        return reverse("admin:users_profile_account_action", args=[profile.pk, action.name])

    def account_action_view(self, request, object_id, action):
        """Confirm one action on one account (with its reason), then take it."""
        spec = ACCOUNT_ACTIONS.get(action)
        profile = self.get_object(request, object_id)
        if spec is None or profile is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, profile) or not request.user.has_perm(spec.permission):
            raise PermissionDenied
        change_url = reverse("admin:users_profile_change", args=[profile.pk])
        if not spec.offered(profile):
            self.message_user(request, f"{spec.label}: not for this account as it is now.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        form = ReasonForm(request.POST or None, reason_required=spec.reason_required)
        if request.method == "POST" and form.is_valid():
            try:
                spec.perform(staff=request.user, user_id=profile.pk, reason=form.cleaned_data["reason"])
            except SupportActionFailed as exc:
                self.message_user(request, f"{spec.label} failed: {exc.message}", messages.ERROR)
                return HttpResponseRedirect(change_url)
            self.message_user(request, f"Account {profile.pk} ({profile.email}) {spec.done}", messages.SUCCESS)
            if spec.name == "delete":
                return HttpResponseRedirect(reverse("admin:users_profile_changelist"))
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.label}: {profile.email}",
            "opts": self.opts,
            "profile": profile,
            "action": spec,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "support/account_action.html", context)

    # ACTIONS ON A SELECTION
    # --------------------------------------------------------------------------

    @admin.action(description="Deactivate the selected accounts", permissions=["deactivate"])
    def deactivate_selected(self, request, queryset):
        return self._bulk_action(request, queryset, ACCOUNT_ACTIONS["deactivate"], "deactivate_selected")

    @admin.action(description="End every session of the selected accounts", permissions=["end_sessions"])
    def end_sessions_selected(self, request, queryset):
        return self._bulk_action(request, queryset, ACCOUNT_ACTIONS["end-sessions"], "end_sessions_selected")

    def _bulk_action(self, request, queryset, spec: AccountAction, action_name: str):
        """Ask for the reason once (a confirmation page), then take the action on each selected account."""
        profiles = list(queryset.order_by("pk")[: BULK_ACTION_LIMIT + 1])
        if len(profiles) > BULK_ACTION_LIMIT:
            self.message_user(request, f"Select at most {BULK_ACTION_LIMIT} accounts at a time.", messages.ERROR)
            return None
        confirmed = "confirm" in request.POST
        form = ReasonForm(request.POST if confirmed else None, reason_required=spec.reason_required)
        if confirmed and form.is_valid():
            done, skipped, failed = 0, 0, []
            for profile in profiles:
                if not spec.offered(profile):
                    skipped += 1
                    continue
                try:
                    spec.perform(staff=request.user, user_id=profile.pk, reason=form.cleaned_data["reason"])
                    done += 1
                except SupportActionFailed as exc:
                    failed.append(f"{profile.email}: {exc.message}")
            summary = f"{spec.label}: done for {done} account(s)"
            if skipped:
                summary += f" ({skipped} did not need it)"
            self.message_user(request, f"{summary}; each {spec.done}", messages.SUCCESS)
            for failure in failed:
                self.message_user(request, f"{spec.label} failed for {failure}", messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.label}: {len(profiles)} account(s)",
            "opts": self.opts,
            "profiles": profiles,
            "action": spec,
            "action_name": action_name,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "support/bulk_action.html", context)


def _table(rows, header=None):
    """Rows of label and value (or of cells) as a small HTML table, everything escaped; times in UTC."""
    head = ""
    if header:
        head = format_html("<thead><tr>{}</tr></thead>", format_html_join("", "<th>{}</th>", ((h,) for h in header)))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((_cell(cell),) for cell in row)),) for row in rows),
    )
    return format_html("<table>{}<tbody>{}</tbody></table>", head, body)


def _cell(value):
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if isinstance(value, datetime) else value
