"""The generic SMS webhook (`POST /hooks/sms`): its settings and its adapter."""
