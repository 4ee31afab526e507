"""`/healthz`: the liveness probe and the benchmarks' do-nothing reference request."""

import pytest


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.content == b"ok\n"
    assert "Set-Cookie" not in answer.headers


@pytest.mark.django_db
def test_healthz_takes_only_get(client):
    assert client.post("/healthz").status_code == 405
