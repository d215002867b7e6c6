"""The table of fetched files in the raw step's metadata: a mail subject is free text, and the Dagster UI
renders the table as markdown."""

from assets.ingest.arrivals import Arrivals, arrivals_metadata


def test_a_subject_with_a_bracket_a_bar_and_a_line_break_stays_one_readable_cell():
    landed = {"file": "leads/leads_2026-12-07.csv", "origin": "mail", "sender": "Reports <reports@crm.example>",
              "subject": "<Weekly> leads | all\nteams", "date": "2026-12-07", "mailbox": "INBOX",
              "fetched_at": "2026-12-07T09:30:00Z"}
    other = {**landed, "file": "deals/deals_2026-12-07.csv"}
    table = arrivals_metadata(Arrivals("imaps://mail.example/INBOX", landed=[landed, other]), "leads")["fetched"].value
    lines = table.splitlines()
    assert lines[:2] == ["| file | from | fetched at (UTC) |", "|---|---|---|"]
    assert lines[2:] == ['| leads/leads_2026-12-07.csv | mail from Reports &lt;reports@crm.example>, '
                         '"&lt;Weekly> leads \\| all teams", 2026-12-07 (INBOX) | 2026-12-07 09:30:00 |']


def test_no_file_fetched_says_none():
    assert arrivals_metadata(Arrivals("data/inbox"), "leads")["fetched"].value == "none"
