"""Channel adapters: verify and parse a provider's request into one `InboundMessage`."""
