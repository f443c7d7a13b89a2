"""Rate limits on the public endpoints and the operator API, counted in Redis (limits.lua)."""
