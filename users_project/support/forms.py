"""Forms of the staff admin's account actions."""

from __future__ import annotations

from django import forms

from support.services import REASON_MAX_LENGTH


class ReasonForm(forms.Form):
    """Why a staff member takes an action: required for the destructive ones, kept in the staff trail."""

    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="A few words for the trail, e.g. “customer asked by email, ticket 4821”.",
    )

    def __init__(self, *args, reason_required: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        if not reason_required:
            self.fields["reason"].label = "Reason (optional)"
