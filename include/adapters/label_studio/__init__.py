"""Label Studio: task payloads we import, webhook payloads we receive, and how events become versions."""
