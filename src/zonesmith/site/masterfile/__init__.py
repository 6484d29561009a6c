"""RFC 1035 master files (BIND's dialect): tokens, $GENERATE, and the reader."""
