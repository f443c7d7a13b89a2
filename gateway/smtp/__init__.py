"""The SMTP edge: an aiosmtpd server inside each acceptor's event loop, replies mapped in one
place (`replies.py`)."""
