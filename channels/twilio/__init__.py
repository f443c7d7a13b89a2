"""Twilio Messaging and Voice webhooks: signature, fields, TwiML answers."""
