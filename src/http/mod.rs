//! The Enswitch wire format and nothing else: parameters and credentials in,
//! envelopes out.

pub mod envelope;
pub mod params;
pub mod request;
