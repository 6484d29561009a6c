"""What each server serves in each view: serials, compiled zones, the fleet."""
