"""The generic softphone/PBX webhook (`POST /hooks/phone`)."""
