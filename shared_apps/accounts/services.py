from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction

from shared_apps.accounts.models import User


@transaction.atomic
def user_get_or_create(*, email: str, password: str | None = None, verified: bool = True) -> User:
    """Find a user by email (case-insensitive) or create one; a given password is set on a new user only."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
        if password is None:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": verified, "primary": True})
    return user
