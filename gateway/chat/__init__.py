"""The visitor chat: `GET /chat/ws`, the widget script, and delivery of operator replies."""
