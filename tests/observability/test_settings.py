"""A wrong logging or metrics setting stops the start with one line naming it."""

from tests.conftest import run_manage
from tests.test_settings import one_line_error


def test_a_wrong_log_format_is_one_clear_line():
    line = one_line_error(run_manage("check", env={"LOG_FORMAT": "xml"}))
    assert "LOG_FORMAT must be json or plain" in line


def test_a_wrong_metrics_address_is_one_clear_line():
    line = one_line_error(run_manage("check", env={"METRICS_ALLOWED_IPS": "10.0.0.0/8,not-an-address"}))
    assert "METRICS_ALLOWED_IPS" in line
