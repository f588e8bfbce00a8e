"""Config of the daily cost email (`[report]`, `[report.smtp]`): when the daemon sends it, to whom, over which server.

The SMTP keys are the email notifier's (`[alerts.notifiers.<name>]` of type email), so a server section can be
copied between the two; credentials come from the environment variables they name, never from the file.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spendscope.config_base import Strict


class ReportSmtp(Strict):
    """The SMTP server the report is sent through (STARTTLS on 587, SSL on 465, or none)."""

    host: str = Field(default="localhost", description="SMTP server")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = Field(default=None, description="env var with the SMTP user (no auth when unset)")
    password_env: str | None = Field(default=None, description="env var with the SMTP password")
    ca_file: str | None = Field(default=None, description="PEM CA bundle to verify the server with (else the system's)")
    timeout_seconds: float = Field(default=30, gt=0)


class ReportConfig(Strict):
    """The daily cost email: `spendscope report daily`, and the daemon's send every day at `send_at`."""

    enabled: bool = Field(default=False, description="the daemon (`spendscope run`) sends the report every day")
    send_at: dt.time = Field(default=dt.time(8, 0), description="local time of the daily send, HH:MM")
    timezone: str | None = Field(default=None, description="time zone of send_at (default: reporting.timezone)")
    smtp: ReportSmtp = ReportSmtp()
    sender: str = Field(default="spendscope@localhost", description="the From address")
    to: list[str] = Field(default_factory=list, description="recipients (several allowed)")
    subject_prefix: str = Field(default="[spendscope]", description="put before the subject line")
    movers: int = Field(default=5, ge=1, le=20, description="top movers shown per dimension")

    @field_validator("send_at", mode="before")
    @classmethod
    def _hh_mm(cls, v: object) -> object:
        if isinstance(v, str):
            try:
                hh, mm, *ss = v.strip().split(":")  # HH:MM, or HH:MM:SS as a dumped config writes it
                if (ss and int(ss[0]) != 0) or len(ss) > 1:
                    raise ValueError(v)
                return dt.time(int(hh), int(mm))
            except ValueError:
                raise ValueError(f"{v!r} is not a time of day (HH:MM, e.g. 08:00)") from None
        return v

    @field_validator("send_at")
    @classmethod
    def _naive(cls, v: dt.time) -> dt.time:
        if v.tzinfo is not None:
            raise ValueError("give send_at without an offset; the zone is report.timezone")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _sendable(self) -> ReportConfig:
        if self.enabled and not self.to:
            raise ValueError("enabled = true needs `to` (one or more recipients)")
        return self
