//! The Enswitch wire format and nothing else: parameters in, envelopes out.

pub mod dispatch;
pub mod envelope;
pub mod error;
pub mod idempotency;
pub mod params;
