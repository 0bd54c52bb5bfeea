//! Unit tests of the cache protocol.
