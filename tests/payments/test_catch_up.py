"""Issue 21: catch-up. Events whose webhook never came are listed from Stripe (GET /v1/events, at the
fake) and fed to the same intake, exactly once, whichever way (or both) they come in."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from djstripe.models import Event

from inventory.models import Product, StockMovement
from payments.gateway import live
from payments.intake.catch_up import catch_up_range_periodic, stripe_catch_up
from payments.intake.events import stripe_event_store
from payments.intake.tasks import stripe_catch_up_periodic
from payments.models import CatchUpRun, CaughtUpEvent, IntakeEvent, Order, StripeCall
from tests.fakes.stripe import events, shape
from tests.payments.helpers import purchase, stocked_product


@pytest.fixture
def rate_waits(monkeypatch):
    """Every wait for the shared Stripe rate budget, counted (each request to Stripe takes one)."""
    waits = []
    wait = live.stripe_rate_wait

    def counted():
        waits.append(1)
        return wait()

    monkeypatch.setattr(live, "stripe_rate_wait", counted)
    return waits


def _sold_state(product):
    return (Product.objects.get(pk=product.pk).inventory, Order.objects.count(), StockMovement.objects.count(),
            IntakeEvent.objects.count(), Event.objects.count())


@pytest.mark.django_db(transaction=True)
def test_purchases_whose_webhooks_were_refused_are_applied_by_catch_up_once(stripe_fake, webhook, client,
                                                                            settings):
    settings.STRIPE_CATCH_UP_GRACE_SECONDS = 0  # the purchases were just made: no webhook is in flight
    # given: the endpoint answers 400 to every delivery (Stripe still signs with the old secret)
    product = stocked_product(stripe_fake, 3)
    paid = [purchase(stripe_fake, product, capture="automatic") for _ in range(2)]
    assert [webhook.post(client, e, secret="whsec_before_rotation").status_code for e in paid] == [400, 400]
    assert Product.objects.get(pk=product.pk).inventory == 3
    # when: the beat job runs
    stripe_catch_up_periodic()
    # then: both sales are applied, once
    assert Product.objects.get(pk=product.pk).inventory == 1
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 2
    run = CatchUpRun.objects.get()
    assert (run.found, run.fed, run.error) == (2, 2, "")
    assert set(CaughtUpEvent.objects.values_list("event_id", flat=True)) == {e["id"] for e in paid}
    after_catch_up = _sold_state(product)
    # and when the endpoint is mended and Stripe delivers the same events after all, nothing changes
    assert [webhook.post(client, e).status_code for e in paid] == [200, 200]
    stripe_catch_up_periodic()
    assert _sold_state(product) == after_catch_up
    assert CatchUpRun.objects.first().fed == 0


@pytest.mark.django_db
def test_catch_up_over_several_pages_feeds_only_the_missing_within_the_rate_budget(stripe_fake, rate_waits):
    # given: 230 of our events at Stripe (three pages of 100), 77 of them held already, and others not ours
    now = int(timezone.now().timestamp())
    ours = [stripe_fake.add_event(events.checkout_session_completed(
        session_id=f"cs_test_page_{i}", payment_intent=None, event_id=f"evt_page_{i:03}")) for i in range(230)]
    for i, event in enumerate(ours):
        event["created"] = now - 230 + i
        stripe_fake.add_event(event)
    for i in range(5):
        stripe_fake.add_event(events.event("charge.succeeded", shape("charge"), id=f"evt_charge_{i}"))
    for event in ours[::3]:
        stripe_event_store(data=event)
    held = set(Event.objects.values_list("id", flat=True))
    # when
    run = stripe_catch_up(since=timezone.now() - timedelta(hours=1), until=timezone.now(),
                          trigger=CatchUpRun.Trigger.COMMAND)
    # then: every page was one request, each waited for the shared rate budget
    pages = stripe_fake.calls("GET", "/v1/events")
    assert len(pages) == 3 and len(rate_waits) == 3
    assert StripeCall.objects.filter(operation="event.list").count() == 3
    assert pages[0]["params"]["types"] == _owned()
    assert len(held) == 77 and (run.found, run.fed, run.refused) == (230, 230 - 77, 0)
    fed = set(CaughtUpEvent.objects.values_list("event_id", flat=True))
    assert fed == {e["id"] for e in ours} - held
    assert IntakeEvent.objects.count() == 230
    assert not Event.objects.filter(type="charge.succeeded").exists()


def _owned():
    from payments.intake.services import OWNED_EVENT_TYPES

    return list(OWNED_EVENT_TYPES)


@pytest.mark.django_db
def test_the_command_reports_what_it_found_and_fed(stripe_fake, capsys):
    kept = stripe_fake.add_event(events.checkout_session_completed(session_id="cs_test_cmd", payment_intent=None))
    stripe_fake.add_event(events.checkout_session_completed(session_id="cs_test_cmd2", payment_intent=None))
    stripe_event_store(data=kept)
    since = (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")

    call_command("stripe_catch_up", "--since", since)

    out = capsys.readouterr().out
    assert "Found 2; already held 1; fed 1; skipped as malformed 0." in out
    assert f"fed {kept['id']}" not in out and out.count("  fed evt_") == 1


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday"], "not an ISO 8601 time"),
    (["--since", "2099-01-01T10:00"], "must be before"),
    (["--since", "2020-01-01T10:00"], "30 days"),
])
def test_the_command_refuses_a_range_it_cannot_list(stripe_fake, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("stripe_catch_up", *args)
    assert not CatchUpRun.objects.exists() and stripe_fake.calls("GET", "/v1/events") == []


@pytest.mark.django_db
def test_the_command_refuses_offline(stripe_offline):
    with pytest.raises(CommandError, match="offline"):
        call_command("stripe_catch_up", "--since", (timezone.now() - timedelta(hours=1)).isoformat())


@pytest.mark.django_db
def test_a_stripe_failure_is_kept_on_the_run_and_the_command_exits_non_zero(stripe_fake):
    stripe_fake.fail_next("GET", "/v1/events", status=500, times=None)
    with pytest.raises(CommandError, match="Could not list events"):
        call_command("stripe_catch_up", "--since", (timezone.now() - timedelta(hours=1)).isoformat())
    assert "Could not list events" in CatchUpRun.objects.get().error


@pytest.mark.django_db
def test_the_periodic_range_starts_before_the_newest_event_held(settings):
    settings.STRIPE_CATCH_UP_OVERLAP_MINUTES, settings.STRIPE_CATCH_UP_GRACE_SECONDS = 10, 60
    settings.STRIPE_CATCH_UP_FIRST_HOURS = 24
    now = timezone.now()
    assert catch_up_range_periodic(now=now).since == now - timedelta(hours=24)
    created = int((now - timedelta(hours=2)).timestamp())
    stripe_event_store(data=events.checkout_session_completed(session_id="cs_test_r", payment_intent=None)
                       | {"created": created})
    window = catch_up_range_periodic(now=now)
    assert window.since.timestamp() == created - 600
    assert window.until == now - timedelta(seconds=60)


@pytest.mark.django_db
def test_every_request_names_the_pinned_api_version(stripe_fake, settings):
    from payments.gateway import get_gateway

    settings.STRIPE_API_VERSION = "2024-06-20"
    get_gateway().event_list(types=("checkout.session.completed",), created_gte=0, created_lte=1)
    assert [c["stripe_version"] for c in stripe_fake.calls("GET", "/v1/events")] == ["2024-06-20"]


@pytest.mark.django_db
def test_a_listed_event_not_shaped_like_an_event_is_skipped_and_counted(stripe_fake):
    good = stripe_fake.add_event(events.checkout_session_completed(session_id="cs_test_good", payment_intent=None))
    stripe_fake.add_event(events.checkout_session_completed(session_id="cs_test_odd", payment_intent=None,
                                                            event_id="evt_odd") | {"livemode": "no"})

    run = stripe_catch_up(since=timezone.now() - timedelta(hours=1), until=timezone.now(),
                          trigger=CatchUpRun.Trigger.COMMAND)

    assert (run.found, run.fed, run.refused) == (2, 1, 1)
    assert list(Event.objects.values_list("id", flat=True)) == [good["id"]]
