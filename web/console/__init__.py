"""The coordinator console: sign-in, queues, record detail with its audit trail, matching."""
