"""The staff trails in the admin (read-only), the admin site's names, and customer accounts (``admin_accounts``)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from support.admin_accounts import MAX_ID, ProfileAdmin  # noqa: F401  (registers the accounts' admin)
from support.models import StaffAction, StaffSignIn

admin.site.site_header = "Accounts support"
admin.site.site_title = "Accounts support"
admin.site.index_title = "Customer accounts"
# The gateway serves no web site at "/": no "View site" link.
admin.site.site_url = None


class TrailAdmin(admin.ModelAdmin):
    """A trail's rows in the admin: read, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StaffAction)
class StaffActionAdmin(TrailAdmin):
    """Who did what to which account, when and why. Nobody adds, edits or deletes a row."""

    list_display = ["occurred_at", "staff", "action", "account", "reason", "changed"]
    list_filter = ["action", ("occurred_at", admin.DateFieldListFilter), "staff"]
    list_select_related = ["staff"]
    search_fields = ["staff__username", "reason"]
    search_help_text = "A staff username, words of a reason, or an account id."
    date_hierarchy = "occurred_at"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and int(term) <= MAX_ID:
            results |= queryset.filter(user_id=int(term))
        return results, may_have_duplicates

    @admin.display(description="Account", ordering="user_id")
    def account(self, action):
        url = reverse("admin:users_profile_change", args=[action.user_id])
        return format_html('<a href="{}">{}</a>', url, action.user_id)

    @admin.display(description="Changed")
    def changed(self, action):
        return ", ".join(action.details.get("changed", []))


@admin.register(StaffSignIn)
class StaffSignInAdmin(TrailAdmin):
    """Every attempt to sign in to the admin, and how it ended. Nobody adds, edits or deletes a row."""

    list_display = ["occurred_at", "username", "outcome", "ip_address", "staff"]
    list_filter = ["outcome", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["username", "ip_address"]
    search_help_text = "A username (as typed) or a client address."
    date_hierarchy = "occurred_at"
