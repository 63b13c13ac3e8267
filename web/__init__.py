"""The Starlette app: resident pages, captive portal, coordinator console, sync API."""
