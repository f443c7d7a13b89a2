"""Mango Office VPBX callbacks (`/hooks/mango/events/...`)."""
