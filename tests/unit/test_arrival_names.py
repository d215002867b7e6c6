"""What is printed of where files that arrive on their own came from: URLs without user or password."""

import pytest

from assets.ingest.landing import redact, scrub


@pytest.mark.parametrize("url, printed", [
    ("sftp://funnel:pw@files.example.com:2222/exports", "sftp://files.example.com:2222/exports"),
    ("sftp://funnel@files.example.com/exports", "sftp://files.example.com/exports"),
    ("s3://bucket/inbox", "s3://bucket/inbox"),
    ("/data/inbox", "/data/inbox"),
])
def test_urls_are_printed_without_user_or_password(url, printed):
    assert redact(url) == printed


def test_errors_are_printed_without_credentials_or_secrets_of_the_environment(monkeypatch):
    monkeypatch.setenv("FSSPEC_SFTP_PASSWORD", "correct-horse")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-very-secret")
    text = scrub("login to sftp://me:correct-horse@files.example/inbox failed; key aws-very-secret refused")
    assert text == "login to sftp://files.example/inbox failed; key *** refused"
