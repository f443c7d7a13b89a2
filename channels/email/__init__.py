"""The e-mail channel's transport-free parts: MIME parsing, threading, loop detection."""
