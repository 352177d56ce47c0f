"""Fault plans: presets, specs, validation, seeded independent draws."""

from __future__ import annotations

import pytest

from sim.world.faults import PRESETS, FaultPlan, SiteFaults, Span


def test_presets_exist_and_mean_what_they_say():
    assert FaultPlan.preset("none").sites == {}
    flaky = FaultPlan.preset("db-flaky").site("db")
    assert flaky.error_rate > 0 and flaky.latency.high > 0 and flaky.lag.high == 0
    lag = FaultPlan.preset("db-lag").site("db")
    assert lag.error_rate == 0 and lag.lag.low > 0
    assert FaultPlan.preset("db-lag").site("exchange") == SiteFaults()


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="unknown fault plan 'db-slow'; presets: none, db-flaky, db-lag"):
        FaultPlan.preset("db-slow")


def test_from_spec_parses_sites_fields_ranges_and_units():
    plan = FaultPlan.from_spec("db_error_rate=0.05, db_latency_ms=1..20, db_lag_ms=50, exchange_error_rate=0.1,"
                               "db_ack_loss_rate=0.01")
    assert plan.site("db") == SiteFaults(0.05, Span(0.001, 0.020), Span(0.050, 0.050), ack_loss_rate=0.01)
    assert plan.site("exchange").error_rate == 0.1
    assert plan.name.startswith("db_error_rate=0.05, db_latency_ms=1..20")


def test_from_spec_can_start_from_a_preset():
    assert FaultPlan.from_spec("db-lag") == PRESETS["db-lag"]
    plan = FaultPlan.from_spec("db-lag,db_error_rate=0.2")
    assert plan.site("db").error_rate == 0.2
    assert plan.site("db").lag == PRESETS["db-lag"].site("db").lag


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty fault spec"),
    ("db_error_rate=2", "error_rate must be within 0..1"),
    ("db_error_rate=lots", "bad fault spec item 'db_error_rate=lots'"),
    ("db_latency_ms=20..1", "0 <= low <= high"),
    ("db_jitter_ms=5", "field one of error_rate, ack_loss_rate, latency_ms, lag_ms"),
    ("db_ack_loss_rate=-1", "ack_loss_rate must be within 0..1"),
    ("db_error_rate=0.1,db-lag", "a preset name must come first"),
    ("nope", "unknown fault plan 'nope'"),
    ("dbx_error_rate=0.1", "unknown site 'dbx'; sites: db, exchange, stream"),
])
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        FaultPlan.from_spec(spec)


def test_a_plan_cannot_name_a_site_that_draws_no_faults():
    with pytest.raises(ValueError, match=r"unknown fault site\(s\) 'queue'"):
        FaultPlan("custom", {"queue": SiteFaults(error_rate=0.1)})


def test_injectors_are_seeded_per_seed_and_site():
    plan = FaultPlan.from_spec("db_error_rate=0.5,db_latency_ms=1..20,exchange_error_rate=0.5")

    def draws(seed, site):
        injector = plan.injector(site, seed)
        return [(injector.fails(), injector.latency()) for _ in range(50)]

    assert draws(7, "db") == draws(7, "db")
    assert draws(7, "db") != draws(8, "db")
    assert [fail for fail, _ in draws(7, "db")] != [fail for fail, _ in draws(7, "exchange")]
    assert all(0.001 <= latency <= 0.020 for _, latency in draws(7, "db"))


def test_no_faults_draw_nothing():
    injector = FaultPlan.preset("none").injector("db", 1)
    assert not any(injector.fails() for _ in range(100))
    assert injector.latency() == 0 and injector.lag() == 0


def test_describe_prints_every_knob():
    assert FaultPlan.preset("db-flaky").describe() == "db-flaky (db: error_rate=0.05 latency=1..20ms)"
    assert FaultPlan.preset("none").describe() == "none"
