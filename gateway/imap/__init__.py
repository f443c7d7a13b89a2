"""The IMAP edge: mailbox pollers that fetch mail into the intake."""
