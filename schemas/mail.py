"""`config/mail.yaml`: which messages of the mailbox (FUNNEL_MAIL_URL) carry exports, and into which
source folder of the inbox their attachments go (docs/loading.md, "Files that arrive on their own")."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.config import load_yaml_model
from schemas.errors import ConfigError


class MailRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: str = Field(min_length=1)  # an address, or a pattern with * and ?: *@example.co.jp
    subject: str | None = None  # a regular expression searched in the decoded subject
    source: str

    @field_validator("subject")
    @classmethod
    def _valid_pattern(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        return pattern

    def sender_matches(self, address: str) -> bool:
        return fnmatch.fnmatchcase(address.strip().lower(), self.sender.strip().lower())

    def matches(self, address: str, subject: str) -> bool:
        return self.sender_matches(address) and (self.subject is None or re.search(self.subject, subject) is not None)


class MailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[MailRule] = []

    def rule_for(self, address: str, subject: str) -> MailRule | None:
        """The first rule the message matches, else None."""
        return next((r for r in self.rules if r.matches(address, subject)), None)

    def knows_sender(self, address: str) -> bool:
        return any(r.sender_matches(address) for r in self.rules)


def load_mail_config(config_dir: str | Path) -> MailConfig:
    """`<config>/mail.yaml`; without it no message matches a rule."""
    from schemas import SOURCES  # the source modules import schemas.config

    path = Path(config_dir) / "mail.yaml"
    if not path.is_file():
        return MailConfig()
    cfg = load_yaml_model(path, MailConfig)
    for i, rule in enumerate(cfg.rules):
        if rule.source not in SOURCES:
            raise ConfigError(f"{path}: key rules.{i}.source: unknown source {rule.source!r} "
                              f"(known: {', '.join(sorted(SOURCES))})")
    return cfg
