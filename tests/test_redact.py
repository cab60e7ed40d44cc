"""The last line of defence: secrets masked in whatever text or data we store or print."""

from __future__ import annotations

from omnipost_tui.redact import MASK, mask_url_password, mask_url_path, redact_data, redact_text


def test_known_secret_values_are_replaced_anywhere():
    assert redact_text("token EAAB-secret-123 in a message", ["EAAB-secret-123"]) == (
        f"token {MASK} in a message"
    )


def test_secret_looking_pairs_are_masked_in_query_form_and_json():
    assert redact_text("GET /x?access_token=abc123&a=1") == f"GET /x?access_token={MASK}&a=1"
    assert (
        redact_text('{"access_token": "abc123", "n": 1}') == f'{{"access_token": "{MASK}", "n": 1}}'
    )
    assert redact_text("Authorization: Bearer abcdefghijkl") == f"Authorization: Bearer {MASK}"


def test_data_under_secret_keys_is_masked_deeply():
    data = {"body": {"access_token": "x", "message": "hi EAAB-1234"}, "list": [{"token": "y"}]}
    assert redact_data(data, ["EAAB-1234"]) == {
        "body": {"access_token": MASK, "message": f"hi {MASK}"},
        "list": [{"token": MASK}],
    }


def test_url_passwords_are_masked_and_user_names_kept():
    assert mask_url_password("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert mask_url_password("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert mask_url_password("postgresql://u@h/db") == "postgresql://u@h/db"
    assert "hunter2" not in mask_url_password("postgresql://u@h/db?password=hunter2")


def test_ping_urls_show_only_where_they_lead():
    uuid = "5f0c9e7a-1b2c-4d3e-8f90-123456789abc"
    assert mask_url_path(f"https://hc-ping.com/{uuid}") == "https://hc-ping.com/…"
    assert mask_url_path(f"https://hc-ping.com/{uuid}/fail?rid=1") == "https://hc-ping.com/…"
    shown = mask_url_path("http://bot:pw-Secret@kuma.lan:3001/api/push/Tok3n?status=up&msg=OK")
    assert shown == "http://kuma.lan:3001/…"
    assert mask_url_path("no url at all Tok3n") == "…"
