"""Counts read as people write them: "1 event", "2 events", never "event(s)"."""

import pytest

from common import words
from payments import tasks


@pytest.mark.parametrize("n, expected", [(0, "0 pieces of work"), (1, "1 piece of work"), (2, "2 pieces of work")])
def test_a_count_takes_the_noun_its_number_asks_for(n, expected):
    assert words.pieces_of_work(n) == expected


def test_a_list_of_names_takes_the_noun_its_length_asks_for():
    assert words.column_names(["cost"]) == "column cost"
    assert words.column_names(["cost", "colour"]) == "columns cost, colour"
    assert words.product_ids([4]) == "product id [4]"


@pytest.mark.django_db
def test_the_sweeps_report_in_words(monkeypatch):
    # given: one lapsed hold released, nothing else to do
    monkeypatch.setattr(tasks, "holds_release_expired", lambda: ["hold"])
    monkeypatch.setattr(tasks, "held_sessions_lapsed_record", lambda: 2)
    monkeypatch.setattr(tasks, "checkouts_follow_lapsing", lambda: 1)

    # then: singular and plural as a person writes them
    assert tasks.checkouts_sweep() == "released 1 hold, expiring 2 sessions, following 1 checkout about to lapse"
