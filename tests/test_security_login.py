"""Issue 9, finding 10: guessing the admin password is throttled (django-axes)."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "the-right-one-7")


def log_in(client, password: str, **headers):
    return client.post("/admin/login/?next=/admin/", {"username": "admin", "password": password}, **headers)


def test_the_right_password_does_not_work_after_too_many_wrong_ones(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "guess").status_code == 200  # the form again, with its error
    assert log_in(client, "guess").status_code == 429
    response = log_in(client, "the-right-one-7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_client_and_a_success_resets_the_count(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "guess")
    assert log_in(client, "the-right-one-7").status_code == 302
    client.logout()
    assert log_in(client, "guess").status_code == 200  # counting starts again after a success
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "guess", REMOTE_ADDR="198.51.100.4")
    assert log_in(client, "the-right-one-7", REMOTE_ADDR="198.51.100.4").status_code == 429
    assert log_in(client, "the-right-one-7").status_code == 302  # staff elsewhere still get in
