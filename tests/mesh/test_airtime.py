"""Time on air matches the figures DESIGN §4 was built on."""

from __future__ import annotations

import pytest

from fieldkit.mesh import airtime

FULL_FRAME = 255


@pytest.mark.parametrize(
    ("preset", "payload", "expected_ms"),
    [
        ("LONG_FAST", 1, 436),
        ("LONG_FAST", 50, 805),
        ("LONG_FAST", 231, 2157),  # 231 bytes of PRIVATE_APP payload fill the 255-byte frame
        ("MEDIUM_FAST", 231, 642),
        ("SHORT_FAST", 231, 204),
        ("LONG_SLOW", 231, 14300),
    ],
)
def test_packet_airtime_is_within_1_percent_of_the_design_figures(
    preset: str, payload: int, expected_ms: float
) -> None:
    got = airtime.packet_airtime_ms(payload, airtime.preset(preset))
    assert got == pytest.approx(expected_ms, rel=0.01)


@pytest.mark.parametrize(
    ("preset", "expected_ms"),
    [("LONG_FAST", 2157), ("MEDIUM_FAST", 642), ("SHORT_FAST", 204), ("LONG_SLOW", 14300)],
)
def test_full_frame_airtime_per_preset(preset: str, expected_ms: float) -> None:
    got = airtime.time_on_air_s(FULL_FRAME, airtime.preset(preset)) * 1000
    assert got == pytest.approx(expected_ms, rel=0.01)


def test_long_fast_costs_about_7_4_ms_per_extra_byte() -> None:
    lf = airtime.preset("LONG_FAST")
    slope = (airtime.packet_airtime_ms(200, lf) - airtime.packet_airtime_ms(100, lf)) / 100
    assert slope == pytest.approx(7.4, rel=0.05)
    assert lf.bitrate_bps == pytest.approx(1074, rel=0.01)


def test_frame_size_counts_header_portnum_length_and_bitfield() -> None:
    assert airtime.frame_size(1) == 16 + 8
    assert airtime.frame_size(200) == 16 + 3 + 3 + 200 + 2  # two-byte length varint
    assert airtime.max_app_payload() == 231


def test_low_data_rate_optimisation_only_for_long_symbols() -> None:
    assert airtime.preset("LONG_SLOW").low_data_rate_optimize
    assert not airtime.preset("LONG_FAST").low_data_rate_optimize


def test_duty_cycle_budget_by_region() -> None:
    assert airtime.duty_cycle_budget_s("EU_868") == 360.0
    assert airtime.duty_cycle_budget_s("US") is None


def test_unknown_preset_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="LONG_FAST"):
        airtime.preset("WARP_SPEED")
