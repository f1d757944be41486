from __future__ import annotations

import factory

from tenants.enums import Role
from tenants.models import Membership
from tests.factories.accounts import UserFactory


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    """Needs ``team=``: test teams are built once per session (tests/conftest.py), never by a factory."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.EDITOR
