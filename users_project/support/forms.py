"""Forms of the staff admin: an account action's reason, and the edit of an account's name and email."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from common.emails import canonical_email
from common.serializers import NAME_MAX_LENGTH
from support.services import REASON_MAX_LENGTH
from users.models import Profile


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


class ProfileChangeForm(forms.ModelForm):
    """Name and email, checked as the users service will check them, and an optional reason for the trail."""

    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Why you change it, for the staff trail.",
    )

    class Meta:
        model = Profile
        fields = ["email", "name"]
        widgets = {"name": forms.TextInput(attrs={"size": 40})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            # Names are stored as given, padding and all: saving an email must not "change" the name.
            self.fields["name"].strip = False

    def clean_name(self):
        # A name as long as NAME_MAX_LENGTH; a longer one from the monolith may stay while it is not edited.
        name = self.cleaned_data["name"]
        if "name" in self.changed_data and name and len(name) > NAME_MAX_LENGTH:
            raise forms.ValidationError(f"At most {NAME_MAX_LENGTH} characters.")
        return name

    def clean_email(self):
        email = self.cleaned_data["email"]
        if "email" not in self.changed_data:
            return email
        canonical = canonical_email(email)
        if canonical is None:
            raise ValidationError("Enter an email address the sign-in service accepts.")
        if Profile.objects.filter(email_canonical=canonical).exclude(pk=self.instance.pk).exists():
            raise ValidationError(
                "Another account already has this email address "
                "(compared as the sign-in does: any case, Gmail dots and +tags)."
            )
        return email
