"""The loopback SMTP server's fixtures (tests/common/smtp.py) for the email notifier's tests."""

from tests.common.smtp import cert, smtp_env, ssl_server, starttls_server

__all__ = ["cert", "smtp_env", "ssl_server", "starttls_server"]
