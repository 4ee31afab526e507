"""Booth staff, logged in as a volunteer would be: through the admin's login, in the booth-staff group."""

import uuid

import pytest

from tests import factories


@pytest.fixture
def booth_staff(db, hall_a, hall_b):
    """A volunteer on the staff of Hall A and Hall B (tests/backoffice/test_booth_staff.py: of one only)."""
    from backoffice.roles import booth_staff_user_ensure

    user, _ = booth_staff_user_ensure(username=f"volunteer-{uuid.uuid4().hex[:6]}", password="pw-volunteer-1",
                                      email="volunteer@example.com")
    user.booths.add(hall_a, hall_b)
    return user


@pytest.fixture
def staff_client(client, booth_staff):
    client.force_login(booth_staff)
    return client


@pytest.fixture
def hall_a(db):
    return factories.store_create(store_id=f"store_A{uuid.uuid4().hex[:10]}", name="Hall A")


@pytest.fixture
def hall_b(db):
    return factories.store_create(store_id=f"store_B{uuid.uuid4().hex[:10]}", name="Hall B")
