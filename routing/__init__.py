"""Routing: rules, least-loaded assignment, queues and offers, atomic in Redis."""
